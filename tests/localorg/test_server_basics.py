"""The local org server on the wire: TLS, versions, resource list, auth, unknown endpoints, accounting."""

from __future__ import annotations

import json
import re
import ssl
import urllib.request

import pytest
import requests
from localorg_support import connect, trusting_session
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceResourceNotFound

from deprovision.localorg.server import LocalOrgServer


def test_certificate_names_127_0_0_1_and_is_reused_across_restarts(tmp_path):
    from cryptography import x509

    first = LocalOrgServer(tmp_path / "org.db", seed="empty").start()
    try:
        pem = open(first.ca_bundle, "rb").read()
        context = ssl.create_default_context(cafile=first.ca_bundle)
        with urllib.request.urlopen(first.instance_url + "/services/data", context=context) as response:
            assert response.status == 200
    finally:
        first.stop()
    cert = x509.load_pem_x509_certificate(pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    second = LocalOrgServer(tmp_path / "org.db").start()
    try:
        assert open(second.ca_bundle, "rb").read() == pem
    finally:
        second.stop()


def test_untrusted_client_is_refused(empty_org):
    session = requests.Session()
    session.trust_env = False
    with pytest.raises(requests.exceptions.SSLError):
        session.get(empty_org.instance_url + "/services/data")


def test_versions_list_is_not_counted_and_has_no_limit_header(empty_org):
    session = trusting_session(empty_org.ca_bundle)
    response = session.get(empty_org.instance_url + "/services/data")
    assert response.status_code == 200
    assert "Sforce-Limit-Info" not in response.headers
    versions = response.json()
    assert versions[0] == {"label": "Winter '21", "url": "/services/data/v50.0", "version": "50.0"}
    assert versions[-1] == {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"}
    assert len(versions) == 13
    assert empty_org.store.api_usage()[0] == 0


def test_version_resource_list(empty_org):
    """The keys of the REST API Developer Guide's "Resources by Version" example, identity an absolute URL."""
    sf = connect(empty_org)
    resources = sf.restful("", method="GET")
    assert resources["sobjects"] == "/services/data/v62.0/sobjects"
    assert resources["query"] == "/services/data/v62.0/query"
    assert {"tooling", "metadata", "search", "recent", "jobs", "connect", "limits", "composite"} <= set(resources)
    identity = resources["identity"]
    assert identity.startswith(f"{empty_org.instance_url}/id/{empty_org.org_id}/005")
    answer = sf.session.get(identity, headers=sf.headers)
    assert answer.status_code == 200 and answer.json()["user_id"] == identity.rsplit("/", 1)[1]
    for name in ("sobjects", "limits"):  # served ones answer (query, composite, jobs need more than a GET)
        response = sf.session.get(empty_org.instance_url + resources[name], headers=sf.headers)
        assert response.status_code == 200, name
    unserved = sf.session.get(empty_org.instance_url + resources["tooling"], headers=sf.headers)
    assert unserved.status_code == 404  # loudly: never a silent success
    assert unserved.json() == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]


@pytest.mark.parametrize("version", ["49.0", "63.0", "59.1"])
def test_unsupported_version_is_not_found(empty_org, version):
    session = trusting_session(empty_org.ca_bundle)
    response = session.get(f"{empty_org.instance_url}/services/data/v{version}/limits",
                           headers={"Authorization": f"Bearer {empty_org.access_token}"})
    assert response.status_code == 404
    assert response.json() == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]


@pytest.mark.parametrize("version", ["50.0", "55.0", "62.0"])
def test_every_supported_version_answers(empty_org, version):
    sf = connect(empty_org, version=version)
    assert sf.query("SELECT Id FROM Organization")["totalSize"] == 1


def test_unknown_endpoint_answers_loudly(empty_org):
    sf = connect(empty_org)
    with pytest.raises(SalesforceResourceNotFound) as raised:
        sf.restful("no/such/resource")
    assert raised.value.content == [{"message": "The requested resource does not exist",
                                     "errorCode": "NOT_FOUND"}]
    session = trusting_session(empty_org.ca_bundle)
    assert session.get(empty_org.instance_url + "/services/apexrest/x").status_code == 404


