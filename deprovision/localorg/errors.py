"""Errors of the local org, named after Salesforce's error codes.

Each carries the HTTP status Salesforce answers with and renders the wire
shapes Salesforce uses: a JSON array of ``{message, errorCode, fields}`` for
single-resource calls, ``{statusCode, message, fields}`` inside Collections
results.
"""

from __future__ import annotations


class SalesforceError(Exception):
    """Base: an error the local org answers with."""

    error_code = "UNKNOWN_EXCEPTION"
    status = 400

    def __init__(self, message: str, fields: list[str] | None = None, *, status: int | None = None,
                 error_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or []
        if status is not None:
            self.status = status
        if error_code is not None:
            self.error_code = error_code

    def body(self) -> list[dict]:
        """The single-resource error body: a JSON array with one error; a record's save errors always carry
        ``fields`` (an empty list when no field is to blame), as real orgs send them, other errors only when
        they name fields."""
        err: dict = {"message": self.message, "errorCode": self.error_code}
        if self.fields or self.error_code in RECORD_ERROR_CODES:
            err["fields"] = self.fields
        return [err]

    def collection_error(self) -> dict:
        """The error as it appears inside an sObject Collections result."""
        return {"statusCode": self.error_code, "message": self.message, "fields": self.fields}


# Errors of saving or deleting a record (the API's per-record StatusCode values): their single-resource body
# has "fields" even when empty, e.g. [{"message": "duplicate value found: ... on record with id: ...",
# "errorCode": "DUPLICATE_VALUE", "fields": []}] and [{"message": "entity is deleted", "errorCode":
# "ENTITY_IS_DELETED", "fields": []}] (reference/salesforce-api.md 5.3; responses recorded in public client
# test suites); NOT_FOUND, MALFORMED_QUERY, INVALID_SESSION_ID and the like have no "fields".
RECORD_ERROR_CODES = frozenset({
    "REQUIRED_FIELD_MISSING", "INVALID_FIELD_FOR_INSERT_UPDATE", "DUPLICATE_VALUE", "DUPLICATE_USERNAME",
    "FIELD_INTEGRITY_EXCEPTION", "INVALID_CROSS_REFERENCE_KEY", "INACTIVE_OWNER_OR_USER", "ENTITY_IS_DELETED",
    "DELETE_FAILED", "CANNOT_DISABLE_LAST_ADMIN", "TRANSFER_REQUIRES_READ", "STRING_TOO_LONG",
    "INVALID_EMAIL_ADDRESS", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "LICENSE_LIMIT_EXCEEDED",
    "INSUFFICIENT_ACCESS_OR_READONLY", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "MALFORMED_ID",
})


def _code(code: str, status: int = 400) -> type[SalesforceError]:
    return type(code, (SalesforceError,), {"error_code": code, "status": status})


NOT_FOUND = _code("NOT_FOUND", 404)
ENTITY_IS_DELETED = _code("ENTITY_IS_DELETED", 404)
INVALID_SESSION_ID = _code("INVALID_SESSION_ID", 401)
REQUEST_LIMIT_EXCEEDED = _code("REQUEST_LIMIT_EXCEEDED", 403)
INSUFFICIENT_ACCESS = _code("INSUFFICIENT_ACCESS", 403)
INSUFFICIENT_ACCESS_OR_READONLY = _code("INSUFFICIENT_ACCESS_OR_READONLY", 400)
METHOD_NOT_ALLOWED = _code("METHOD_NOT_ALLOWED", 405)
NOT_IMPLEMENTED = _code("NOT_IMPLEMENTED", 501)
MALFORMED_QUERY = _code("MALFORMED_QUERY")
INVALID_FIELD = _code("INVALID_FIELD")
INVALID_TYPE = _code("INVALID_TYPE")
MALFORMED_ID = _code("MALFORMED_ID")
JSON_PARSER_ERROR = _code("JSON_PARSER_ERROR")
INVALID_CROSS_REFERENCE_KEY = _code("INVALID_CROSS_REFERENCE_KEY")
INVALID_FIELD_FOR_INSERT_UPDATE = _code("INVALID_FIELD_FOR_INSERT_UPDATE")
REQUIRED_FIELD_MISSING = _code("REQUIRED_FIELD_MISSING")
FIELD_INTEGRITY_EXCEPTION = _code("FIELD_INTEGRITY_EXCEPTION")
INACTIVE_OWNER_OR_USER = _code("INACTIVE_OWNER_OR_USER")
INVALID_OPERATION = _code("INVALID_OPERATION")
DUPLICATE_VALUE = _code("DUPLICATE_VALUE")
DELETE_FAILED = _code("DELETE_FAILED")
CANNOT_DISABLE_LAST_ADMIN = _code("CANNOT_DISABLE_LAST_ADMIN")
UNABLE_TO_LOCK_ROW = _code("UNABLE_TO_LOCK_ROW")
INVALID_BATCH_REQUEST = _code("INVALID_BATCH_REQUEST")
TOO_MANY_RECORDS = _code("EXCEEDED_ID_LIMIT")
ALL_OR_NONE_OPERATION_ROLLED_BACK = _code("ALL_OR_NONE_OPERATION_ROLLED_BACK")
PROCESSING_HALTED = _code("PROCESSING_HALTED")
SERVER_UNAVAILABLE = _code("SERVER_UNAVAILABLE", 503)
API_DISABLED_FOR_ORG = _code("API_DISABLED_FOR_ORG", 403)
