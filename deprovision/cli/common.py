"""What every command shares: the state folder, org selection, output helpers."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from deprovision.errors import InvalidInputError
from deprovision.org.options import OrgOptions

__all__ = ["AppContext", "OrgOptions", "check_state_dir", "default_state_dir", "emit_json", "info", "org_options",
           "org_options_from", "pass_app", "is_tty"]


@dataclass
class AppContext:
    """Passed to every command as click's ``obj``."""

    state_dir: Path
    debug: bool = False
    org: OrgOptions = field(default_factory=OrgOptions)

    def ensure_state_dir(self) -> Path:
        """The state folder, created when missing; InvalidInputError (exit 2) when it cannot be one."""
        check_state_dir(self.state_dir)
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidInputError(f"state folder {self.state_dir}: cannot create it "
                                    f"({exc.strerror or exc})") from None
        return self.state_dir


def check_state_dir(path: Path) -> None:
    """InvalidInputError when ``path`` (--state-dir / DEPROVISION_STATE_DIR) exists but is not a folder."""
    if path.exists() and not path.is_dir():
        raise InvalidInputError(f"state folder {path} (--state-dir or DEPROVISION_STATE_DIR) is a file, "
                                "not a folder")


def default_state_dir() -> Path:
    """``.deprovision/`` in the current folder unless DEPROVISION_STATE_DIR names another."""
    return Path(os.environ.get("DEPROVISION_STATE_DIR") or ".deprovision")


pass_app = click.make_pass_decorator(AppContext)


def org_options(func):
    """Decorator adding the org-selection options to a command that talks to an org."""
    options = [
        click.option("--org", "org", metavar="NAME", multiple=True,
                     help="Named connection from deprovision.toml, or sf:ALIAS; plan and apply take several "
                          "(repeat it, or name a [groups.NAME])."),
        click.option("--instance-url", metavar="URL", help="Org instance URL (or SF_INSTANCE_URL)."),
        click.option("--access-token", metavar="TOKEN", help="Access token (or SF_ACCESS_TOKEN)."),
        click.option("--ca-bundle", metavar="PATH", help="CA bundle to trust (or SF_CA_BUNDLE)."),
        click.option("--api-version", metavar="N.N", help="REST API version (default 62.0)."),
    ]
    for opt in reversed(options):
        func = opt(func)
    return func


def org_options_from(app: AppContext, kwargs: dict[str, Any]) -> OrgOptions:
    """Merge per-command org options (popped from ``kwargs``) over the global ones."""
    keys = ("org", "instance_url", "access_token", "ca_bundle", "api_version")
    given = {k: kwargs.pop(k, None) for k in keys}
    if isinstance(given["org"], tuple | list):
        if len(given["org"]) > 1:
            from deprovision.errors import InvalidInputError

            raise InvalidInputError("only plan and apply take several --org")
        given["org"] = given["org"][0] if given["org"] else None
    base = app.org
    merged = {k: given[k] or getattr(base, k) for k in keys}
    return OrgOptions.from_env(**merged)


def emit_json(data: Any) -> None:
    """Machine output on stdout."""
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def info(message: str) -> None:
    """Human progress and summaries go to stderr so stdout stays parseable."""
    click.echo(message, err=True)


def is_tty(stream=None) -> bool:
    stream = stream or sys.stdout
    return hasattr(stream, "isatty") and stream.isatty()
