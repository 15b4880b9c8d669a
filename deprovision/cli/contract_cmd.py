"""``deprovision contract``: the playbook's contract timeline (notice deadline, renewal and refund windows)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from deprovision.errors import PlaybookError


@click.command("contract")
@click.argument("playbook", type=click.Path(path_type=Path))
@click.option("--today", metavar="YYYY-MM-DD", default=None, help="Compute as of this day (default: today, UTC).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="How to show the timeline on stdout.")
def contract(playbook: Path, today: str | None, fmt: str) -> None:
    """Show the contract's timeline from a playbook's `contract:`: the last day to send written notice, the
    recommended day, the renewal and full-refund windows, days left and the unused term's value. No org
    access."""
    from deprovision.contract import Terms, text_lines, timeline, today_from
    from deprovision.playbook import load_playbook

    book = load_playbook(playbook, {})
    if book.contract is None:
        raise PlaybookError(f"{playbook}: the playbook has no contract: section")
    try:
        day = today_from(today)
    except ValueError:
        raise PlaybookError(f"--today: '{today}' is not a date (YYYY-MM-DD)") from None
    result = timeline(Terms.of(book.contract), day)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo("\n".join(text_lines(result)))


COMMANDS = [contract]
