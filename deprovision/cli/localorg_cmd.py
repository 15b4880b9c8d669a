"""``deprovision localorg serve|reset``: run or rebuild the embedded local org."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from pathlib import Path

import click

from deprovision.cli.common import AppContext, info, pass_app
from deprovision.errors import DeprovisionError, InvalidInputError

SEEDS = ("demo", "empty", "scale")
DB_NAME = "localorg.sqlite3"


def default_db(app: AppContext) -> Path:
    """``<state dir>/localorg.sqlite3``."""
    return app.ensure_state_dir() / DB_NAME


def _seed_options(seed: str, users: int | None, records: int | None, leavers: int | None) -> dict[str, int]:
    given = {k: v for k, v in {"users": users, "records": records, "leavers": leavers}.items() if v is not None}
    if given and seed != "scale":
        raise InvalidInputError("--users, --records and --leavers apply only to --seed scale")
    return given


def _db_has_org(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 0


def _seed_choice() -> click.Choice:
    return click.Choice(SEEDS)


def _shape_options(func):
    for opt in reversed([
        click.option("--shape", "shape_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     default=None, help="Org shape (YAML or JSON): custom and managed objects and fields, "
                                        "features such as Territory Management; for a NEW database."),
        click.option("--shape-custom-objects", type=click.IntRange(0), default=0, show_default=True,
                     help="Add this many generated custom objects to the shape (discovery benchmarks)."),
    ]):
        func = opt(func)
    return func


def _load_shape(shape_file: Path | None, generated: int) -> dict | None:
    """The shape of ``--shape`` (default: the demo's) with ``--shape-custom-objects`` added; None for neither."""
    from deprovision.localorg import shapes

    if shape_file is None and not generated:
        return None
    try:
        shape = shapes.load_shape_file(shape_file) if shape_file else None
        shape = shapes.with_generated_objects(shape, generated) if generated else shape
        shapes.build_schema(shape)  # refuse a bad shape before any database is touched
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"bad org shape: {exc}") from None
    return shape


def _scale_options(func):
    for opt in reversed([
        click.option("--users", type=click.IntRange(1), default=None, help="Scale seed: number of users."),
        click.option("--records", type=click.IntRange(0), default=None, help="Scale seed: owned records."),
        click.option("--leavers", type=click.IntRange(0), default=None, help="Scale seed: users in 'Leavers'."),
    ]):
        func = opt(func)
    return func


@click.group("localorg")
def localorg() -> None:
    """The embedded local org: a Salesforce REST API on 127.0.0.1 over HTTPS, data in SQLite."""


@localorg.command("serve")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="SQLite database (default: <state dir>/localorg.sqlite3).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0 picks a free one).")
@click.option("--seed", type=_seed_choice(), default=None,
              help="Seed for a NEW database (default demo). An existing database is kept as it is; "
                   "`localorg reset` rebuilds it.")
@_scale_options
@_shape_options
@click.option("--latency-ms", type=click.IntRange(0), default=0, show_default=True,
              help="Delay added to every REST call.")
@click.option("--fail-rate", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True,
              help="Probability of a transient fault per REST call (503, UNABLE_TO_LOCK_ROW, 403 limit).")
@click.option("--fault-seed", type=int, default=0, show_default=True, help="Seed of the fault sequence.")
@pass_app
def serve(app: AppContext, db_path: Path | None, port: int, seed: str | None, users: int | None,
          records: int | None, leavers: int | None, shape_file: Path | None, shape_custom_objects: int,
          latency_ms: int, fail_rate: float, fault_seed: int) -> None:
    """Serve the local org until interrupted.

    Prints one line of JSON on stdout: {"instance_url", "access_token", "ca_bundle", "org_id"}.
    The access token is a secret: keep it out of logs. Faults and org settings can be changed
    while it runs through POST /_localorg/faults and /_localorg/settings.
    """
    from deprovision.localorg.server import LocalOrgServer

    path = db_path or default_db(app)
    options = _seed_options(seed or "demo", users, records, leavers)
    existing = _db_has_org(path)
    shape = _load_shape(shape_file, shape_custom_objects)
    if existing and shape is not None:
        info(f"Using the existing local org at {path} with the shape it was made with; --shape applies only to "
             "a new database (`deprovision localorg reset --shape` rebuilds it).")
    if existing and seed:
        info(f"Using the existing local org at {path}; --seed applies only to a new database "
             "(`deprovision localorg reset` rebuilds it).")
    server = LocalOrgServer(path, port=port, latency_ms=latency_ms, fail_rate=fail_rate, fault_seed=fault_seed,
                            cert_dir=app.ensure_state_dir() if db_path is None else None,
                            seed=seed or "demo", seed_options=options, shape=shape)
    try:
        server.start()
    except sqlite3.DatabaseError as exc:
        raise DeprovisionError(f"cannot open the local org database {path}: {exc}") from None
    except OSError as exc:
        raise DeprovisionError(f"cannot serve the local org on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    try:
        sys.stdout.write(json.dumps(server.connection_info()) + "\n")
        sys.stdout.flush()
        if server.seeded:
            info(f"Seeded a new local org ({seed or 'demo'}) at {path}.")
        info(f"Serving the local org at {server.instance_url} (Ctrl+C to stop).")
        server.serve_forever()  # returns on SIGINT or SIGTERM
    finally:
        server.stop()
    info("Local org stopped.")


@localorg.command("reset")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="SQLite database (default: <state dir>/localorg.sqlite3).")
@click.option("--seed", type=_seed_choice(), default="demo", show_default=True, help="What to seed it with.")
@_scale_options
@_shape_options
@pass_app
def reset(app: AppContext, db_path: Path | None, seed: str, users: int | None, records: int | None,
          leavers: int | None, shape_file: Path | None, shape_custom_objects: int) -> None:
    """Rebuild the local org database from a seed (its current content is replaced)."""
    from deprovision.localorg import seed as seeds
    from deprovision.localorg.store import Store

    path = db_path or default_db(app)
    options = _seed_options(seed, users, records, leavers)
    shape = _load_shape(shape_file, shape_custom_objects)
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(path.name + ".new")
    for leftover in _db_files(fresh):
        leftover.unlink(missing_ok=True)
    started = time.monotonic()
    store = Store.open(fresh, shape=shape)
    try:
        seeds.build(store, seed, **options)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    for old in _db_files(path):
        old.unlink(missing_ok=True)
    os.replace(fresh, path)
    for leftover in _db_files(fresh):
        leftover.unlink(missing_ok=True)
    info(f"Rebuilt the local org at {path} with the {seed} seed in {time.monotonic() - started:.1f} s.")


def _db_files(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


COMMANDS = [localorg]
