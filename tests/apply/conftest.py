"""Fixtures for apply tests: a state folder holding a copy of the demo org."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from apply_helpers import DB_NAME


@pytest.fixture(scope="session")
def demo_db() -> Path:
    """The demo org's database, built once per test session (never written: copy it)."""
    from deprovision.localorg import seed

    return Path(seed.template("demo"))


@pytest.fixture
def state(tmp_path: Path, demo_db: Path) -> Path:
    """A state folder whose local org is a fresh copy of the demo org."""
    folder = tmp_path / "state"
    folder.mkdir()
    shutil.copyfile(demo_db, folder / DB_NAME)
    return folder