def test_wrong_method_is_405(empty_org):
    sf = connect(empty_org)
    response = sf.session.put(empty_org.instance_url + "/services/data/v62.0/limits", headers=sf.headers)
    assert response.status_code == 405
    assert response.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Bearer 00D000000000001!revoked", "Basic abc"])
def test_missing_or_bad_session_is_401_with_a_json_list(empty_org, header):
    session = trusting_session(empty_org.ca_bundle)
    headers = {"Authorization": header} if header else {}
    response = session.get(empty_org.instance_url + "/services/data/v62.0/query?q=SELECT+Id+FROM+User",
                           headers=headers)
    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    assert "Sforce-Limit-Info" not in response.headers


def test_expired_session_raises_in_simple_salesforce(empty_org):
    from simple_salesforce import Salesforce

    sf = Salesforce(instance_url=empty_org.instance_url, session_id="00D000000000001!expired",
                    session=trusting_session(empty_org.ca_bundle))
    with pytest.raises(SalesforceExpiredSession) as raised:
        sf.query("SELECT Id FROM User")
    assert raised.value.content[0]["errorCode"] == "INVALID_SESSION_ID"


def test_limit_info_header_is_parsed_into_api_usage(empty_org):
    sf = connect(empty_org)
    sf.query("SELECT Id FROM User")
    first = sf.api_usage["api-usage"]
    sf.query("SELECT Id FROM User")
    second = sf.api_usage["api-usage"]
    assert second.used == first.used + 1
    assert second.total == first.total == empty_org.store.api_usage()[1]


def test_limits_resource_reports_daily_requests(empty_org):
    sf = connect(empty_org)
    limits = sf.limits()
    used, limit = empty_org.store.api_usage()
    assert limits["DailyApiRequests"] == {"Max": limit, "Remaining": limit - used}
    for key in ("DailyBulkV2QueryJobs", "DataStorageMB", "DailyBulkApiBatches"):
        assert set(limits[key]) == {"Max", "Remaining"}


def test_limit_exhaustion_refuses_every_call_with_403(empty_org):
    from simple_salesforce.exceptions import SalesforceRefusedRequest

    empty_org.store.configure(daily_api_limit=5)
    empty_org.store.set_api_usage(5)
    sf = connect(empty_org)
    with pytest.raises(SalesforceRefusedRequest) as raised:
        sf.query("SELECT Id FROM User")
    assert raised.value.status == 403
    assert raised.value.content == [{"message": "TotalRequests Limit exceeded.",
                                     "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    with pytest.raises(SalesforceRefusedRequest):
        sf.Account.create({"Name": "not written"})
    assert empty_org.store.query("SELECT COUNT() FROM Account").total_size == 0


def test_keep_alive_reuses_one_connection(empty_org):
    sf = connect(empty_org)
    for _ in range(5):
        sf.query("SELECT Id FROM User")
    pool = sf.session.get_adapter(empty_org.instance_url).poolmanager
    connections = [p for p in pool.pools._container.values()]
    assert len(connections) == 1
    assert connections[0].num_connections == 1


def test_http_method_override(empty_org):
    sf = connect(empty_org)
    created = sf.Account.create({"Name": "Before"})
    response = sf.session.post(f"{empty_org.instance_url}/services/data/v62.0/sobjects/Account/{created['id']}"
                               "?_HttpMethod=PATCH", headers=sf.headers, data=json.dumps({"Name": "After"}))
    assert response.status_code == 204
    assert sf.Account.get(created["id"])["Name"] == "After"


def test_access_token_is_shaped_like_a_salesforce_session_id(empty_org):
    assert re.fullmatch(r"(00D\w{12,15})![.\w]*", empty_org.access_token)
