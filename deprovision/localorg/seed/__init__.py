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
    _shape_settings(store)


def _shape_settings(store: Store) -> None:
    """Settings that follow the org's shape: its custom User hierarchy lookups, its record types."""
    from deprovision.localorg import schema

    user = schema.get_object("User")
    hierarchy = [f.name for f in user.fields if f.hierarchy] if user else []
    if hierarchy != store.settings.hierarchy_fields:
        store.configure(hierarchy_fields=hierarchy)
    with store.transaction():
        for spec in schema.current().objects:
            for rt in spec.record_types:
                if store.row("RecordType", rt.record_type_id) is None:
                    store.insert_row("RecordType", {
                        "Id": rt.record_type_id, "IsDeleted": 0, "Name": rt.label, "DeveloperName": rt.developer_name,
                        "SobjectType": spec.name, "IsActive": 1, "CreatedDate": store.now(),
                        "LastModifiedDate": store.now(), "SystemModstamp": store.now(),
                        "CreatedById": store.api_user_id, "LastModifiedById": store.api_user_id})


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
