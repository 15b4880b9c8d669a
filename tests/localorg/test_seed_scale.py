"""The scale seed: leavers with their access and records, ids identical to make_id."""

from __future__ import annotations

import random
import time

import pytest

from deprovision.localorg import ids, seed
from deprovision.localorg.seed.fastids import id_range
from deprovision.localorg.store import Store


def n(store: Store, sql: str, params: tuple = ()) -> int:
    return store.select(sql, params)[0]["n"]


@pytest.fixture(scope="module")
def small() -> Store:
    s = Store.open(":memory:")
    seed.build(s, "scale", users=80, records=1200, leavers=12)
    yield s
    s.close()


def test_fast_ids_equal_make_id():
    got = list(id_range("00T", 3800, 100))
    assert got == [ids.make_id("00T", k) for k in range(3800, 3900)]
    many = list(id_range("001", 1, 20_000))
    for k in random.Random(1).sample(range(1, 20_001), 300):
        assert many[k - 1] == ids.make_id("001", k)


def test_scale_users_and_leavers(small):
    assert n(small, 'SELECT COUNT(*) AS n FROM "User"') == 80
    leavers = small.select('SELECT * FROM "User" WHERE "Department" = \'Leavers\'')
    assert len(leavers) == 12
    leaver_ids = {u["Id"] for u in leavers}
    for u in leavers:
        assert u["ManagerId"] and u["ManagerId"] not in leaver_ids
        uid = u["Id"]
        assert n(small, 'SELECT COUNT(*) AS n FROM "PermissionSetAssignment" a JOIN "PermissionSet" p '
                        'ON p."Id" = a."PermissionSetId" WHERE a."AssigneeId" = ? AND p."IsOwnedByProfile" = 0',
                 (uid,)) == 5
        assert n(small, 'SELECT COUNT(*) AS n FROM "GroupMember" WHERE "UserOrGroupId" = ?', (uid,)) == 3
        assert n(small, 'SELECT COUNT(*) AS n FROM "UserPackageLicense" WHERE "UserId" = ?', (uid,)) == 1
        assert n(small, 'SELECT COUNT(*) AS n FROM "OauthToken" WHERE "UserId" = ?', (uid,)) == 2
        assert n(small, 'SELECT COUNT(*) AS n FROM "UserLogin" WHERE "UserId" = ?', (uid,)) == 1


def test_scale_records_spread_over_leavers(small):
    objects = ("Account", "Contact", "Opportunity", "Case", "Task", "Lead")
    total = sum(n(small, f'SELECT COUNT(*) AS n FROM "{o}"') for o in objects)
    assert total == 1200
    owners = set()
    for o in objects:
        owners |= {r["OwnerId"] for r in small.select(f'SELECT DISTINCT "OwnerId" FROM "{o}"')}
    leaver_ids = {r["Id"] for r in small.select('SELECT "Id" FROM "User" WHERE "Department" = \'Leavers\'')}
    assert owners == leaver_ids
    assert n(small, 'SELECT COUNT(*) AS n FROM "Contact" c LEFT JOIN "Account" a ON a."Id" = c."AccountId" '
                    'WHERE a."Id" IS NULL') == 0
    indexes = {r["name"] for r in small.select("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "ix_Case_OwnerId_Id" in indexes


def test_store_keeps_working_after_scale_seed(small):
    actor = small.api_user_id
    case = small.create("Case", {"Subject": "new"}, actor_id=actor)
    cases = n(small, 'SELECT COUNT(*) AS n FROM "Case"')
    assert small.retrieve("Case", case)["CaseNumber"] == f"{cases:08d}"
    acc = small.create("Account", {"Name": "after"}, actor_id=actor)
    assert small.row("Account", acc) is not None
    result = small.query("SELECT COUNT() FROM Task WHERE Owner.Department = 'Leavers' AND IsClosed = false")
    assert result.total_size == n(small, 'SELECT COUNT(*) AS n FROM "Task" WHERE "IsClosed" = 0')


@pytest.mark.slow
def test_scale_build_is_fast(tmp_path):
    s = Store.open(tmp_path / "scale.db")
    started = time.perf_counter()
    seed.build(s, "scale", users=5000, records=200_000, leavers=1000)
    elapsed = time.perf_counter() - started
    assert n(s, 'SELECT COUNT(*) AS n FROM "User"') == 5000
    assert elapsed < 60, elapsed
