"""Pre-flight: how many REST API calls a plan needs, and whether the org has that many left today."""

from __future__ import annotations

import math
from collections import Counter

from deprovision.apply.batching import BULK_THRESHOLD, COLLECTION_SIZE
from deprovision.apply.operations import change_object
from deprovision.errors import DeprovisionError
from deprovision.plan.model import Plan

IDS_PER_QUERY = 160  # user ids per chunked IN query (SOQL's WHERE clause is capped at 4,000 characters)
CALLS_PER_BULK_JOB = 8  # create, upload, close, a few polls, successful and failed results
MARGIN = 1.2


class NotEnoughApiCalls(DeprovisionError):
    """The org has fewer API calls left today than the plan needs."""


def estimate_api_calls(plan: Plan) -> int:
    """An upper estimate of the REST API calls ``apply`` makes for ``plan`` (OAuth revocations excluded)."""
    users = len(plan.users)
    user_chunks = math.ceil(users / IDS_PER_QUERY) if users else 0
    by_action = Counter()
    owners = Counter()
    removal_objects = set()
    for c in plan.changes:
        n = len(c.record_ids) or c.count or 1
        if c.action == "reassign_owner":
            owners[c.object] += n
        else:
            by_action[c.action] += n
        if c.action.startswith("remove_"):
            removal_objects.add(change_object(c))
    calls = 1  # limits (read from the last answer's Sforce-Limit-Info header when it has one)
    calls += math.ceil(by_action["freeze"] / COLLECTION_SIZE)
    calls += user_chunks * (1 + len(removal_objects) + len(plan.backup_objects or []) * 2)  # backup reads
    calls += user_chunks * 2 + math.ceil(by_action["end_sessions"] * 2 / COLLECTION_SIZE)  # sessions, tokens
    for n in owners.values():
        calls += CALLS_PER_BULK_JOB if n > BULK_THRESHOLD else math.ceil(n / COLLECTION_SIZE)
    removals = sum(n for a, n in by_action.items() if a.startswith("remove_"))
    calls += math.ceil(removals / COLLECTION_SIZE) + math.ceil(by_action["clear_role"] / COLLECTION_SIZE)
    calls += math.ceil(by_action["deactivate"] / COLLECTION_SIZE)
    return math.ceil(calls * MARGIN)


def daily_requests(client) -> dict:
    """``{"Max", "Remaining"}`` of the org's daily API requests: from the ``Sforce-Limit-Info`` header of
    the client's last answer (``api-usage=used/max``, on every REST response: REST API Developer Guide,
    Limit Info Header), so apply's pre-flight needs no call of its own; from ``/limits`` when no answer
    carried the header yet."""
    usage = getattr(client, "limit_info", None)
    if isinstance(usage, tuple) and len(usage) == 2 and all(isinstance(n, int) for n in usage):
        used, maximum = usage
        return {"Max": maximum, "Remaining": maximum - used}
    limits = client.limits() or {}
    return limits.get("DailyApiRequests") or {}


def check_api_budget(client, plan: Plan) -> tuple[int, int | None]:
    """(needed, remaining); raises ``NotEnoughApiCalls`` (exit 1) when the org has too few left today."""
    needed = estimate_api_calls(plan)
    daily = daily_requests(client)
    remaining = daily.get("Remaining")
    if remaining is not None and remaining < needed:
        raise NotEnoughApiCalls(
            f"not starting: this plan needs about {needed:,} API calls and the org has {remaining:,} of "
            f"{daily.get('Max', 0):,} left today",
            details=["Wait for the 24-hour window to free calls, or split the playbook into smaller runs."])
    return needed, remaining
