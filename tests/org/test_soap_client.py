"""``OrgClient.soap_update`` (``deprovision.org.soap``) against served local orgs: SaveResults in order, the
OwnerChangeOptions that keep teams, faults as ``OrgError``, retries, API-call accounting."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from deprovision.cli.common import OrgOptions
from deprovision.errors import OrgError
from deprovision.localorg.server import LocalOrgServer
from deprovision.org import soap
from deprovision.org.client import OrgClient
from deprovision.org.connection import open_client
from deprovision.org.retry import RetryPolicy


@pytest.fixture()
def demo(served_org: LocalOrgServer, fast_retry: RetryPolicy, tmp_path: Path):
    options = OrgOptions(instance_url=served_org.instance_url, access_token=served_org.access_token,
                         ca_bundle=served_org.ca_bundle)
    with open_client(options, tmp_path, retry=fast_retry, bulk_poll_seconds=0) as c:
        yield c


def _one(client: OrgClient, soql: str) -> str:
    return next(client.query(soql))["Id"]


def _account_with_team(client: OrgClient, not_owned_by: str) -> str:
    for row in client.query("SELECT AccountId FROM AccountTeamMember ORDER BY AccountId"):
        account = next(client.query(f"SELECT Id, OwnerId FROM Account WHERE Id = '{row['AccountId']}'"))
        if account["OwnerId"] != not_owned_by:
            return account["Id"]
    raise AssertionError("no account with a team")


def _team(client: OrgClient, account: str) -> int:
    return len(list(client.query(f"SELECT Id FROM AccountTeamMember WHERE AccountId = '{account}'")))


def test_soap_update_with_keep_account_team_keeps_the_team(demo: OrgClient) -> None:
    ops = _one(demo, "SELECT Id FROM User WHERE Username = 'ops@acme.example'")
    account = _account_with_team(demo, ops)
    before = _team(demo, account)
    calls = demo.api_calls
    [result] = demo.soap_update([{"attributes": {"type": "Account"}, "id": account, "OwnerId": ops}],
                                keep_account_team=True)
    assert (result.id, result.success) == (account, True)
    assert demo.api_calls == calls + 1  # the SOAP call counts like a REST call
    assert demo.limit_info is not None  # read from the LimitInfoHeader
    assert _team(demo, account) == before
    assert next(demo.query(f"SELECT OwnerId FROM Account WHERE Id = '{account}'"))["OwnerId"] == ops


def test_soap_update_without_options_deletes_the_team_as_salesforce_does(demo: OrgClient) -> None:
    ops = _one(demo, "SELECT Id FROM User WHERE Username = 'ops@acme.example'")
    account = _account_with_team(demo, ops)
    [result] = demo.soap_update([{"attributes": {"type": "Account"}, "Id": account, "OwnerId": ops}])
    assert result.success and _team(demo, account) == 0


def test_per_record_errors_come_back_in_input_order(demo: OrgClient) -> None:
    ops = _one(demo, "SELECT Id FROM User WHERE Username = 'ops@acme.example'")
    inactive = _one(demo, "SELECT Id FROM User WHERE Username = 'contractor07@acme.example'")
    a, b, c = (r["Id"] for r in demo.query("SELECT Id FROM Account ORDER BY Id LIMIT 3"))
    results = demo.soap_update([{"attributes": {"type": "Account"}, "id": i, "OwnerId": o}
                                for i, o in ((a, ops), (b, inactive), (c, ops))], keep_account_team=True)
    assert [(r.id, r.success, r.error_code) for r in results] == [
        (a, True, None), (b, False, "INACTIVE_OWNER_OR_USER"), (c, True, None)]
    assert results[1].message == "operation performed with inactive User"


def test_none_is_sent_as_fields_to_null(client: OrgClient) -> None:
    account = next(client.query("SELECT Id FROM Account LIMIT 1"))["Id"]
    client.update("Account", account, {"Phone": "+1 212 555 0100"})
    [result] = client.soap_update([{"attributes": {"type": "Account"}, "id": account, "Phone": None}])
    assert result.success
    assert next(client.query(f"SELECT Phone FROM Account WHERE Id = '{account}'"))["Phone"] is None


def test_more_than_200_records_are_refused_before_any_call(client: OrgClient) -> None:
    calls = client.api_calls
    records = [{"attributes": {"type": "Account"}, "id": f"001{n:015d}"} for n in range(201)]
    with pytest.raises(ValueError, match="at most 200"):
        client.soap_update(records)
    assert client.api_calls == calls
    assert client.soap_update([]) == []


def test_names_that_are_not_api_names_are_refused(client: OrgClient) -> None:
    with pytest.raises(ValueError, match="not an API name"):
        client.soap_update([{"attributes": {"type": "Account"}, "id": "001000000000001AAA",
                             "Name><x": "hostile"}])
    with pytest.raises(ValueError, match="without id"):
        client.soap_update([{"attributes": {"type": "Account"}, "Name": "no id"}])


def test_values_are_escaped_by_the_xml_builder() -> None:
    body = soap.update_envelope("00Dx!secret", [{"attributes": {"type": "Account"}, "id": "001000000000001AAA",
                                                 "Name": "</urn1:Name><urn1:OwnerId>005</urn1:OwnerId>"}],
                                keep_account_team=True)
    sobject = ET.fromstring(body).find(f".//{{{soap.PARTNER}}}sObjects")
    assert [child.tag.split("}")[1] for child in sobject] == ["type", "Id", "Name"]
    assert sobject.findtext(f"{{{soap.SOBJECT}}}Name") == "</urn1:Name><urn1:OwnerId>005</urn1:OwnerId>"
    options = ET.fromstring(body).findall(f".//{{{soap.PARTNER}}}options")
    assert [(o.findtext(f"{{{soap.PARTNER}}}type"), o.findtext(f"{{{soap.PARTNER}}}execute")) for o in options] == [
        ("KeepAccountTeam", "true"), ("KeepSalesTeam", "false")]


def test_an_invalid_session_is_an_org_error_without_the_session_id(org_server: LocalOrgServer,
                                                                    fast_retry: RetryPolicy, tmp_path: Path) -> None:
    token = org_server.access_token[:-4] + "nope"
    options = OrgOptions(instance_url=org_server.instance_url, access_token=token, ca_bundle=org_server.ca_bundle)
    with open_client(options, tmp_path, retry=fast_retry) as c:
        with pytest.raises(OrgError) as caught:
            c.soap_update([{"attributes": {"type": "Account"}, "id": "001000000000001AAA", "Name": "x"}])
    assert caught.value.error_code == "INVALID_SESSION_ID"
    assert token not in caught.value.message and token[:15] not in str(caught.value.details)


def test_a_fault_keeps_salesforces_code(client: OrgClient) -> None:
    account = next(client.query("SELECT Id FROM Account LIMIT 1"))["Id"]
    with pytest.raises(OrgError) as caught:
        client.soap_update([{"attributes": {"type": "Account"}, "id": account, "NoSuchField__c": "x"}])
    assert caught.value.error_code == "INVALID_FIELD"
    assert "No such column 'NoSuchField__c' on entity 'Account'" in caught.value.message


def test_transient_faults_are_retried(client: OrgClient, org_server: LocalOrgServer, sleeps: list[float]) -> None:
    a, b = (r["Id"] for r in client.query("SELECT Id FROM Account ORDER BY Id LIMIT 2"))
    org_server.faults.configure(fail_next=["SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW"])
    retries = client.retries
    results = client.soap_update([{"attributes": {"type": "Account"}, "id": a, "Name": "Retried A"},
                                  {"attributes": {"type": "Account"}, "id": b, "Name": "Retried B"}])
    assert [r.success for r in results] == [True, True]
    assert client.retries == retries + 3  # the unavailable call, then both locked records
    assert len(sleeps) == 2
    names = {r["Id"]: r["Name"] for r in client.query(f"SELECT Id, Name FROM Account WHERE Id IN ('{a}', '{b}')")}
    assert names == {a: "Retried A", b: "Retried B"}


def test_a_persistent_limit_fault_stops_when_the_daily_limit_is_gone(client: OrgClient,
                                                                      org_server: LocalOrgServer) -> None:
    account = next(client.query("SELECT Id FROM Account LIMIT 1"))["Id"]
    org_server.store.set_api_usage(org_server.store.api_limit())
    try:
        with pytest.raises(OrgError) as caught:
            client.soap_update([{"attributes": {"type": "Account"}, "id": account, "Name": "x"}])
    finally:
        org_server.store.set_api_usage(0)
    assert caught.value.error_code == "REQUEST_LIMIT_EXCEEDED"
