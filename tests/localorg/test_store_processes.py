"""Several stores (as several processes) on one database file: writes wait for each other instead of
failing with ``database is locked``, ids stay unique, and a long query stream does not stop its store
from writing after another store wrote."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from deprovision.localorg.resources.query import open_stream
from deprovision.localorg.seed import template
from deprovision.localorg.store import Store


def _copy(tmp_path: Path) -> Path:
    db = tmp_path / "org.sqlite3"
    source = Store.open_copy(template("empty"), db)
    source.close()
    return db


def test_two_stores_on_one_file_write_at_once_with_unique_ids(tmp_path: Path) -> None:
    db = _copy(tmp_path)
    stores = [Store.open(db), Store.open(db)]
    admin = stores[0].api_user_id

    def create_many(store: Store, tag: str) -> list[str]:
        return [store.create("Account", {"Name": f"{tag} {i}"}, actor_id=admin) for i in range(60)]

    with ThreadPoolExecutor(max_workers=2) as pool:
        made = list(pool.map(create_many, stores, ["a", "b"]))
    ids = made[0] + made[1]
    assert len(set(ids)) == 120
    assert stores[0].query("SELECT COUNT() FROM Account WHERE Name LIKE 'a %' OR Name LIKE 'b %'").total_size == 120
    for store in stores:
        store.close()


def test_an_open_stream_does_not_stop_its_store_from_writing(tmp_path: Path) -> None:
    db = _copy(tmp_path)
    mine, other = Store.open(db), Store.open(db)
    admin = mine.api_user_id
    for i in range(30):
        mine.create("Account", {"Name": f"row {i}"}, actor_id=admin)
    total, rows = open_stream(mine, "SELECT Id, Name FROM Account", False)
    first = next(rows)
    other.create("Account", {"Name": "written elsewhere"}, actor_id=admin)
    mine.create("Account", {"Name": "written here"}, actor_id=admin)  # SQLITE_BUSY_SNAPSHOT on a shared connection
    rest = list(rows)
    assert first and len(rest) == total - 1 == 29  # the stream is a snapshot
    mine.close()
    other.close()
