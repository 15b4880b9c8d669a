"""The client against a served local org: streaming queries, chunked IN lists, batched writes, Bulk API."""

from __future__ import annotations

import pytest

from deprovision.errors import OrgError
from deprovision.localorg.ids import make_id
from deprovision.localorg.server import LocalOrgServer
from deprovision.org.client import OrgClient, composite_chunks
from deprovision.org.soql import soql_literal

from .conftest import ACCOUNTS, ADMIN_ID


def account_ids(client: OrgClient) -> list[str]:
    return [r["Id"] for r in client.query("SELECT Id FROM Account WHERE Name LIKE 'Acct %' ORDER BY Name")]


def test_query_streams_every_page(client: OrgClient) -> None:
    before = client.api_calls
    rows = client.query("SELECT Id, Name FROM Account WHERE Name LIKE 'Acct %' ORDER BY Name", batch_size=200)
    first = next(rows)
    assert first["Name"] == "Acct 000" and first["attributes"]["type"] == "Account"
    assert client.api_calls == before + 1  # only the first page has been fetched so far
    rest = list(rows)
    assert len(rest) + 1 == ACCOUNTS
    assert client.api_calls == before + 3  # 450 rows in pages of 200


def test_an_invalid_field_names_what_failed(client: OrgClient) -> None:
    with pytest.raises(OrgError) as err:
        list(client.query("SELECT Foo FROM User"))
    assert err.value.error_code == "INVALID_FIELD"
    assert err.value.status == 400
    assert err.value.message.startswith("query failed: INVALID_FIELD: ")
    assert "Foo" in err.value.message


@pytest.mark.parametrize("hostile", ["x' OR Name != '", "x\\' OR Name != \\'", "%' OR Name LIKE '%", "Acct 001\\"])
def test_hostile_values_do_not_change_a_query(client: OrgClient, hostile: str) -> None:
    rows = list(client.query(f"SELECT Id FROM Account WHERE Name = {soql_literal(hostile)}"))
    assert rows == []


def test_a_name_with_quotes_is_found_exactly(client: OrgClient, org_server: LocalOrgServer) -> None:
    name = "O'Brien \\ Sons' OR Name != '"
    org_server.store.create("Account", {"Name": name}, actor_id=ADMIN_ID)
    rows = list(client.query(f"SELECT Name FROM Account WHERE Name = {soql_literal(name)}"))
    assert [r["Name"] for r in rows] == [name]


def test_query_in_chunks_under_the_where_limit(client: OrgClient) -> None:
    ids = account_ids(client)
    before = client.api_calls
    rows = list(client.query_in("SELECT Id FROM Account WHERE Id IN {ids} ORDER BY Id", ids + ids[:10]))
    assert sorted(r["Id"] for r in rows) == sorted(ids)
    assert client.api_calls - before == 3  # 450 ids of 21 characters each: 3 chunks under 3,500 characters


def test_query_in_refuses_a_template_without_one_slot(client: OrgClient) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        list(client.query_in("SELECT Id FROM Account", ["001"]))
    assert list(client.query_in("SELECT Id FROM Account WHERE Id IN {ids}", [])) == []


def test_collection_update_splits_into_200s_and_keeps_input_order(client: OrgClient) -> None:
    ids = account_ids(client)
    records = [{"attributes": {"type": "Account"}, "Id": i, "BillingCity": f"batch {n}"} for n, i in enumerate(ids)]
    records[5]["OwnerId"] = "005000000000000BAD"  # one bad record must not stop the others
    before = client.api_calls
    results = client.collection_update(records)
    assert client.api_calls - before == 3
    assert [r.id for r in results] == ids
    assert [n for n, r in enumerate(results) if not r.success] == [5]
    assert results[5].error_code and results[5].message
    described = {r["Id"]: r["BillingCity"] for r in client.query_in(
        "SELECT Id, BillingCity FROM Account WHERE Id IN {ids}", ids)}
    assert described[ids[0]] == "batch 0" and described[ids[-1]] == f"batch {len(ids) - 1}"
    assert described[ids[5]] != "batch 5"


def test_all_or_none_rolls_back_the_whole_call(client: OrgClient) -> None:
    ids = account_ids(client)[:3]
    records = [{"attributes": {"type": "Account"}, "Id": i, "BillingCity": "all or none"} for i in ids]
    records[1]["OwnerId"] = "005000000000000BAD"
    results = client.collection_update(records, all_or_none=True)
    assert not any(r.success for r in results)
    assert results[0].error_code == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    rows = list(client.query_in("SELECT BillingCity FROM Account WHERE Id IN {ids}", ids))
    assert all(r["BillingCity"] != "all or none" for r in rows)


def test_setup_and_data_objects_are_never_mixed(client: OrgClient) -> None:
    before = client.api_calls
    with pytest.raises(ValueError, match="must not share one call"):
        client.collection_update([{"attributes": {"type": "User"}, "Id": ADMIN_ID, "Title": "x"},
                                  {"attributes": {"type": "Account"}, "Id": "001000000000001AAA", "Name": "x"}])
    with pytest.raises(ValueError, match="must not share one call"):
        client.collection_delete([ADMIN_ID, "001000000000001AAA"])
    assert client.api_calls == before


