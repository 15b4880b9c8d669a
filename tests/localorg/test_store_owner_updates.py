"""``Store.update_owners`` (the Bulk API 2.0 path for Id/OwnerId jobs) answers and writes exactly what
``Store.update`` does for each record: same errors in the same order of checks, same rows afterwards,
teams deleted as KB 000390190 says."""

from __future__ import annotations

import pytest

from deprovision.localorg import errors, ids, seed
from deprovision.localorg.store import Store

ADMIN = ids.make_id("005", 1)


@pytest.fixture
def pair() -> tuple[Store, Store]:
    one, many = seed.fresh_store("demo"), seed.fresh_store("demo")
    yield one, many
    one.close()
    many.close()


def _first(store: Store, sql: str, *params: object) -> str:
    return store.select(sql, params)[0]["Id"]


def _cases(store: Store) -> tuple[list[tuple[object, object]], str]:
    """Items covering every outcome an owner-only update can have, and the object they update."""
    accounts = [r["Id"] for r in store.select(
        'SELECT "Id" FROM "Account" WHERE "IsDeleted" = 0 ORDER BY "Id" LIMIT 6')]
    active = _first(store, 'SELECT u."Id" FROM "User" u JOIN "Profile" p ON p."Id" = u."ProfileId" '
                           'WHERE u."IsActive" = 1 AND p."Name" = \'Standard User\' ORDER BY u."Id"')
    inactive = store.create("User", {"Username": "gone@acme.example", "Email": "gone@acme.example",
                                     "LastName": "Gone", "Alias": "gone", "IsActive": False,
                                     "ProfileId": _first(store, 'SELECT "Id" FROM "Profile" '
                                                                'WHERE "Name" = \'Standard User\'')},
                            actor_id=ADMIN)
    chatter = store.create("User", {"Username": "chat@acme.example", "Email": "chat@acme.example",
                                    "LastName": "Chat", "Alias": "chat",
                                    "ProfileId": _first(store, 'SELECT "Id" FROM "Profile" '
                                                               'WHERE "Name" = \'Chatter Free User\'')},
                           actor_id=ADMIN)
    queue = store.create("Group", {"Name": "Q", "DeveloperName": "Q", "Type": "Queue"}, actor_id=ADMIN)
    deleted = accounts[5]
    store.delete("Account", deleted, actor_id=ADMIN)
    keep = store.row("Account", accounts[4])["OwnerId"]
    items: list[tuple[object, object]] = [
        (accounts[0], active),                   # a real change
        (accounts[1][:15], active),              # a 15-character id
        (accounts[2], inactive),                 # INACTIVE_OWNER_OR_USER
        (accounts[3], chatter),                  # TRANSFER_REQUIRES_READ (licence)
        (accounts[4], keep),                     # the same owner: stamped, team kept
        (deleted, active),                       # ENTITY_IS_DELETED
        ("001000000000000", active),             # NOT_FOUND
        ("003" + accounts[0][3:], active),       # another object's id: NOT_FOUND
        ("not-an-id", active),                   # MALFORMED_ID
        (accounts[0], queue),                    # accounts are never queue-owned
        (accounts[1], "005000000000000AAA"),     # no such user
        (accounts[2], None),                     # OwnerId cannot be null
    ]
    return items, "Account"


def _one_by_one(store: Store, obj: str, items: list[tuple[object, object]]) -> list[str | None]:
    out: list[str | None] = []
    for record_id, owner in items:
        try:
            store.update(obj, record_id, {"OwnerId": owner}, actor_id=ADMIN, auto_assign=False)
            out.append(None)
        except errors.SalesforceError as exc:
            out.append(f"{exc.error_code}:{exc.message}:{exc.fields}")
    return out


def _rows(store: Store, obj: str) -> list[tuple]:
    return [(r["Id"], r["OwnerId"], r["LastModifiedById"], r["IsDeleted"])
            for r in store.select(f'SELECT * FROM "{obj}" ORDER BY "Id"')]


