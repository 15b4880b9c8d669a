"""sObject Collections and Composite through simple-salesforce's ``restful``."""

from __future__ import annotations

import pytest
from localorg_support import connect
from simple_salesforce.exceptions import SalesforceMalformedRequest

ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
               "message": "Record rolled back because not all records were valid and the request was using "
                          "AllOrNone header", "fields": []}


def _names(sf) -> list[str]:
    return sorted(r["Name"] for r in sf.query("SELECT Name FROM Account")["records"])


def _create(sf, names: list[str]) -> list[str]:
    results = sf.restful("composite/sobjects", method="POST", json={
        "allOrNone": True, "records": [{"attributes": {"type": "Account"}, "Name": n} for n in names]})
    assert all(r["success"] for r in results)
    return [r["id"] for r in results]


def test_collection_create_returns_results_in_order(empty_org):
    sf = connect(empty_org)
    results = sf.restful("composite/sobjects", method="POST", json={"records": [
        {"attributes": {"type": "Account"}, "Name": "A"},
        {"attributes": {"type": "Account"}},  # Name missing
        {"attributes": {"type": "Contact"}, "LastName": "C"},
    ]})
    assert [r["success"] for r in results] == [True, False, True]
    assert results[0]["id"].startswith("001") and results[2]["id"].startswith("003")
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert set(results[1]["errors"][0]) == {"statusCode", "message", "fields"}
    assert _names(sf) == ["A"]


def test_collection_update_all_or_none_false_keeps_the_good_records(empty_org):
    sf = connect(empty_org)
    a, b = _create(sf, ["A", "B"])
    results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Account"}, "id": a, "Name": "A2"},
        {"attributes": {"type": "Account"}, "id": b, "NoSuchField": "x"},
    ]})
    assert results[0] == {"id": a, "success": True, "errors": []}
    assert results[1]["success"] is False and results[1]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert _names(sf) == ["A2", "B"]


def test_collection_update_all_or_none_true_rolls_everything_back(empty_org):
    sf = connect(empty_org)
    a, b, c = _create(sf, ["A", "B", "C"])
    results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": True, "records": [
        {"attributes": {"type": "Account"}, "id": a, "Name": "A2"},
        {"attributes": {"type": "Account"}, "id": b, "NoSuchField": "x"},
        {"attributes": {"type": "Account"}, "id": c, "Name": "C2"},
    ]})
    assert results[0] == {"id": a, "success": False, "errors": [ROLLED_BACK]}
    assert results[1]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert results[2] == {"id": c, "success": False, "errors": [ROLLED_BACK]}
    assert _names(sf) == ["A", "B", "C"]


def test_collection_create_all_or_none_creates_nothing_on_failure(empty_org):
    sf = connect(empty_org)
    results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": [
        {"attributes": {"type": "Account"}, "Name": "A"},
        {"attributes": {"type": "Account"}, "Industry": "no name"},
    ]})
    assert results[0] == {"success": False, "errors": [ROLLED_BACK]}
    assert _names(sf) == []


def test_collection_delete_with_ids_and_bad_ids(empty_org):
    sf = connect(empty_org)
    a, b = _create(sf, ["A", "B"])
    results = sf.restful("composite/sobjects", method="DELETE",
                         params={"ids": f"{a},nonsense,{b}", "allOrNone": "false"})
    assert results[0] == {"id": a, "success": True, "errors": []}
    assert results[1]["success"] is False and results[1]["errors"][0]["statusCode"] == "MALFORMED_ID"
    assert results[2]["success"] is True
    assert _names(sf) == []


def test_collection_retrieve(empty_org):
    sf = connect(empty_org)
    a, b = _create(sf, ["A", "B"])
    sf.Account.delete(b)
    rows = sf.restful("composite/sobjects/Account", params={"ids": f"{a},{b}", "fields": "Name"})
    assert rows[0]["Name"] == "A" and rows[0]["attributes"]["url"].startswith("/services/data/v62.0/")
    assert rows[1] is None


def test_more_than_200_records_is_refused(empty_org):
    sf = connect(empty_org)
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.restful("composite/sobjects", method="POST", json={
            "records": [{"attributes": {"type": "Account"}, "Name": str(i)} for i in range(201)]})
    assert raised.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert _names(sf) == []


def test_more_than_10_type_chunks_is_refused(empty_org):
    sf = connect(empty_org)
    records = []
    for i in range(11):
        records.append({"attributes": {"type": "Account" if i % 2 else "Contact"},
                        **({"Name": "x"} if i % 2 else {"LastName": "y"})})
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.restful("composite/sobjects", method="POST", json={"records": records})
    assert raised.value.content[0]["errorCode"] == "INVALID_BATCH_REQUEST"
    ten = records[:10]
    results = sf.restful("composite/sobjects", method="POST", json={"records": ten})
    assert all(r["success"] for r in results)


