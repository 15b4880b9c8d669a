"""Retry policy: backoff with jitter on transient errors only, one re-login, a daily-limit stop."""

from __future__ import annotations

import random

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from deprovision.errors import OrgError
from deprovision.org.retry import Kind, RetryHooks, RetryPolicy, call_with_retry, classify

URL = "https://org.example/services/data/v62.0/query/"


def sf_error(cls, status: int, code: str, message: str = "boom"):
    return cls(URL, status, "query", [{"message": message, "errorCode": code}])


class Flaky:
    """A callable that raises the given errors in turn, then returns ``value``."""

    def __init__(self, *errors: Exception, value: object = "ok") -> None:
        self.errors = list(errors)
        self.calls = 0
        self.value = value

    def __call__(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.value


def policy(sleeps: list[float], attempts: int = 5) -> RetryPolicy:
    return RetryPolicy(max_attempts=attempts, base_delay=0.01, sleep=sleeps.append, rng=random.Random(1))


@pytest.mark.parametrize("exc, kind", [
    (sf_error(SalesforceGeneralError, 503, "SERVER_UNAVAILABLE"), Kind.TRANSIENT),
    (sf_error(SalesforceGeneralError, 500, "UNKNOWN_EXCEPTION"), Kind.TRANSIENT),
    (sf_error(SalesforceMalformedRequest, 400, "UNABLE_TO_LOCK_ROW"), Kind.TRANSIENT),
    (sf_error(SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED"), Kind.LIMIT),
    (sf_error(SalesforceExpiredSession, 401, "INVALID_SESSION_ID"), Kind.EXPIRED),
    (sf_error(SalesforceMalformedRequest, 400, "INVALID_FIELD"), Kind.PERMANENT),
    (sf_error(SalesforceMalformedRequest, 400, "INACTIVE_OWNER_OR_USER"), Kind.PERMANENT),
    (sf_error(SalesforceRefusedRequest, 403, "INSUFFICIENT_ACCESS"), Kind.PERMANENT),
    (requests.exceptions.ConnectTimeout(), Kind.TRANSIENT),
    (requests.exceptions.ReadTimeout(), Kind.TIMEOUT),
    (requests.exceptions.SSLError(), Kind.PERMANENT),
    (ValueError("bug"), Kind.PERMANENT),
])
def test_errors_are_classified(exc: Exception, kind: Kind) -> None:
    assert classify(exc) is kind


def test_transient_errors_are_retried_with_growing_waits() -> None:
    sleeps: list[float] = []
    fn = Flaky(sf_error(SalesforceGeneralError, 503, "SERVER_UNAVAILABLE"),
               sf_error(SalesforceMalformedRequest, 400, "UNABLE_TO_LOCK_ROW"),
               sf_error(SalesforceGeneralError, 500, "UNKNOWN_EXCEPTION"))
    assert call_with_retry(fn, "query", policy(sleeps)) == "ok"
    assert fn.calls == 4
    assert len(sleeps) == 3
    assert sleeps[0] < sleeps[1] < sleeps[2]
    for attempt, wait in enumerate(sleeps, start=1):  # base * 2^(n-1), plus up to 50 % jitter
        assert 0.01 * 2 ** (attempt - 1) <= wait <= 0.015 * 2 ** (attempt - 1)


def test_permanent_errors_are_not_retried_and_name_what_failed() -> None:
    sleeps: list[float] = []
    fn = Flaky(sf_error(SalesforceMalformedRequest, 400, "INVALID_FIELD", "No such column 'Foo' on entity 'User'"))
    with pytest.raises(OrgError) as err:
        call_with_retry(fn, "query", policy(sleeps))
    assert fn.calls == 1 and sleeps == []
    assert err.value.message == "query failed: INVALID_FIELD: No such column 'Foo' on entity 'User'"
    assert err.value.error_code == "INVALID_FIELD"
    assert err.value.status == 400


def test_retries_stop_after_max_attempts() -> None:
    sleeps: list[float] = []
    fn = Flaky(*[sf_error(SalesforceGeneralError, 503, "SERVER_UNAVAILABLE") for _ in range(10)])
    with pytest.raises(OrgError) as err:
        call_with_retry(fn, "update User 005x", policy(sleeps, attempts=3), record_id="005x")
    assert fn.calls == 3 and len(sleeps) == 2
    assert err.value.status == 503 and err.value.record_id == "005x"
    assert err.value.details == ["gave up after 3 attempts"]


def test_limit_exceeded_waits_longer_than_a_transient_error() -> None:
    p = RetryPolicy(base_delay=1.0, jitter=0.0)
    assert p.delay(1, Kind.LIMIT) == 8.0 * p.delay(1, Kind.TRANSIENT)
    assert p.delay(10, Kind.TRANSIENT) == p.max_delay


def test_limit_exceeded_consults_the_daily_limit_and_stops_when_exhausted() -> None:
    sleeps: list[float] = []
    checked: list[int] = []

    def exhausted() -> None:
        checked.append(1)
        raise OrgError("the org's daily API request limit is exhausted", error_code="REQUEST_LIMIT_EXCEEDED")

    fn = Flaky(sf_error(SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."))
    with pytest.raises(OrgError, match="daily API request limit is exhausted"):
        call_with_retry(fn, "query", policy(sleeps), RetryHooks(check_limit=exhausted))
    assert fn.calls == 1 and checked == [1] and sleeps == []


def test_expired_session_gets_exactly_one_relogin() -> None:
    logins: list[int] = []
    fn = Flaky(sf_error(SalesforceExpiredSession, 401, "INVALID_SESSION_ID"))
    assert call_with_retry(fn, "query", policy([]), RetryHooks(relogin=lambda: logins.append(1))) == "ok"
    assert logins == [1] and fn.calls == 2


def test_a_session_that_expires_again_after_relogin_is_final() -> None:
    logins: list[int] = []
    fn = Flaky(*[sf_error(SalesforceExpiredSession, 401, "INVALID_SESSION_ID") for _ in range(5)])
    with pytest.raises(OrgError, match="expired again right after a new login") as err:
        call_with_retry(fn, "query", policy([]), RetryHooks(relogin=lambda: logins.append(1)))
    assert logins == [1] and fn.calls == 2
    assert err.value.error_code == "INVALID_SESSION_ID" and err.value.status == 401


def test_expired_direct_token_is_not_retried() -> None:
    fn = Flaky(sf_error(SalesforceExpiredSession, 401, "INVALID_SESSION_ID"))
    with pytest.raises(OrgError, match="access token is no longer valid"):
        call_with_retry(fn, "query", policy([]))
    assert fn.calls == 1


def test_a_timeout_is_retried_only_when_repeating_is_safe() -> None:
    fn = Flaky(requests.exceptions.ReadTimeout())
    assert call_with_retry(fn, "update", policy([]), idempotent=True) == "ok"
    fn = Flaky(requests.exceptions.ReadTimeout())
    with pytest.raises(OrgError, match="create records failed: the org did not answer in time"):
        call_with_retry(fn, "create records", policy([]), idempotent=False)
    assert fn.calls == 1


def test_tokens_never_reach_a_message() -> None:
    token = "00D000000000001AAA!AQ8AQKx.secret_part"
    fn = Flaky(SalesforceMalformedRequest(URL, 400, "query", [{"message": f"bad {token}", "errorCode": "X"}]))
    with pytest.raises(OrgError) as err:
        call_with_retry(fn, "query", policy([]))
    assert token not in err.value.message and "[REDACTED]" in err.value.message


def test_the_backoff_base_is_configurable_from_the_environment() -> None:
    policy = RetryPolicy.from_env({"DEPROVISION_RETRY_BASE_DELAY": "0.25", "DEPROVISION_RETRY_ATTEMPTS": "2"})
    assert policy.base_delay == 0.25 and policy.max_attempts == 2
    assert RetryPolicy.from_env({}).base_delay == RetryPolicy().base_delay