def test_create_then_delete_through_collections(client: OrgClient) -> None:
    created = client.collection_create([{"attributes": {"type": "Contact"}, "LastName": f"Temp {n}"}
                                        for n in range(3)])
    assert all(r.success and r.id and r.id.startswith("003") for r in created)
    deleted = client.collection_delete([r.id for r in created] + [created[0].id])
    assert [r.success for r in deleted] == [True, True, True, False]
    assert deleted[3].error_code == "ENTITY_IS_DELETED"


def test_update_passes_headers_and_reports_errors(client: OrgClient) -> None:
    ids = account_ids(client)
    client.update("Account", ids[0], {"BillingCity": "single"}, headers={"Sforce-Auto-Assign": "FALSE"})
    assert next(client.query(f"SELECT BillingCity FROM Account WHERE Id = {soql_literal(ids[0])}"))[
        "BillingCity"] == "single"
    with pytest.raises(OrgError) as err:
        client.update("User", ADMIN_ID, {"NoSuchField": 1})
    assert err.value.record_id == ADMIN_ID
    assert err.value.message.startswith(f"update User {ADMIN_ID} failed: ")


def test_composite_returns_each_subrequest(client: OrgClient) -> None:
    version = client.api_version
    results = client.composite([
        {"method": "GET", "url": f"/services/data/v{version}/sobjects/User/{ADMIN_ID}", "referenceId": "me"},
        {"method": "GET", "url": f"/services/data/v{version}/sobjects/User/{make_id('005', 99999)}",
         "referenceId": "no"},
    ])
    assert [r["httpStatusCode"] for r in results] == [200, 404]
    assert results[0]["body"]["Id"] == ADMIN_ID


def test_bulk_ingest_reports_success_and_failure_per_record(client: OrgClient) -> None:
    ids = account_ids(client)[:4]
    rows = [[i, f"bulk {n}"] for n, i in enumerate(ids)] + [["001000000000000BAD", "nope"]]
    result = client.bulk_ingest("Account", "update", ["Id", "BillingCity"], rows)
    assert sorted(r.id for r in result.successes) == sorted(ids)
    assert len(result.failures) == 1 and result.failures[0].error_code
    assert result.job_ids
    got = {r["Id"]: r["BillingCity"] for r in client.bulk_query(
        "SELECT Id, BillingCity FROM Account WHERE BillingCity LIKE 'bulk %'")}
    assert got == {i: f"bulk {n}" for n, i in enumerate(ids)}


def test_revoke_token_ends_that_session(client: OrgClient, org_server: LocalOrgServer) -> None:
    token = org_server.store.issue_token(ADMIN_ID)
    assert client.revoke_token(token).success
    with pytest.raises(Exception):  # noqa: B017 - the store refuses the revoked token
        org_server.store.user_for_token(token)
    again = client.revoke_token(token)
    assert not again.success and again.error_code == "unsupported_token_type"
    assert token not in (again.message or "")


def test_limits_and_limit_info_are_read(client: OrgClient) -> None:
    daily = client.limits()["DailyApiRequests"]
    assert daily["Max"] > 0 and 0 <= daily["Remaining"] <= daily["Max"]
    used, maximum = client.limit_info
    assert maximum == daily["Max"] and used >= 1


def test_identity_of_the_api_user(client: OrgClient, org_server: LocalOrgServer) -> None:
    assert client.api_user == {"id": ADMIN_ID, "username": "admin@acme.example", "name": "Ada Admin"}
    assert client.org_id == org_server.org_id


def test_composite_splits_independent_subrequests_into_25s(client: OrgClient) -> None:
    url = f"/services/data/v{client.api_version}/sobjects/User/{ADMIN_ID}"
    before = client.api_calls
    results = client.composite([{"method": "GET", "url": url, "referenceId": f"r{n}"} for n in range(30)])
    assert client.api_calls - before == 2
    assert [r["referenceId"] for r in results] == [f"r{n}" for n in range(30)]


def test_composite_sends_at_most_five_queries_per_call(client: OrgClient) -> None:
    # "Up to 5 of these subrequests can be sObject Collections or query operations" (Composite).
    version = client.api_version
    query = f"/services/data/v{version}/query?q=SELECT+Id+FROM+User+WHERE+Id+=+'{ADMIN_ID}'"
    describe = f"/services/data/v{version}/sobjects/User/describe"
    subrequests = [{"method": "GET", "url": query if n % 2 else describe, "referenceId": f"r{n}"} for n in range(24)]
    assert [len(c) for c in composite_chunks(subrequests)] == [11, 10, 3]
    before = client.api_calls
    results = client.composite(subrequests)
    assert client.api_calls - before == 3
    assert [r["referenceId"] for r in results] == [f"r{n}" for n in range(24)]
    assert all(r["httpStatusCode"] == 200 for r in results)
    with pytest.raises(ValueError, match="cannot be split"):
        client.composite([{"method": "GET", "url": query, "referenceId": f"q{n}"} for n in range(6)], all_or_none=True)


def test_composite_refuses_to_split_what_references_itself(client: OrgClient) -> None:
    subrequests = [{"method": "GET", "url": "/services/data/v62.0/sobjects/User/@{r0.Id}", "referenceId": f"r{n}"}
                   for n in range(30)]
    with pytest.raises(ValueError, match="cannot be split"):
        client.composite(subrequests)