def test_setup_and_data_objects_are_not_mixed(served_org):
    sf = connect(served_org)
    nina = sf.query("SELECT Id FROM User WHERE Username = 'nina.patel@acme.example'")["records"][0]["Id"]
    account = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    results = sf.restful("composite/sobjects", method="PATCH", json={"records": [
        {"attributes": {"type": "Account"}, "id": account, "Industry": "Retail"},
        {"attributes": {"type": "User"}, "id": nina, "Title": "Changed"},
    ]})
    assert results[0]["success"] is True
    assert results[1]["success"] is False
    assert results[1]["errors"][0]["statusCode"] == "MIXED_DML_OPERATION"
    assert sf.User.get(nina)["Title"] != "Changed"


def test_collection_update_honours_auto_assign_header(served_org):
    sf = connect(served_org)
    served_org.store.configure(assignment_rule_queues={"Case": "Support_Queue"})
    ops = sf.query("SELECT Id FROM User WHERE Username = 'ops@acme.example'")["records"][0]["Id"]
    case = sf.Case.create({"Subject": "x"})["id"]
    body = {"records": [{"attributes": {"type": "Case"}, "id": case, "OwnerId": ops}]}
    sf.restful("composite/sobjects", method="PATCH", json=body, headers={"Sforce-Auto-Assign": "FALSE"})
    assert sf.Case.get(case)["OwnerId"] == ops


# --- Composite ------------------------------------------------------------------------------------

def test_composite_references_and_one_api_call(empty_org):
    sf = connect(empty_org)
    before = empty_org.store.api_usage()[0]
    response = sf.restful("composite", method="POST", json={"allOrNone": False, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "acct",
         "body": {"Name": "Composite Co"}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "person",
         "body": {"LastName": "Ref", "AccountId": "@{acct.id}"}},
        {"method": "GET", "url": "/services/data/v62.0/query?q=SELECT+Id,AccountId+FROM+Contact",
         "referenceId": "q"},
        {"method": "PATCH", "url": "/services/data/v62.0/sobjects/Contact/@{q.records[0].Id}",
         "referenceId": "upd", "body": {"Title": "Updated via @{acct.id}"}},
        {"method": "GET", "url": "/services/data/v62.0/sobjects/Contact/@{person.id}?fields=Title,AccountId",
         "referenceId": "check"},
    ]})
    assert empty_org.store.api_usage()[0] - before == 1
    answers = {r["referenceId"]: r for r in response["compositeResponse"]}
    assert [r["referenceId"] for r in response["compositeResponse"]] == ["acct", "person", "q", "upd", "check"]
    assert answers["acct"]["httpStatusCode"] == 201
    acct_id = answers["acct"]["body"]["id"]
    assert answers["acct"]["httpHeaders"]["Location"] == f"/services/data/v62.0/sobjects/Account/{acct_id}"
    assert answers["upd"]["httpStatusCode"] == 204 and answers["upd"]["body"] is None
    assert answers["check"]["body"]["AccountId"] == acct_id
    assert answers["check"]["body"]["Title"] == f"Updated via {acct_id}"


def test_composite_all_or_none_halts_and_rolls_back(empty_org):
    sf = connect(empty_org)
    response = sf.restful("composite", method="POST", json={"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "ok",
         "body": {"Name": "Rolled Back"}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "bad",
         "body": {"Bogus": 1}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "later",
         "body": {"Name": "Never"}},
    ]})
    ok, bad, later = response["compositeResponse"]
    halted = [{"errorCode": "PROCESSING_HALTED",
               "message": "The transaction was rolled back since another operation in the same transaction "
                          "failed."}]
    assert ok["httpStatusCode"] == 400 and ok["body"] == halted
    assert bad["httpStatusCode"] == 400 and bad["body"][0]["errorCode"] == "INVALID_FIELD"
    assert later["httpStatusCode"] == 400 and later["body"] == halted
    assert _names(sf) == []


def test_composite_without_all_or_none_skips_dependants_of_a_failure(empty_org):
    sf = connect(empty_org)
    response = sf.restful("composite", method="POST", json={"compositeRequest": [
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "bad",
         "body": {"Bogus": 1}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "dep",
         "body": {"LastName": "x", "AccountId": "@{bad.id}"}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "free",
         "body": {"Name": "Independent"}},
    ]})
    bad, dep, free = response["compositeResponse"]
    assert bad["httpStatusCode"] == 400
    assert dep["httpStatusCode"] == 400 and dep["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert free["httpStatusCode"] == 201
    assert _names(sf) == ["Independent"]


def test_composite_limits(empty_org):
    sf = connect(empty_org)
    too_many = [{"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": f"r{i}"} for i in range(26)]
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite", method="POST", json={"compositeRequest": too_many})
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite", method="POST", json={"compositeRequest": [
            {"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": "bad-id"}]})


