"""query / queryAll over REST: paging, batch size, deleted rows, column metadata, cursors."""

from __future__ import annotations

import pytest
from localorg_support import connect
from simple_salesforce.exceptions import SalesforceMalformedRequest


def _accounts(store, admin_id: str, n: int) -> None:
    with store.transaction():
        for i in range(n):
            store.create("Account", {"Name": f"Paged {i:05d}"}, actor_id=admin_id)


@pytest.fixture
def paged_org(empty_org):
    _accounts(empty_org.store, empty_org.store.api_user_id, 4500)
    return empty_org


def test_first_page_has_2000_records_and_a_next_records_url(paged_org):
    sf = connect(paged_org)
    page = sf.query("SELECT Id, Name FROM Account ORDER BY Name")
    assert page["totalSize"] == 4500
    assert page["done"] is False
    assert len(page["records"]) == 2000
    assert page["nextRecordsUrl"].startswith("/services/data/v62.0/query/01g")
    assert page["nextRecordsUrl"].endswith("-2000")
    assert list(page) == ["totalSize", "done", "nextRecordsUrl", "records"]
    assert page["records"][0]["attributes"]["type"] == "Account"
    second = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
    assert second["records"][0]["Name"] == "Paged 02000"
    assert second["nextRecordsUrl"].endswith("-4000")
    third = sf.query_more(second["nextRecordsUrl"], identifier_is_url=True)
    assert third["done"] is True and "nextRecordsUrl" not in third and len(third["records"]) == 500


def test_query_all_pages_through_every_record_in_order(paged_org):
    sf = connect(paged_org)
    before = paged_org.store.api_usage()[0]
    result = sf.query_all("SELECT Id, Name FROM Account ORDER BY Name")
    names = [r["Name"] for r in result["records"]]
    assert names == [f"Paged {i:05d}" for i in range(4500)]
    assert paged_org.store.api_usage()[0] - before == 3  # each page is one API call


def test_batch_size_header_is_honoured_and_clamped(paged_org):
    sf = connect(paged_org)
    page = sf.query("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=500"})
    assert len(page["records"]) == 500 and page["nextRecordsUrl"].endswith("-500")
    page = sf.query("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=10"})
    assert len(page["records"]) == 200
    page = sf.query("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=9000"})
    assert len(page["records"]) == 2000


def test_query_all_includes_deleted_rows_and_query_hides_them(empty_org):
    sf = connect(empty_org)
    gone = sf.Account.create({"Name": "Deleted One"})["id"]
    sf.Account.create({"Name": "Kept One"})
    sf.Account.delete(gone)
    assert [r["Name"] for r in sf.query("SELECT Name FROM Account")["records"]] == ["Kept One"]
    rows = sf.query("SELECT Name, IsDeleted FROM Account ORDER BY Name", include_deleted=True)["records"]
    assert [(r["Name"], r["IsDeleted"]) for r in rows] == [("Deleted One", True), ("Kept One", False)]


def test_query_all_locator_continues_the_query_all_set(paged_org):
    sf = connect(paged_org)
    victim = sf.query("SELECT Id FROM Account WHERE Name = 'Paged 04499'")["records"][0]["Id"]
    sf.Account.delete(victim)
    result = sf.query_all("SELECT Id FROM Account", include_deleted=True)
    assert len(result["records"]) == 4500


def test_count_query(paged_org):
    sf = connect(paged_org)
    result = sf.query("SELECT COUNT() FROM Account")
    assert result["totalSize"] == 4500 and result["records"] == [] and result["done"] is True


def test_unknown_locator_is_refused(empty_org):
    sf = connect(empty_org)
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.query_more("/services/data/v62.0/query/01g000000000000AAA-2000", identifier_is_url=True)
    assert raised.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_locator_can_be_revisited(paged_org):
    sf = connect(paged_org)
    page = sf.query("SELECT Name FROM Account ORDER BY Name", headers={"Sforce-Query-Options": "batchSize=1000"})
    locator = page["nextRecordsUrl"].rsplit("-", 1)[0]
    ahead = sf.query_more(f"{locator}-3000", identifier_is_url=True)
    assert ahead["records"][0]["Name"] == "Paged 03000"
    back = sf.query_more(f"{locator}-1000", identifier_is_url=True)
    assert back["records"][0]["Name"] == "Paged 01000"


def test_empty_query_string_is_malformed(empty_org):
    sf = connect(empty_org)
    response = sf.session.get(f"{sf.base_url}query?q=", headers=sf.headers)
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "MALFORMED_QUERY"


def test_columns_true_answers_column_metadata(empty_org):
    sf = connect(empty_org)
    response = sf.session.get(f"{sf.base_url}query", params={"q": "SELECT Id, Name, Owner.Name FROM Account",
                                                             "columns": "true"}, headers=sf.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["entityName"] == "Account"
    names = [c["columnName"] for c in body["columnMetadata"]]
    assert names == ["Id", "Name", "Owner"]
    owner = body["columnMetadata"][2]
    assert [c["columnName"] for c in owner["joinColumns"]] == ["Name"]


def test_relationship_fields_come_back_nested(served_org):
    sf = connect(served_org)
    row = sf.query("SELECT Id, Owner.Username FROM Account WHERE Owner.Username = 'nina.patel@acme.example' "
                   "LIMIT 1")["records"][0]
    assert row["Owner"]["Username"] == "nina.patel@acme.example"
    assert row["Owner"]["attributes"]["type"] == "User"


def test_paging_while_the_paged_rows_are_updated(paged_org):
    """Query owner X page by page and move each page to owner Y before asking for the next."""
    sf = connect(paged_org)
    store = paged_org.store
    ops = store.create("User", {"Username": "ops2@acme.example", "Email": "ops2@acme.example", "LastName": "Ops",
                                "Alias": "ops2", "ProfileId": sf.query("SELECT ProfileId FROM User LIMIT 1")[
                                    "records"][0]["ProfileId"]}, actor_id=store.api_user_id)
    admin = store.api_user_id
    page = sf.query(f"SELECT Id FROM Account WHERE OwnerId = '{admin}' ORDER BY Id",
                    headers={"Sforce-Query-Options": "batchSize=200"})
    seen = []
    while True:
        ids = [r["Id"] for r in page["records"]]
        seen.extend(ids)
        for start in range(0, len(ids), 200):
            results = sf.restful("composite/sobjects", method="PATCH", json={"records": [
                {"attributes": {"type": "Account"}, "id": i, "OwnerId": ops} for i in ids[start:start + 200]]})
            assert all(r["success"] for r in results)
        if page["done"]:
            break
        page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True,
                             headers={"Sforce-Query-Options": "batchSize=200"})
    assert len(seen) == len(set(seen)) == 4500
    assert sf.query(f"SELECT COUNT() FROM Account WHERE OwnerId = '{ops}'")["totalSize"] == 4500
