"""Small helpers shared by the resource modules."""

from __future__ import annotations

import re
from typing import Any

from deprovision.localorg import errors, schema
from deprovision.localorg.http import Request
from deprovision.localorg.routes import NOT_FOUND_MESSAGE


def resolve_type(name: str) -> schema.ObjectSpec:
    """The object named in a URL, or 404 NOT_FOUND as Salesforce answers for an unknown sObject path."""
    spec = schema.get_object(name)
    if spec is None:
        raise errors.NOT_FOUND(NOT_FOUND_MESSAGE)
    return spec


def auto_assign(request: Request) -> bool:
    """``Sforce-Auto-Assign``: TRUE when absent; FALSE (any case) turns assignment rules off."""
    value = (request.header("Sforce-Auto-Assign") or "TRUE").strip()
    return value.upper() != "FALSE"


def record_values(body: Any) -> dict[str, Any]:
    """A record body without its ``attributes``; anything but a JSON object is malformed."""
    if not isinstance(body, dict):
        raise errors.JSON_PARSER_ERROR("Cannot deserialize instance of sObject from a non-object value")
    return {k: v for k, v in body.items() if k != "attributes"}


_VERSIONED = re.compile(r"^/services/data/v\d+\.\d/")


def in_version(record: Any, version: str) -> Any:
    """A REST-shaped record whose ``attributes.url`` (nested ones too) names the request's API version."""
    if isinstance(record, dict):
        out = {}
        for key, value in record.items():
            if key == "attributes" and isinstance(value, dict) and isinstance(value.get("url"), str):
                value = dict(value, url=_VERSIONED.sub(f"/services/data/v{version}/", value["url"]))
            elif isinstance(value, dict):
                value = in_version(value, version)
            out[key] = value
        return out
    return record


def split_csv_param(value: str | None) -> list[str]:
    """``a,b , c`` as ``["a", "b", "c"]``; empty parts dropped."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]