def _query(i: int) -> dict:
    return {"method": "GET", "url": "/services/data/v62.0/query?q=SELECT+Id+FROM+Account", "referenceId": f"q{i}"}


def _describe(i: int, name: str = "Account") -> dict:
    return {"method": "GET", "url": f"/services/data/v62.0/sobjects/{name}/describe", "referenceId": f"d{i}"}


def test_composite_takes_five_queries_and_refuses_a_sixth(empty_org):
    # "Up to 5 of these subrequests can be sObject Collections or query operations" (Send Multiple
    # Requests Using Composite); describes are sObject resources and do not count toward the five.
    sf = connect(empty_org)
    before = empty_org.store.api_usage()[0]
    response = sf.restful("composite", method="POST", json={
        "compositeRequest": [_query(i) for i in range(5)] + [_describe(i) for i in range(20)]})
    assert [r["httpStatusCode"] for r in response["compositeResponse"]] == [200] * 25
    assert empty_org.store.api_usage()[0] - before == 1  # 25 subrequests, one API call
    collection = {"method": "GET", "url": "/services/data/v62.0/composite/sobjects/Account?ids=001000000000000AAA"
                  "&fields=Name", "referenceId": "coll"}
    query_more = {"method": "GET", "url": "/services/data/v62.0/queryAll/?q=SELECT+Id+FROM+Account",
                  "referenceId": "all"}
    for sixth in (_query(5), collection, query_more):
        with pytest.raises(SalesforceMalformedRequest) as raised:
            sf.restful("composite", method="POST", json={"compositeRequest": [_query(i) for i in range(5)] + [sixth]})
        assert raised.value.content[0]["errorCode"] == "INVALID_BATCH_REQUEST"
        assert "up to 5 query or sObject Collections subrequests" in raised.value.content[0]["message"]


def test_composite_without_all_or_none_runs_every_independent_describe(empty_org):
    # allOrNone false: "the remaining subrequests that don't depend on the failed subrequest are executed"
    # (Composite Request Body).
    sf = connect(empty_org)
    response = sf.restful("composite", method="POST", json={"allOrNone": False, "compositeRequest": [
        _describe(0), _describe(1, "NoSuchObject__c"), _describe(2, "Contact")]})
    first, missing, last = response["compositeResponse"]
    assert first["httpStatusCode"] == 200 and first["body"]["name"] == "Account"
    assert missing["httpStatusCode"] == 404 and missing["body"][0]["errorCode"] == "NOT_FOUND"
    assert last["httpStatusCode"] == 200 and last["body"]["name"] == "Contact"


def test_composite_batch_counts_every_subrequest_where_composite_counts_one(empty_org):
    # Composite Batch: "Each subrequest counts against rate limits"; Composite: "The entire series of
    # requests counts as a single call toward your API limits".
    sf = connect(empty_org)
    before = empty_org.store.api_usage()[0]
    sf.restful("composite/batch", method="POST", json={"batchRequests": [
        {"method": "GET", "url": "v62.0/sobjects/Account/describe"} for _ in range(25)]})
    middle = empty_org.store.api_usage()[0]
    sf.restful("composite", method="POST", json={"compositeRequest": [_describe(i) for i in range(25)]})
    assert (middle - before, empty_org.store.api_usage()[0] - middle) == (25, 1)


def test_composite_batch_counts_each_subrequest(empty_org):
    sf = connect(empty_org)
    before = empty_org.store.api_usage()[0]
    response = sf.restful("composite/batch", method="POST", json={"batchRequests": [
        {"method": "POST", "url": "v62.0/sobjects/Account", "richInput": {"Name": "Batch A"}},
        {"method": "GET", "url": "v62.0/query?q=SELECT+Name+FROM+Account"},
        {"method": "GET", "url": "v62.0/sobjects/Account/001000000000000AAA"},
    ]})
    assert empty_org.store.api_usage()[0] - before == 3
    assert response["hasErrors"] is True
    assert [r["statusCode"] for r in response["results"]] == [201, 200, 404]


def test_composite_subrequests_inherit_the_auto_assign_header(served_org):
    sf = connect(served_org)
    served_org.store.configure(assignment_rule_queues={"Case": "Support_Queue"})
    ops = sf.query("SELECT Id FROM User WHERE Username = 'ops@acme.example'")["records"][0]["Id"]
    case = sf.Case.create({"Subject": "x"})["id"]
    sf.restful("composite", method="POST", headers={"Sforce-Auto-Assign": "FALSE"}, json={"compositeRequest": [
        {"method": "PATCH", "url": f"/services/data/v62.0/sobjects/Case/{case}", "referenceId": "c",
         "body": {"OwnerId": ops}}]})
    assert sf.Case.get(case)["OwnerId"] == ops
