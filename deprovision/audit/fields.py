"""Reading fields of audit events, whichever of the accepted shapes a writer used.

``target_user`` may be ``{"id", "username", "terminated_at"?}`` or a username with
``target_user_id`` beside it; ``actor`` a dict or a username with ``actor_id``;
``playbook`` a dict or a name with ``playbook_sha256``; ``outcome`` "applied" or
"success" (and "partial" counts as failed); ``error_message`` or ``message``.
"""

from __future__ import annotations

import re
from typing import Any

OUTCOME_ALIASES = {"success": "applied", "succeeded": "applied", "partial": "failed"}
CHANGE_EVENTS = ("change_applied", "change_failed", "change_skipped")
_SALESFORCE_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")


def looks_like_id(text: str) -> bool:
    """True for a 15- or 18-character Salesforce id (usernames always contain "@")."""
    return bool(_SALESFORCE_ID.fullmatch(text))


def target_user(event: dict[str, Any]) -> dict[str, Any]:
    """``{"id", "username", "terminated_at"}`` of the event's target user (values may be None)."""
    value = event.get("target_user")
    if isinstance(value, dict):
        return {"id": value.get("id"), "username": value.get("username"),
                "terminated_at": value.get("terminated_at") or event.get("terminated_at")}
    return {"id": event.get("target_user_id") or event.get("user_id"),
            "username": value if isinstance(value, str) else event.get("username"),
            "terminated_at": event.get("terminated_at")}


def actor(event: dict[str, Any]) -> dict[str, Any]:
    """``{"id", "username"}`` of the API user who made the change."""
    value = event.get("actor")
    if isinstance(value, dict):
        return {"id": value.get("id"), "username": value.get("username")}
    return {"id": event.get("actor_id"), "username": value if isinstance(value, str) else None}


def playbook(event: dict[str, Any]) -> dict[str, Any]:
    """``{"name", "sha256"}`` of the playbook the run executed."""
    value = event.get("playbook")
    if isinstance(value, dict):
        return {"name": value.get("name"), "sha256": value.get("sha256")}
    return {"name": value if isinstance(value, str) else None, "sha256": event.get("playbook_sha256")}


def outcome(event: dict[str, Any]) -> str | None:
    """applied / skipped / failed (or the run's own status on run events)."""
    value = event.get("outcome")
    if value is None and event.get("event") in CHANGE_EVENTS:
        value = event["event"].removeprefix("change_")
    return OUTCOME_ALIASES.get(value, value) if isinstance(value, str) else value


def error_message(event: dict[str, Any]) -> str | None:
    """The Salesforce error message of a failed change."""
    return event.get("error_message") or event.get("message")


def record_count(event: dict[str, Any]) -> int:
    """How many records the event's change touched."""
    for key in ("record_count", "count"):
        if isinstance(event.get(key), int):
            return event[key]
    ids = event.get("record_ids")
    return len(ids) if isinstance(ids, list) else 0


def matches_user(event: dict[str, Any], wanted: str) -> bool:
    """True when the event is about ``wanted`` (a username, case-insensitive, or a 15/18-char id)."""
    wanted_l = wanted.lower()
    candidates = [target_user(event)]
    users = event.get("users")
    if isinstance(users, list):
        candidates += [u for u in users if isinstance(u, dict)]
    for user in candidates:
        username = user.get("username")
        if isinstance(username, str) and username.lower() == wanted_l:
            return True
        user_id = user.get("id")
        if isinstance(user_id, str) and looks_like_id(wanted) and user_id[:15] == wanted[:15]:
            return True
    return False
