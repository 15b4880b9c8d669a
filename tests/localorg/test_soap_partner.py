"""The partner SOAP endpoint's ``update`` as the SOAP API Developer Guide and recorded responses show it:
SaveResults in request order, SOAP faults for whole-call errors, one API call per request."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import soap_support as soap
from localorg_support import API_VERSION, connect, trusting_session

from deprovision.localorg.seed.demo import DEMO_PASSWORD, DEMO_SECURITY_TOKEN


def _user(sf, username: str) -> str:
    return sf.query(f"SELECT Id FROM User WHERE Username = '{username}'")["records"][0]["Id"]


def _accounts(sf, n: int) -> list[str]:
    return [r["Id"] for r in sf.query(f"SELECT Id FROM Account ORDER BY Id LIMIT {n}")["records"]]


def _used(sf) -> int:
    daily = sf.limits()["DailyApiRequests"]
    return daily["Max"] - daily["Remaining"]


def test_update_answers_one_save_result_per_sobject_in_request_order(served_org):
    sf = connect(served_org)
    ops, inactive = _user(sf, "ops@acme.example"), _user(sf, "contractor07@acme.example")
    a, b, c = _accounts(sf, 3)
    response = soap.update(served_org, [soap.sobject("Account", a, OwnerId=ops),
                                        soap.sobject("Account", b, OwnerId=inactive),
                                        soap.sobject("Account", c, OwnerId=ops)])
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/xml")
    first, refused, third = (soap.as_dict(r) for r in soap.results(response))
    assert first == {"order": ["id", "success"], "errors": [], "id": a, "id_nil": False, "success": "true"}
    assert third["id"] == c and third["success"] == "true"
    assert refused["order"] == ["errors", "id", "success"]
    assert refused["id_nil"] and refused["id"] is None and refused["success"] == "false"
    assert refused["errors"] == [{"order": ["message", "statusCode"], "fields": [],
                                  "message": "operation performed with inactive User",
                                  "statusCode": "INACTIVE_OWNER_OR_USER"}]
    owners = {r["Id"]: r["OwnerId"] for r in sf.query(
        f"SELECT Id, OwnerId FROM Account WHERE Id IN ('{a}', '{b}', '{c}')")["records"]}
    assert owners[a] == owners[c] == ops and owners[b] != inactive


def test_errors_name_their_fields_and_queue_rules_apply_as_in_rest(served_org):
    sf = connect(served_org)
    queue = sf.query("SELECT Id FROM Group WHERE DeveloperName = 'Support_Queue'")["records"][0]["Id"]
    [account] = _accounts(sf, 1)
    case = sf.query("SELECT Id FROM Case LIMIT 1")["records"][0]["Id"]
    response = soap.update(served_org, [soap.sobject("Account", account, OwnerId=queue),
                                        soap.sobject("Case", case, OwnerId=queue),
                                        soap.sobject("Account", account, fields_to_null=("Name",))])
    queue_owned, case_ok, required = (soap.as_dict(r) for r in soap.results(response))
    assert queue_owned["errors"][0]["statusCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert queue_owned["errors"][0]["fields"] == ["OwnerId"]
    assert queue_owned["errors"][0]["order"] == ["fields", "message", "statusCode"]
    assert case_ok["success"] == "true"
    assert required["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"


def test_fields_to_null_clears_a_nillable_field(served_org):
    sf = connect(served_org)
    [account] = _accounts(sf, 1)
    assert sf.Account.get(account)["Phone"]
    response = soap.update(served_org, [soap.sobject("Account", account, fields_to_null=("Phone",),
                                                     Industry="Retail & Trade <EMEA>")])
    assert soap.as_dict(soap.results(response)[0])["success"] == "true"
    record = sf.Account.get(account)
    assert record["Phone"] is None and record["Industry"] == "Retail & Trade <EMEA>"


def test_response_carries_the_limit_info_header_and_counts_one_api_call(served_org):
    sf = connect(served_org)
    ops = _user(sf, "ops@acme.example")
    before = _used(sf)
    response = soap.update(served_org, [soap.sobject("Account", a, OwnerId=ops) for a in _accounts(sf, 5)])
    root = ET.fromstring(response.content)
    info = root.find(f"{{{soap.ENV}}}Header/{{{soap.PARTNER}}}LimitInfoHeader/{{{soap.PARTNER}}}limitInfo")
    assert info.findtext(f"{{{soap.PARTNER}}}type") == "API REQUESTS"
    assert int(info.findtext(f"{{{soap.PARTNER}}}current")) == before + 2  # the limits read, then this call
    assert _used(sf) == before + 3


def test_invalid_session_is_the_invalid_session_id_fault(served_org):
    response = soap.update(served_org, [soap.sobject("Account", "001000000000001AAA", Name="x")],
                           session_id="00D000000000001!not-a-session")
    assert response.status_code == 500
    assert soap.fault(response) == {
        "faultcode": "sf:INVALID_SESSION_ID",
        "faultstring": "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session",
        "exceptionCode": "INVALID_SESSION_ID",
        "exceptionMessage": "Invalid Session ID found in SessionHeader: Illegal Session",
        "type": "sf:UnexpectedErrorFault"}


def test_more_than_200_sobjects_is_the_exceeded_id_limit_fault_and_nothing_is_written(served_org):
    sf = connect(served_org)
    ops = _user(sf, "ops@acme.example")
    accounts = _accounts(sf, 201)
    response = soap.update(served_org, [soap.sobject("Account", a, OwnerId=ops) for a in accounts])
    assert response.status_code == 500
    found = soap.fault(response)
    assert found["faultcode"] == "sf:EXCEEDED_ID_LIMIT"
    assert found["faultstring"] == ("EXCEEDED_ID_LIMIT: record limit reached. cannot submit more than 200 records "
                                    "into this call")
    assert sf.query(f"SELECT COUNT() FROM Account WHERE OwnerId = '{ops}'")["totalSize"] == 0


def test_unknown_type_and_unknown_field_are_faults(served_org):
    sf = connect(served_org)
    [account] = _accounts(sf, 1)
    bad_type = soap.fault(soap.update(served_org, [soap.sobject("Acount", account, Name="x")]))
    assert (bad_type["faultcode"], bad_type["type"]) == ("sf:INVALID_TYPE", "sf:InvalidSObjectFault")
    bad_field = soap.fault(soap.update(served_org, [soap.sobject("Account", account, Nmae="x")]))
    assert (bad_field["faultcode"], bad_field["type"]) == ("sf:INVALID_FIELD", "sf:InvalidFieldFault")
    assert bad_field["exceptionMessage"].startswith("No such column 'Nmae' on entity 'Account'.")


def test_an_sobject_without_id_fails_alone(served_org):
    sf = connect(served_org)
    [account] = _accounts(sf, 1)
    response = soap.update(served_org, [soap.sobject("Account", "", Name="x"),
                                        soap.sobject("Account", account, Name="Kept Name")])
    missing, ok = (soap.as_dict(r) for r in soap.results(response))
    assert missing["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    assert missing["errors"][0]["message"] == "Id not specified in an update call"
    assert ok["success"] == "true"


def test_all_or_none_header_rolls_back_every_record(served_org):
    sf = connect(served_org)
    ops, inactive = _user(sf, "ops@acme.example"), _user(sf, "contractor07@acme.example")
    a, b = _accounts(sf, 2)
    header = "<urn:AllOrNoneHeader><urn:allOrNone>true</urn:allOrNone></urn:AllOrNoneHeader>"
    response = soap.update(served_org, [soap.sobject("Account", a, OwnerId=ops),
                                        soap.sobject("Account", b, OwnerId=inactive)], header)
    rolled, refused = (soap.as_dict(r) for r in soap.results(response))
    assert rolled["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert refused["errors"][0]["statusCode"] == "INACTIVE_OWNER_OR_USER"
    assert sf.Account.get(a)["OwnerId"] != ops


def test_assignment_rules_run_only_with_the_assignment_rule_header(served_org):
    sf = connect(served_org)
    served_org.store.configure(assignment_rule_queues={"Case": "Support_Queue"})
    ops = _user(sf, "ops@acme.example")
    queue = sf.query("SELECT Id FROM Group WHERE DeveloperName = 'Support_Queue'")["records"][0]["Id"]
    first, second = (r["Id"] for r in sf.query(f"SELECT Id FROM Case WHERE OwnerId != '{queue}' LIMIT 2")["records"])
    soap.update(served_org, [soap.sobject("Case", first, OwnerId=ops)])
    assert sf.Case.get(first)["OwnerId"] == ops  # SOAP's default: no assignment rule
    rule = "<urn:AssignmentRuleHeader><urn:useDefaultRule>true</urn:useDefaultRule></urn:AssignmentRuleHeader>"
    soap.update(served_org, [soap.sobject("Case", second, OwnerId=ops)], rule)
    assert sf.Case.get(second)["OwnerId"] == queue


def test_injected_faults_answer_as_soap(served_org):
    sf = connect(served_org)
    ops = _user(sf, "ops@acme.example")
    a, b = _accounts(sf, 2)
    served_org.faults.configure(fail_next=["REQUEST_LIMIT_EXCEEDED", "UNABLE_TO_LOCK_ROW"])
    limit = soap.update(served_org, [soap.sobject("Account", a, OwnerId=ops)])
    assert limit.status_code == 500 and soap.fault(limit)["faultcode"] == "sf:REQUEST_LIMIT_EXCEEDED"
    locked = soap.update(served_org, [soap.sobject("Account", a, OwnerId=ops), soap.sobject("Account", b, OwnerId=ops)])
    assert [soap.as_dict(r)["errors"][0]["statusCode"] for r in soap.results(locked)] == ["UNABLE_TO_LOCK_ROW"] * 2
    assert sf.Account.get(a)["OwnerId"] != ops


def test_exhausted_daily_limit_is_the_request_limit_exceeded_fault(served_org):
    sf = connect(served_org)
    [account] = _accounts(sf, 1)
    served_org.store.set_api_usage(served_org.store.api_limit())
    found = soap.fault(soap.update(served_org, [soap.sobject("Account", account, Name="x")]))
    assert found["faultstring"] == "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded."


def test_the_server_url_with_the_org_id_answers_too(served_org):
    sf = connect(served_org)
    [account] = _accounts(sf, 1)
    body = soap.envelope(served_org.access_token, [soap.sobject("Account", account, Name="Via Server URL")])
    response = soap.post(served_org, body, path=f"/services/Soap/u/{API_VERSION}/{served_org.org_id[:15]}")
    assert soap.as_dict(soap.results(response)[0])["success"] == "true"


def test_soap_login_still_answers_on_the_same_endpoint(served_org):
    body = ('<?xml version="1.0" encoding="utf-8" ?><env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">'
            "<env:Header><urn:CallOptions><urn:client>test</urn:client></urn:CallOptions></env:Header>"
            "<env:Body><n1:login xmlns:n1=\"urn:partner.soap.sforce.com\"><n1:username>ops@acme.example"
            f"</n1:username><n1:password>{DEMO_PASSWORD}{DEMO_SECURITY_TOKEN}</n1:password></n1:login>"
            "</env:Body></env:Envelope>")
    response = soap.post(served_org, body, session=trusting_session(served_org.ca_bundle))
    assert response.status_code == 200
    session_id = ET.fromstring(response.content).findtext(f".//{{{soap.PARTNER}}}sessionId")
    sf = connect(served_org)
    [account] = _accounts(sf, 1)
    update = soap.update(served_org, [soap.sobject("Account", account, Name="By Ops")], session_id=session_id)
    assert soap.as_dict(soap.results(update)[0])["success"] == "true"
