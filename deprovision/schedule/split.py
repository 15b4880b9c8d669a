"""Split a plan in time: cut access now (or at ``cut_access_at``), the rest at each leaver's leaving date."""

from __future__ import annotations

from datetime import datetime

from deprovision.clock import iso, parse
from deprovision.plan.model import Plan, Warning

CUT_ACCESS = ("freeze", "end_sessions", "revoke_oauth_token")


def _times(playbook) -> tuple[str | None, str | None]:
    users = getattr(playbook, "users", None)
    return getattr(users, "terminated_at", None), getattr(users, "cut_access_at", None)


def schedule_plan(plan: Plan, playbook, *, now: datetime) -> Plan:
    """Give each change of a future leaver its ``due_at``; warn (blocking) when removals would happen at
    more than one time in one run (a run takes one backup, before its first removal)."""
    default_end, cut_text = _times(playbook)
    cut = parse(cut_text)
    deferred: dict[str, list[str]] = {}
    for user in plan.users:
        if not user.terminated_at and default_end:
            user.terminated_at = default_end
        end = parse(user.terminated_at)
        if end is None or end <= now:
            continue
        cut_at = iso(cut) if cut is not None and now < cut < end else None
        for change in plan.changes:
            if change.user_id == user.id:
                change.due_at = cut_at if change.action in CUT_ACCESS else iso(end)
        deferred.setdefault(iso(end), []).append(user.username)
        n = sum(1 for c in plan.changes if c.user_id == user.id and c.action not in CUT_ACCESS)
        plan.warnings.append(Warning(
            "scheduled", f"leaves {iso(end)}: login frozen and sessions ended "
            f"{'at ' + cut_at if cut_at else 'now'}; the other {n} change{'s' if n != 1 else ''} "
            f"(reassign, remove access, deactivate) at {iso(end)}, run by `deprovision apply --due`",
            user_id=user.id))
    if deferred:
        times = sorted({c.due_at or "now" for c in plan.changes if c.action not in CUT_ACCESS})
        if len(times) > 1:
            plan.warnings.append(Warning(
                "schedule_mixed", "removals would happen at " + ", ".join(times) + " in one run, but a run "
                "backs up once, before its first removal: put leavers with different leaving dates in "
                "separate playbooks (or CSV files)", blocking=True))
    from deprovision.multiorg.mapping import note_plan

    note_plan(plan)  # the closing summary of a multi-org plan/apply
    return plan
