"""Injected latency and transient faults: reproducible, before the store is touched, changeable live."""

from __future__ import annotations

import time

import pytest
from localorg_support import connect, trusting_session
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from deprovision.localorg.faults import FaultInjector
from deprovision.localorg.server import LocalOrgServer


def _outcomes(org, n: int) -> list[int]:
    sf = connect(org)
    out = []
    for _ in range(n):
        response = sf.session.get(f"{sf.base_url}limits", headers=sf.headers)
        out.append(response.status_code)
    return out


def test_same_seed_same_faults(tmp_path, localorg_cert_dir):
    runs = []
    for i in range(2):
        with LocalOrgServer(tmp_path / f"org{i}.db", seed="empty", fail_rate=0.3, fault_seed=7,
                            cert_dir=localorg_cert_dir) as org:
            runs.append(_outcomes(org, 40))
    assert runs[0] == runs[1]
    assert set(runs[0]) <= {200, 400, 403, 503} and len(set(runs[0]) - {200}) >= 2
    assert 5 <= sum(code != 200 for code in runs[0]) <= 20


def test_fault_kinds_have_salesforce_bodies():
    injector = FaultInjector(fail_rate=0.0)
    injector.configure(fail_next=["SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW", "REQUEST_LIMIT_EXCEEDED"])
    unavailable, lock, limit = (injector.draw("001000000000001AAA") for _ in range(3))
    assert unavailable.status == 503 and unavailable.error_code == "SERVER_UNAVAILABLE"
    assert lock.status == 400 and lock.body() == [{
        "message": "unable to obtain exclusive access to this record or 1 records: 001000000000001AAA",
        "errorCode": "UNABLE_TO_LOCK_ROW"}]
    assert limit.status == 403 and limit.body() == [{"message": "TotalRequests Limit exceeded.",
                                                     "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert injector.draw() is None
    with pytest.raises(ValueError):
        injector.configure(fail_rate=2)
    with pytest.raises(ValueError):
        injector.configure(fail_next=["NOPE"])


def test_a_faulted_write_did_not_happen(empty_org):
    sf = connect(empty_org)
    account = sf.Account.create({"Name": "Before"})["id"]
    admin = trusting_session(empty_org.ca_bundle)
    admin.post(empty_org.instance_url + "/_localorg/faults", json={"fail_next": ["UNABLE_TO_LOCK_ROW"]})
    used = empty_org.store.api_usage()[0]
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Account.update(account, {"Name": "After"})
    assert raised.value.content[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    assert raised.value.content[0]["message"].endswith(account)
    assert sf.Account.get(account)["Name"] == "Before"
    assert empty_org.store.api_usage()[0] == used + 1  # the faulted call was not counted, the get was
    sf.Account.update(account, {"Name": "After"})
    assert sf.Account.get(account)["Name"] == "After"


def test_server_unavailable_and_limit_faults_map_to_client_exceptions(empty_org):
    sf = connect(empty_org)
    empty_org.faults.configure(fail_next=["SERVER_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED"])
    with pytest.raises(SalesforceGeneralError) as raised:
        sf.query("SELECT Id FROM User")
    assert raised.value.status == 503
    with pytest.raises(SalesforceRefusedRequest):
        sf.query("SELECT Id FROM User")
    assert sf.query("SELECT Id FROM User")["totalSize"] == 1


def test_versions_list_and_oauth_are_never_faulted(empty_org):
    empty_org.faults.configure(fail_rate=1.0)
    session = trusting_session(empty_org.ca_bundle)
    assert session.get(empty_org.instance_url + "/services/data").status_code == 200
    revoke = session.post(empty_org.instance_url + "/services/oauth2/revoke", data={"token": "unknown"})
    assert revoke.status_code == 400 and revoke.json()["error"] == "unsupported_token_type"
    assert session.get(empty_org.instance_url + "/services/data/v62.0/limits",
                       headers={"Authorization": f"Bearer {empty_org.access_token}"}).status_code != 200


def test_latency_is_added_per_request(empty_org):
    sf = connect(empty_org)
    trusting_session(empty_org.ca_bundle).post(empty_org.instance_url + "/_localorg/faults",
                                               json={"latency_ms": 150})
    started = time.monotonic()
    sf.query("SELECT Id FROM User")
    assert time.monotonic() - started >= 0.15


def test_admin_endpoints_read_and_change_settings(empty_org):
    session = trusting_session(empty_org.ca_bundle)
    base = empty_org.instance_url + "/_localorg"
    assert session.get(base + "/faults").json()["fail_rate"] == 0.0
    bad = session.post(base + "/faults", json={"fail_rate": 5})
    assert bad.status_code == 400
    changed = session.post(base + "/settings", json={"daily_api_limit": 10, "api_usage": 10}).json()
    assert changed["daily_api_limit"] == 10 and changed["api_usage"] == 10
    sf = connect(empty_org)
    with pytest.raises(SalesforceRefusedRequest):
        sf.query("SELECT Id FROM User")
    assert session.post(base + "/settings", json={"no_such_setting": 1}).status_code == 400
