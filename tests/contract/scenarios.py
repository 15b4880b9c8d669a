"""What the client promises, as scenarios run live (local or real org) and replayed from cassettes.

Each scenario only creates records it deletes again, and asserts what holds in any org.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from deprovision.errors import OrgError
from deprovision.org.check import check_org
from deprovision.org.client import OrgClient
from deprovision.org.soql import soql_literal

Scenario = Callable[[OrgClient], None]
SCENARIOS: dict[str, Scenario] = {}
PREFIX = "Deprovision contract"


def scenario(fn: Scenario) -> Scenario:
    SCENARIOS[fn.__name__] = fn
    return fn


@scenario
def identity_and_limits(client: OrgClient) -> None:
    user = client.api_user
    assert user["id"].startswith("005") and user["username"]
    assert client.org_id.startswith("00D")
    daily = client.limits()["DailyApiRequests"]
    assert 0 <= daily["Remaining"] <= daily["Max"]
    assert client.api_calls == 1  # limits
    assert client.oauth_calls == 1  # userinfo
    assert client.limit_info is not None and client.limit_info[1] == daily["Max"]


@scenario
def query_streams_pages(client: OrgClient) -> None:
    rows = list(client.query("SELECT Id FROM User ORDER BY Id", batch_size=200))
    ids = [r["Id"] for r in rows]
    assert ids and len(set(ids)) == len(ids) and ids == sorted(ids)
    assert all(r["attributes"]["type"] == "User" for r in rows)
    assert client.api_calls >= -(-len(ids) // 2000)  # at least one call per 2,000 rows


@scenario
def invalid_field_is_an_org_error(client: OrgClient) -> None:
    with pytest.raises(OrgError) as err:
        list(client.query("SELECT NoSuchField__x FROM User"))
    assert err.value.error_code == "INVALID_FIELD" and err.value.status == 400
    assert err.value.message.startswith("query failed: INVALID_FIELD: ")


@scenario
def hostile_values_stay_values(client: OrgClient) -> None:
    assert list(client.query("SELECT Id FROM User LIMIT 1"))
    for hostile in ("x' OR Name != '", "x\\' OR Name != \\'", "%' OR Username LIKE '%"):
        assert list(client.query(f"SELECT Id FROM User WHERE Username = {soql_literal(hostile)}")) == []


@scenario
def query_in_covers_every_id(client: OrgClient) -> None:
    ids = [r["Id"] for r in client.query("SELECT Id FROM User ORDER BY Id")]
    found = [r["Id"] for r in client.query_in("SELECT Id FROM User WHERE Id IN {ids}", ids)]
    assert sorted(found) == ids


@scenario
def collections_round_trip(client: OrgClient) -> None:
    created = client.collection_create([{"attributes": {"type": "Account"}, "Name": f"{PREFIX} {n}"}
                                        for n in range(3)])
    assert all(r.success and r.id.startswith("001") for r in created)
    ids = [r.id for r in created]
    assert client.collection_delete(ids[:1])[0].success
    updated = client.collection_update([{"attributes": {"type": "Account"}, "Id": i, "Phone": "+1 555 0100"}
                                        for i in ids], headers={"Sforce-Auto-Assign": "FALSE"})
    assert [r.id for r in updated] == ids
    assert [r.success for r in updated] == [False, True, True]
    assert updated[0].error_code == "ENTITY_IS_DELETED"
    assert all(r.success for r in client.collection_delete(ids[1:]))


@scenario
def composite_answers_each_subrequest(client: OrgClient) -> None:
    base = f"/services/data/v{client.api_version}"
    results = client.composite([
        {"method": "GET", "url": f"{base}/sobjects/User/{client.api_user['id']}", "referenceId": "me"},
        {"method": "GET", "url": f"{base}/limits", "referenceId": "limits"},
    ])
    assert [r["httpStatusCode"] for r in results] == [200, 200]
    assert results[0]["body"]["Id"] == client.api_user["id"]


@scenario
def bulk_round_trip(client: OrgClient) -> None:
    inserted = client.bulk_ingest("Account", "insert", ["Name", "Phone"],
                                  [[f"{PREFIX} bulk {n}", "+1 555 0101"] for n in range(2)])
    assert len(inserted.successes) == 2 and not inserted.failures
    rows = list(client.bulk_query(f"SELECT Id, Phone FROM Account WHERE Name LIKE '{PREFIX} bulk %'"))
    assert sorted(r["Id"] for r in rows) == sorted(r.id for r in inserted.successes)
    assert {r["Phone"] for r in rows} == {"+1 555 0101"}
    deleted = client.bulk_ingest("Account", "delete", ["Id"], [[r["Id"]] for r in rows])
    assert len(deleted.successes) == 2 and not deleted.failures


@scenario
def revoking_an_unknown_token_is_a_result(client: OrgClient) -> None:
    result = client.revoke_token("not-a-token-of-this-org")
    assert not result.success and result.error_code


@scenario
def org_check_reads_permissions(client: OrgClient) -> None:
    check = check_org(client)
    assert check.org_id.startswith("00D") and check.api_user["id"].startswith("005")
    assert set(check.permissions) == {"Manage Users", "View Setup and Configuration", "Modify All Data",
                                      "Transfer Record"}
    assert check.ok, check.missing
