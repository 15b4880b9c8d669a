"""A served demo org shared by one module's client tests (real clients are slow to start: log in once)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def serve_demo(folder: Path, cert_dir: Path) -> Iterator:
    """A started ``LocalOrgServer`` on a fresh copy of the demo org in ``folder``; stopped afterwards."""
    from deprovision.localorg import seed
    from deprovision.localorg.server import LocalOrgServer

    db = folder / "localorg-demo.sqlite3"
    shutil.copyfile(seed.template("demo"), db)
    server = LocalOrgServer(db, cert_dir=cert_dir).start()
    try:
        yield server
    finally:
        server.stop()