def _teams(store: Store) -> list[tuple]:
    return [(r["Id"], r["IsDeleted"]) for r in store.select('SELECT * FROM "AccountTeamMember" ORDER BY "Id"')]


def test_update_owners_matches_update_record_by_record(pair):
    one, many = pair
    items, obj = _cases(one)
    again, _ = _cases(many)
    assert items == again  # both stores are the same org
    expected = _one_by_one(one, obj, items)
    with many.transaction():
        got = [None if e is None else f"{e.error_code}:{e.message}:{e.fields}"
               for e in many.update_owners(obj, items, actor_id=ADMIN)]
    assert got == expected
    assert [e.split(":")[0] if e else None for e in got] == [
        None, None, "INACTIVE_OWNER_OR_USER", "TRANSFER_REQUIRES_READ", None, "ENTITY_IS_DELETED", "NOT_FOUND",
        "NOT_FOUND", "MALFORMED_ID", "FIELD_INTEGRITY_EXCEPTION", "INVALID_CROSS_REFERENCE_KEY", "REQUIRED_FIELD_MISSING"]
    assert _rows(many, obj) == _rows(one, obj)
    assert _teams(many) == _teams(one)


def test_update_owners_deletes_the_teams_of_changed_accounts_only():
    store = seed.fresh_store("demo")
    parents = [r["AccountId"] for r in store.select(
        'SELECT DISTINCT "AccountId" FROM "AccountTeamMember" WHERE "IsDeleted" = 0 ORDER BY "AccountId" LIMIT 2')]
    assert len(parents) == 2
    owner = store.row("Account", parents[1])["OwnerId"]
    other = _first(store, 'SELECT "Id" FROM "User" WHERE "IsActive" = 1 AND "Id" != ? AND "UserType" = '
                          '\'Standard\' ORDER BY "Id"', owner)
    changed_owner = store.row("Account", parents[0])["OwnerId"]
    successor = other if other != changed_owner else owner
    with store.transaction():
        assert store.update_owners("Account", [(parents[0], successor), (parents[1], owner)],
                                   actor_id=ADMIN) == [None, None]

    def live(parent: str) -> int:
        return store.select('SELECT COUNT(*) AS n FROM "AccountTeamMember" WHERE "AccountId" = ? '
                            'AND "IsDeleted" = 0', (parent,))[0]["n"]

    assert live(parents[0]) == 0  # its owner changed: the team is gone (KB 000390190)
    assert live(parents[1]) > 0   # the same owner: the team stays
    assert store.row("Account", parents[0])["OwnerId"] == successor
    store.close()


def test_update_owners_of_users_goes_through_the_user_rules():
    store = seed.fresh_store("demo")
    user = _first(store, 'SELECT "Id" FROM "User" WHERE "IsActive" = 1 ORDER BY "Id" DESC')
    with store.transaction():
        [problem] = store.update_owners("User", [(user, ADMIN)], actor_id=ADMIN)
    assert problem is not None and problem.error_code == "INVALID_FIELD"  # User has no OwnerId
    store.close()


def test_update_owners_of_one_record_twice_matches_two_updates(pair):
    one, many = pair
    [account] = [r["Id"] for r in one.select('SELECT "Id" FROM "Account" WHERE "IsDeleted" = 0 ORDER BY "Id" LIMIT 1')]
    before = one.row("Account", account)["OwnerId"]
    other = _first(one, 'SELECT "Id" FROM "User" WHERE "IsActive" = 1 AND "UserType" = \'Standard\' AND "Id" != ? '
                        'ORDER BY "Id"', before)
    items: list[tuple[object, object]] = [(account, other), (account, before)]  # moved, then given back
    expected = _one_by_one(one, "Account", items)
    with many.transaction():
        got = many.update_owners("Account", items, actor_id=ADMIN)
    assert [None if e is None else e.error_code for e in got] == [None if e is None else e.split(":")[0]
                                                                   for e in expected]
    assert many.row("Account", account)["OwnerId"] == one.row("Account", account)["OwnerId"] == before
    assert _teams(many) == _teams(one)
