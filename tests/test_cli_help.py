"""Every command has help text and is documented in the README."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from deprovision.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out = []
    for name, command in sorted(group.commands.items()):
        full = f"{prefix}{name}"
        out.append((full, command))
        if isinstance(command, click.Group):
            out.extend(_commands(command, full + " "))
    return out


ALL = _commands(cli)


def test_the_cli_has_the_designed_commands() -> None:
    names = {name for name, _ in ALL}
    expected = {"validate", "plan", "apply", "verify", "rollback", "runs", "schema",
                "audit verify", "audit show", "audit report", "localorg serve", "localorg reset", "org check"}
    assert expected <= names, f"missing: {sorted(expected - names)}"


@pytest.mark.parametrize("name,command", ALL, ids=[n for n, _ in ALL])
def test_every_command_has_help_and_is_in_the_readme(name: str, command: click.Command) -> None:
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert (command.help or command.short_help or "").strip(), f"{name} has no help text"
    if not isinstance(command, click.Group):
        assert f"deprovision {name}" in README, f"`deprovision {name}` is not documented in README.md"
