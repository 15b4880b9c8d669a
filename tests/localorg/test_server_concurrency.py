"""Many clients at once: one thread per connection, one store, no lost or mixed-up writes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from localorg_support import connect


def test_parallel_clients_create_query_and_page(empty_org):
    def work(worker: int) -> int:
        sf = connect(empty_org)
        for n in range(30):
            sf.Account.create({"Name": f"W{worker:02d}-{n:02d}"})
        mine = sf.query_all(f"SELECT Name FROM Account WHERE Name LIKE 'W{worker:02d}-%'")["records"]
        return len(mine)

    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(work, range(8)))
    assert counts == [30] * 8
    sf = connect(empty_org)
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 240
    used, _ = empty_org.store.api_usage()
    assert used >= 8 * 31 + 1


def test_parallel_pagers_keep_their_own_cursors(empty_org):
    store = empty_org.store
    with store.transaction():
        for n in range(1200):
            store.create("Account", {"Name": f"P{n:04d}"}, actor_id=store.api_user_id)

    def page_all(_: int) -> list[str]:
        sf = connect(empty_org)
        return [r["Name"] for r in sf.query_all_iter("SELECT Name FROM Account ORDER BY Name",
                                                     headers={"Sforce-Query-Options": "batchSize=200"})]

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(page_all, range(6)))
    expected = [f"P{n:04d}" for n in range(1200)]
    assert all(result == expected for result in results)
