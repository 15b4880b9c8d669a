"""Retry policy: exponential backoff with jitter on transient errors only.

Transient: HTTP 5xx, ``UNABLE_TO_LOCK_ROW``, ``REQUEST_LIMIT_EXCEEDED`` (a longer wait, unless the
daily limit is exhausted), connection failures, and an expired session (renewed by exactly one
re-login when the connection can log in again). Everything else is permanent and raised at once.
"""

from __future__ import annotations

import enum
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import requests
from simple_salesforce.exceptions import SalesforceError

from deprovision.errors import InvalidInputError, OrgError
from deprovision.org.results import first_error, to_org_error

T = TypeVar("T")

# Error codes that name a passing condition; retrying later usually succeeds.
TRANSIENT_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})
LIMIT_CODE = "REQUEST_LIMIT_EXCEEDED"
EXPIRED_CODE = "INVALID_SESSION_ID"


class Kind(enum.Enum):
    """How an error should be handled."""

    PERMANENT = "permanent"
    TRANSIENT = "transient"
    LIMIT = "limit"
    EXPIRED = "expired"
    TIMEOUT = "timeout"  # a request that may have reached the org: safe to repeat only if idempotent


def classify(exc: BaseException) -> Kind:
    """Decide whether ``exc`` is worth retrying, and how."""
    if isinstance(exc, OrgError):
        return Kind.PERMANENT
    if isinstance(exc, requests.exceptions.SSLError):
        return Kind.PERMANENT
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Kind.TRANSIENT  # never reached the org
    if isinstance(exc, requests.exceptions.Timeout | requests.exceptions.ChunkedEncodingError):
        return Kind.TIMEOUT
    if isinstance(exc, requests.exceptions.ConnectionError):
        return Kind.TIMEOUT
    if isinstance(exc, SalesforceError):
        status = getattr(exc, "status", None) or 0
        code, _, _ = first_error(getattr(exc, "content", None))
        if status == 401 and code in (EXPIRED_CODE, None):
            return Kind.EXPIRED
        if code == LIMIT_CODE:
            return Kind.LIMIT
        if code in TRANSIENT_CODES:
            return Kind.TRANSIENT
        if status >= 500:
            return Kind.TRANSIENT
    return Kind.PERMANENT


@dataclass
class RetryPolicy:
    """How often and how long to wait. ``base_delay`` is small in tests, seconds in production."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    limit_factor: float = 8.0  # REQUEST_LIMIT_EXCEEDED waits this many times longer
    jitter: float = 0.5  # up to +50 % random extra
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RetryPolicy:
        """The default policy, tuned by DEPROVISION_RETRY_BASE_DELAY (seconds) and DEPROVISION_RETRY_ATTEMPTS."""
        environ = os.environ if environ is None else environ
        policy = cls()
        try:
            if environ.get("DEPROVISION_RETRY_BASE_DELAY"):
                policy.base_delay = max(0.0, float(environ["DEPROVISION_RETRY_BASE_DELAY"]))
            if environ.get("DEPROVISION_RETRY_ATTEMPTS"):
                policy.max_attempts = max(1, int(environ["DEPROVISION_RETRY_ATTEMPTS"]))
        except ValueError:
            raise InvalidInputError("DEPROVISION_RETRY_BASE_DELAY must be a number of seconds and "
                                    "DEPROVISION_RETRY_ATTEMPTS a whole number") from None
        return policy

    def delay(self, attempt: int, kind: Kind = Kind.TRANSIENT) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        base = self.base_delay * (self.limit_factor if kind is Kind.LIMIT else 1.0)
        wait = min(self.max_delay, base * (2 ** (attempt - 1)))
        return wait * (1.0 + self.jitter * self.rng.random())


@dataclass
class RetryHooks:
    """What the caller can do about an error: log in again, check the daily limit, note a retry."""

    relogin: Callable[[], None] | None = None
    check_limit: Callable[[], None] | None = None
    on_retry: Callable[[str, Kind, int, float], None] | None = None


def call_with_retry(
    fn: Callable[[], T],
    action: str,
    policy: RetryPolicy,
    hooks: RetryHooks | None = None,
    *,
    idempotent: bool = True,
    record_id: str | None = None,
) -> T:
    """Call ``fn`` until it succeeds, a permanent error occurs, or attempts run out.

    Every failure leaves as an ``OrgError`` whose message starts with ``action``.
    An expired session is renewed by at most one re-login per call; a second expiry is final.
    """
    hooks = hooks or RetryHooks()
    relogged = False
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except Exception as exc:  # classified below; unknown ones are permanent
            kind = classify(exc)
            if kind is Kind.EXPIRED:
                if hooks.relogin is None:
                    raise _expired(action, exc, "the access token is no longer valid; get a new one") from None
                if relogged:
                    raise _expired(action, exc, "the session expired again right after a new login") from None
                hooks.relogin()
                relogged = True
                continue
            retryable = kind in (Kind.TRANSIENT, Kind.LIMIT) or (kind is Kind.TIMEOUT and idempotent)
            if not retryable or attempt >= policy.max_attempts:
                error = to_org_error(exc, action, record_id=record_id)
                if retryable:
                    error.details.append(f"gave up after {attempt} attempts")
                raise error from None
            if kind is Kind.LIMIT and hooks.check_limit is not None:
                hooks.check_limit()  # raises when the daily limit is exhausted
            wait = policy.delay(attempt, kind)
            if hooks.on_retry is not None:
                hooks.on_retry(action, kind, attempt, wait)
            policy.sleep(wait)


def _expired(action: str, exc: BaseException, why: str) -> OrgError:
    error = to_org_error(exc, action)
    return OrgError(f"{action} failed: INVALID_SESSION_ID: {why}", error_code=EXPIRED_CODE,
                    status=getattr(exc, "status", 401) or 401, record_id=error.record_id)
