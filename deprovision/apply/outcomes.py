"""Outcomes of a run: per change (for the audit log), per run (``RunResult``), and failures in words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deprovision.apply import audit_events
from deprovision.apply.context import RunContext
from deprovision.apply.operations import change_object, ops_for
from deprovision.plan.model import ACTIONS, Change


@dataclass
class RunResult:
    """What a run did: status, counts, per-user failures in words, API usage, the audit chain head."""

    run_id: str
    status: str
    changes: int = 0
    applied: int = 0
    failed: int = 0
    skipped: int = 0
    records_applied: int = 0
    records_failed: int = 0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    api_calls: int = 0
    oauth_calls: int = 0
    seconds: float = 0.0
    time_to_freeze: float | None = None
    audit_head: str | None = None
    resumed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


Bad = list[tuple[str, str | None, str | None]]  # (key, error code, message)


def change_outcome(ctx: RunContext, change: Change) -> tuple[str, list[str], Bad]:
    """("success" | "skipped" | "partial" | "failed", keys that held, keys that did not)."""
    keys = ctx.keys.get(change.id)
    if keys is None:
        keys = [op.key for op in ops_for(change)] or [change.id]
    ok, bad = [], []
    skipped_only = True
    if change.id in ctx.state.complete:
        return "success", list(keys), []
    done = ctx.state.ok.get(change.id, set())
    for key in keys:
        if key in done:
            ok.append(key)
            skipped_only = False
            continue
        o = ctx.state.other.get((change.id, key))
        if o is None:
            bad.append((key, "NOT_ATTEMPTED", "not attempted"))
        elif o.outcome == "failed":
            bad.append((key, o.error_code, o.message))
        else:
            ok.append(key)
            if o.outcome == "success":
                skipped_only = False
    if bad:
        return ("partial" if ok else "failed"), ok, bad
    return ("skipped" if skipped_only and keys else "success"), ok, bad


def audit_changes(ctx: RunContext, changes: list[Change]) -> None:
    """One audit event per change not audited yet (``change_applied`` / ``_skipped`` / ``_failed``)."""
    done = []
    for change in changes:
        if change.id in ctx.state.audited:
            continue
        outcome, ok, bad = change_outcome(ctx, change)
        user = ctx.users.get(change.user_id)
        fields: dict[str, Any] = {
            "target_user": user.username if user else change.username,
            "target_user_id": change.user_id,
            "action": change.action,
            "object": change_object(change),
            "label": change.label,
            "change_id": change.id,
            "before": change.before,
            "after": change.after,
            "outcome": outcome,
        }
        if change.action not in ("revoke_oauth_token",):
            ids = ok if outcome != "failed" else [k for k, _, _ in bad]
            fields["record_ids"] = ids  # the audit log moves large sets to a file named by its SHA-256
        else:
            fields["count"] = len(ok) + len(bad)
        if bad:
            fields["error_code"] = sorted({c or "UNKNOWN" for _, c, _ in bad})[0]
            fields["message"] = next((m for _, _, m in bad if m), None)
            fields["failed_count"] = len(bad)
            fields["failed_ids"] = [k for k, _, _ in bad][:50] if change.action != "revoke_oauth_token" else []
        name = {"success": "change_applied", "skipped": "change_skipped"}.get(outcome, "change_failed")
        audit_events.event(name, **fields)
        if outcome in ("success", "skipped"):
            done.append(change.id)
    if done:
        ctx.journal.audited(done)
        ctx.state.audited.update(done)


def describe_failure(change: Change, n: int, codes: set[str]) -> str:
    """One clause naming what did not happen: "2 Account records could not be reassigned (INACTIVE_OWNER_OR_USER)"."""
    code_text = ", ".join(sorted(codes))
    action = change.action
    if action == "reassign_owner":
        what = f"{n} {change.object} record{'s' if n != 1 else ''} could not be reassigned"
    elif action == "revoke_oauth_token":
        what = f"{n} OAuth token{'s' if n != 1 else ''} ({change.label or 'app'}) could not be revoked"
    elif action == "end_sessions":
        what = f"{n} session{'s' if n != 1 else ''} could not be ended"
    elif action == "freeze":
        what = "the login could not be frozen"
    elif action == "clear_role":
        what = "the role could not be cleared"
    elif action in ("repoint_manager", "repoint_delegated_approver"):
        field_name = "manager" if action == "repoint_manager" else "delegated approver"
        what = f"the {field_name} of {n} user{'s' if n != 1 else ''} could not be re-pointed"
    elif action.startswith("remove_"):
        noun = ACTIONS.get(action, ("", "", action, action))[2].replace("remove ", "").replace("from ", "")
        what = f"{noun} {change.label} could not be removed".strip()
    elif action.startswith("restore") or action in ("reactivate", "unfreeze"):
        what = f"{ACTIONS.get(action, ('', '', action, action))[2]} {change.label} failed".replace("  ", " ")
    else:
        what = f"{action} failed"
    return f"{what} ({code_text})"
