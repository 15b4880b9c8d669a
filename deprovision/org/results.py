"""Result values of org calls, and the one place simple-salesforce errors become ``OrgError``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
)

from deprovision.errors import OrgError

# Anything shaped like a Salesforce session id or a bearer token is cut out of messages.
_TOKEN_RE = re.compile(r"00D\w{12,15}![\w.\-]+|Bearer\s+\S+", re.ASCII)


@dataclass(frozen=True, slots=True)
class RecordResult:
    """The outcome of one record in a write call."""

    id: str | None
    success: bool
    error_code: str | None = None
    message: str | None = None

    @classmethod
    def ok(cls, record_id: str | None) -> RecordResult:
        return cls(record_id, True)

    @classmethod
    def failed(cls, record_id: str | None, error_code: str | None, message: str | None) -> RecordResult:
        return cls(record_id, False, error_code, message)

    @classmethod
    def from_collection_item(cls, item: dict[str, Any], fallback_id: str | None = None) -> RecordResult:
        """One element of an sObject Collections answer (errors carry ``statusCode``)."""
        record_id = item.get("id") or fallback_id
        if item.get("success"):
            return cls.ok(record_id)
        errors = item.get("errors") or [{}]
        first = errors[0]
        code = first.get("statusCode") or first.get("errorCode")
        message = first.get("message")
        fields = first.get("fields") or []
        if fields:
            message = f"{message} [{', '.join(fields)}]"
        return cls.failed(record_id, code, message)


@dataclass
class BulkResult:
    """Per-record outcome of a Bulk API 2.0 ingest: ids that succeeded and those that failed."""

    job_ids: list[str] = field(default_factory=list)
    successes: list[RecordResult] = field(default_factory=list)
    # (first row, rows) of uploads whose every row succeeded, when the caller knows its rows' Ids itself
    succeeded_rows: list[tuple[int, int]] = field(default_factory=list)
    failures: list[RecordResult] = field(default_factory=list)
    unprocessed: int = 0

    @property
    def processed(self) -> int:
        return len(self.successes) + sum(n for _, n in self.succeeded_rows) + len(self.failures)

    @property
    def all_succeeded(self) -> bool:
        return not self.failures and not self.unprocessed


def redact(text: str) -> str:
    """``text`` with anything that looks like a token replaced by ``[REDACTED]``."""
    return _TOKEN_RE.sub("[REDACTED]", text)


def first_error(content: Any) -> tuple[str | None, str | None, list[str]]:
    """(errorCode, message, fields) from a Salesforce error body of any of its shapes."""
    if isinstance(content, list) and content:
        content = content[0]
    if isinstance(content, dict):
        code = content.get("errorCode") or content.get("statusCode") or content.get("error")
        message = content.get("message") or content.get("error_description")
        fields = content.get("fields") or []
        return code, message, list(fields)
    if isinstance(content, str) and content.strip():
        return None, content.strip()[:300], []
    return None, None, []


def to_org_error(exc: BaseException, action: str, *, record_id: str | None = None) -> OrgError:
    """Turn an exception from simple-salesforce or requests into an ``OrgError`` naming ``action``."""
    if isinstance(exc, OrgError):
        return exc
    if isinstance(exc, SalesforceAuthenticationFailed):
        code = str(getattr(exc, "code", "") or "") or None
        message = str(getattr(exc, "message", "") or "") or "authentication failed"
        return OrgError(redact(f"{action} failed: login refused: {code + ': ' if code else ''}{message}"),
                        error_code=code, status=None, record_id=record_id)
    if isinstance(exc, SalesforceError):
        status = getattr(exc, "status", None)
        code, message, fields = first_error(getattr(exc, "content", None))
        text = f"{code}: {message}" if code and message else (code or message or f"HTTP {status}")
        if fields:
            text += f" [{', '.join(fields)}]"
        return OrgError(redact(f"{action} failed: {text}"), error_code=code, status=status, record_id=record_id)
    if isinstance(exc, requests.exceptions.SSLError):
        return OrgError(f"{action} failed: TLS certificate not trusted (give the org's CA with --ca-bundle)",
                        error_code="SSL_ERROR", record_id=record_id)
    if isinstance(exc, requests.exceptions.Timeout):
        return OrgError(f"{action} failed: the org did not answer in time", error_code="TIMEOUT",
                        record_id=record_id)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return OrgError(f"{action} failed: cannot connect to the org ({type(exc).__name__})",
                        error_code="CONNECTION_ERROR", record_id=record_id)
    return OrgError(redact(f"{action} failed: {type(exc).__name__}: {exc}"), record_id=record_id)
