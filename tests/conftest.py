"""Fixtures shared by every test: served local orgs, a simple-salesforce client, the CLI.

- ``served_org``: a started ``LocalOrgServer`` on a fresh copy of the demo org (the demo database is
  built once per test session and copied per test), on a free port; stopped after the test.
- ``empty_org``: the same with the empty seed (the org, its admin ``admin@acme.example``, licences).
- ``sf``: a ``simple_salesforce.Salesforce`` on ``served_org`` (API 62.0) whose session trusts the
  local org's certificate (``verify`` = CA bundle, ``trust_env=False``).
- ``cli``: ``cli("plan", "x.yaml") -> CliResult(code, stdout, stderr)``, running ``deprovision``
  in a subprocess with ``DEPROVISION_STATE_DIR`` set to a temporary folder (``cli.state_dir``).
Helpers (``from conftest import connect, trusting_session``): ``connect(server, version)`` builds the
same client for any started server; ``trusting_session(ca_bundle)`` a plain ``requests.Session`` for it.
The server's ``store`` is the live backend (``served_org.store.configure(...)`` changes org settings;
``served_org.faults.configure(fail_next=[...])`` injects faults; see ``deprovision/localorg/faults.py``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from localorg_support import API_VERSION, connect, trusting_session  # noqa: F401


@pytest.fixture(scope="session")
def localorg_cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One certificate for every server of the session (key generation is not free)."""
    return tmp_path_factory.mktemp("localorg-cert")


def _template(kind: str) -> Path:
    from deprovision.localorg import seed

    return Path(seed.template(kind))


def _serve(kind: str, tmp_path: Path, cert_dir: Path) -> Iterator:
    from deprovision.localorg.server import LocalOrgServer

    db = tmp_path / f"localorg-{kind}.sqlite3"
    shutil.copyfile(_template(kind), db)
    server = LocalOrgServer(db, cert_dir=cert_dir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def served_org(tmp_path: Path, localorg_cert_dir: Path) -> Iterator:
    """A served demo org (fresh copy per test)."""
    yield from _serve("demo", tmp_path, localorg_cert_dir)


@pytest.fixture
def empty_org(tmp_path: Path, localorg_cert_dir: Path) -> Iterator:
    """A served empty org (fresh copy per test)."""
    yield from _serve("empty", tmp_path, localorg_cert_dir)


@pytest.fixture
def sf(served_org):
    """simple-salesforce connected to ``served_org``."""
    return connect(served_org)


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def __iter__(self):  # code, out, err = cli(...)
        return iter((self.code, self.stdout, self.stderr))


class CliRunner:
    """Runs ``deprovision`` in a subprocess with its own state folder."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def __call__(self, *args: str, env: dict[str, str] | None = None, input: str | None = None,
                 cwd: Path | None = None, timeout: float = 300) -> CliResult:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
        full_env.update({"DEPROVISION_STATE_DIR": str(self.state_dir), "NO_COLOR": "1"})
        full_env.update(env or {})
        command = [sys.executable, "-c", "from deprovision.cli import main; main()", *map(str, args)]
        proc = subprocess.run(command, input=input,
                              capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout)
        return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., CliResult]:
    """Run the CLI: ``code, out, err = cli("validate", "playbook.yaml")``."""
    state = tmp_path / "state"
    state.mkdir()
    return CliRunner(state)
