"""Retries and the re-login guard against a served local org with injected faults."""

from __future__ import annotations

from pathlib import Path

import pytest

from deprovision.cli.common import OrgOptions
from deprovision.errors import OrgError
from deprovision.localorg.server import LocalOrgServer
from deprovision.org.client import OrgClient
from deprovision.org.connection import open_client
from deprovision.org.retry import RetryPolicy
from deprovision.org.routing import routed_session

from .test_auth_local import password_config


def test_transient_faults_are_retried_until_the_query_succeeds(client: OrgClient, org_server: LocalOrgServer,
                                                                sleeps: list[float]) -> None:
    org_server.faults.configure(fail_next=["SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW"])
    before = client.api_calls
    rows = list(client.query("SELECT Id FROM Organization"))
    assert len(rows) == 1
    assert client.api_calls - before == 3
    assert len(sleeps) == 2 and sleeps[0] < sleeps[1]
    assert client.retries == 2


def test_a_write_is_retried_after_a_lock_error(client: OrgClient, org_server: LocalOrgServer,
                                               sleeps: list[float]) -> None:
    account = next(client.query("SELECT Id FROM Account LIMIT 1"))["Id"]
    org_server.faults.configure(fail_next=["UNABLE_TO_LOCK_ROW"])
    results = client.collection_update([{"attributes": {"type": "Account"}, "Id": account, "BillingCity": "x"}])
    assert results[0].success and len(sleeps) == 1


def test_persistent_faults_give_up_with_the_error_code(client: OrgClient, org_server: LocalOrgServer,
                                                       sleeps: list[float]) -> None:
    org_server.faults.configure(fail_next=["SERVER_UNAVAILABLE"] * 10)
    with pytest.raises(OrgError) as err:
        list(client.query("SELECT Id FROM Organization"))
    assert err.value.error_code == "SERVER_UNAVAILABLE" and err.value.status == 503
    assert "gave up after 4 attempts" in err.value.details
    assert len(sleeps) == 3


def test_request_limit_exceeded_waits_longer_and_retries(client: OrgClient, org_server: LocalOrgServer,
                                                         sleeps: list[float]) -> None:
    org_server.faults.configure(fail_next=["REQUEST_LIMIT_EXCEEDED"])
    assert len(list(client.query("SELECT Id FROM Organization"))) == 1
    assert len(sleeps) == 1 and sleeps[0] >= 8 * 0.001


def test_an_exhausted_daily_limit_stops_at_once(client: OrgClient, org_server: LocalOrgServer,
                                                sleeps: list[float]) -> None:
    org_server.store.configure(daily_api_limit=100)
    org_server.store.set_api_usage(100)
    with pytest.raises(OrgError, match="daily API request limit of 100 is exhausted|daily API request limit is"):
        list(client.query("SELECT Id FROM Organization"))
    assert sleeps == []


def test_an_expired_session_is_renewed_by_one_login(org_server: LocalOrgServer, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch, fast_retry: RetryPolicy) -> None:
    password_config(tmp_path, monkeypatch)
    http, adapter = routed_session(org_server.instance_url, org_server.ca_bundle)
    with open_client(OrgOptions(org="local"), tmp_path, session=http, retry=fast_retry) as client:
        org_server.store.configure(token_max_uses=2)
        for _ in range(5):
            assert len(list(client.query("SELECT Id FROM Organization"))) == 1
        assert client.relogins == 2  # 5 queries on tokens good for 2 requests each
        assert adapter.routed == ["login.salesforce.com"] * 3


def test_a_persistent_401_stops_after_exactly_one_relogin(org_server: LocalOrgServer, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          fast_retry: RetryPolicy) -> None:
    password_config(tmp_path, monkeypatch)
    http, adapter = routed_session(org_server.instance_url, org_server.ca_bundle)
    with open_client(OrgOptions(org="local"), tmp_path, session=http, retry=fast_retry) as client:
        org_server.store.configure(token_max_uses=0)
        before = client.api_calls
        with pytest.raises(OrgError, match="expired again right after a new login") as err:
            client.update("Account", "001000000000001AAA", {"BillingCity": "x"})
        assert err.value.error_code == "INVALID_SESSION_ID"
        assert client.relogins == 1
        assert client.api_calls - before == 2  # the call, one login, the call again: no loop
        assert len(adapter.routed) == 2  # the first login and the one re-login


def test_a_direct_token_that_expires_is_reported_not_looped(client: OrgClient, org_server: LocalOrgServer) -> None:
    org_server.store.configure(token_max_uses=0)
    before = client.api_calls
    with pytest.raises(OrgError, match="access token is no longer valid"):
        list(client.query("SELECT Id FROM Organization"))
    assert client.api_calls - before == 1


def test_a_bulk_query_is_restarted_after_a_transient_error(client: OrgClient, org_server: LocalOrgServer,
                                                           sleeps: list[float]) -> None:
    org_server.faults.configure(fail_next=["SERVER_UNAVAILABLE"])
    rows = list(client.bulk_query("SELECT Id FROM Account WHERE Name LIKE 'Acct 00%'"))
    assert len(rows) == 10 and len(sleeps) == 1


def test_a_slow_org_times_out_and_the_read_is_retried(org_server: LocalOrgServer, sleeps: list[float],
                                                      fast_retry: RetryPolicy) -> None:
    from deprovision.org.auth import OrgSession
    from deprovision.org.transport import make_http_session

    http = make_http_session(org_server.ca_bundle, timeout=(2.0, 0.2))
    client = OrgClient(OrgSession(org_server.access_token, org_server.instance_url), http, retry=fast_retry)
    org_server.faults.configure(latency_ms=600)
    with pytest.raises(OrgError, match="query failed: the org did not answer in time") as err:
        list(client.query("SELECT Id FROM Organization"))
    assert err.value.error_code == "TIMEOUT" and len(sleeps) == 3
    org_server.faults.configure(latency_ms=0)
    assert len(list(client.query("SELECT Id FROM Organization"))) == 1


def test_a_bulk_ingest_is_retried_after_a_transient_error(client: OrgClient, org_server: LocalOrgServer,
                                                          sleeps: list[float]) -> None:
    ids = [r["Id"] for r in client.query("SELECT Id FROM Account WHERE Name LIKE 'Acct 01%'")]
    org_server.faults.configure(fail_next=["UNABLE_TO_LOCK_ROW"])
    result = client.bulk_ingest("Account", "update", ["Id", "Phone"], [[i, "+1 555 0111"] for i in ids])
    assert sorted(r.id for r in result.successes) == sorted(ids) and not result.failures
    assert len(sleeps) == 1
