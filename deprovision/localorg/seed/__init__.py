"""Seed data for the local org: ``empty``, ``demo`` and ``scale``, all deterministic.

``build(store, kind, **options)`` fills a freshly opened store. ``template(kind)``
builds a seeded database once per process (cached in a temporary folder) so
tests can take a fresh copy cheaply with ``Store.open_copy(template(kind))``.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path

from deprovision.localorg.seed.common import Seeder
from deprovision.localorg.seed.empty import build_empty, finish
from deprovision.localorg.store import Store

KINDS = ("empty", "demo", "scale")
_templates: dict[tuple, Path] = {}
_template_lock = threading.Lock()


def build(store: Store, kind: str = "empty", **options: int) -> None:
    """Seed ``store`` (which must be empty) with the org ``kind``."""
    if kind not in KINDS:
        raise ValueError(f"unknown seed {kind!r}; expected one of {', '.join(KINDS)}")
    if store.select('SELECT COUNT(*) AS n FROM "User"')[0]["n"]:
        raise ValueError("the org already holds data; seed a new database")
    seeder = Seeder(store)
    base = build_empty(store, seeder)
    if kind == "empty":
        seeder.flush()
    elif kind == "demo":
        from deprovision.localorg.seed.demo import build_demo

        build_demo(store, seeder, base, **options)
    else:
        from deprovision.localorg.seed.scale import build_scale

        build_scale(store, seeder, base, **options)
    with store.transaction():
        finish(store, base)


def template(kind: str = "empty", **options: int) -> Path:
    """Path of a seeded database file, built once per process and options; copy it, never write it."""
    key = (kind, tuple(sorted(options.items())))
    with _template_lock:
        path = _templates.get(key)
        if path is None or not path.exists():
            folder = Path(tempfile.mkdtemp(prefix="deprovision-seed-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            path = folder / f"{kind}.db"
            store = Store.open(path)
            try:
                build(store, kind, **options)
                store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                store.close()
            _templates[key] = path
        return path


def fresh_store(kind: str = "empty", path: str | Path = ":memory:", **options: int) -> Store:
    """A new store holding a copy of the seeded org ``kind`` (in memory unless ``path`` is given)."""
    return Store.open_copy(template(kind, **options), path)
