"""The diff: one plan shown as text, markdown, json or html, in the same words every time.

Blocking problems and warnings come first, then each user's changes with
before → after, then one closing summary line. Templates live in
``deprovision/templates/plan.*.j2``; this module only prepares the words.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import IO, Any

import click
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from deprovision.plan.model import ACTIONS, Change, Plan

FORMATS = ("text", "markdown", "json", "html")
_SECRET_KEYS = {"DeleteToken", "AccessToken", "RefreshToken", "access_token", "refresh_token"}

_env = Environment(
    loader=PackageLoader("deprovision", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass
class ChangeLine:
    """One change in words: ``reassign 312 Account → Omar Haddad (manager)``."""

    action: str
    text: str
    before: str
    after: str
    kind: str  # "remove" | "update" | "move"
    examples: list[str] = field(default_factory=list)


@dataclass
class UserView:
    username: str
    name: str
    status: str
    lines: list[ChangeLine]
    warnings: list[str]
    backup: str


def _n(value: int) -> str:
    return f"{value:,}"


def _plural(count: int, word: str) -> str:
    return f"{_n(count)} {word}" + ("" if count == 1 else "s")


def describe(change: Change) -> ChangeLine:
    """The words for one change, the same in every format."""
    verb = ACTIONS[change.action][2]
    a = change.action
    if a == "freeze":
        return ChangeLine(a, verb, "active", "frozen", "update")
    if a == "end_sessions":
        return ChangeLine(a, f"{verb} ({_n(change.count)})", _plural(change.count, "session"), "none", "remove")
    if a == "revoke_oauth_token":
        return ChangeLine(a, f"{verb} {change.label}", _plural(change.count, "token"), "none", "remove")
    if a == "reassign_owner":
        succ = change.successor
        who = f"{succ.name} ({'queue' if succ.kind == 'queue' else succ.rule})" if succ else "?"
        return ChangeLine(a, f"{verb} {_n(change.count)} {change.object} → {who}",
                          f"owner {change.username}", f"owner {succ.name if succ else '?'}", "move",
                          list(change.examples))
    if a in ("repoint_manager", "repoint_delegated_approver", "restore_manager", "restore_delegated_approver"):
        count = change.count or len(change.record_ids)
        field = next(iter(change.after or {}), "")
        who = change.successor.name if change.successor else (change.after or {}).get(field, "?")
        role = "manager" if field == "ManagerId" else "delegated approver"
        before = change.username if a.startswith("repoint") else (change.before or {}).get(field, "?")
        after = who if a.startswith("repoint") else change.username
        return ChangeLine(a, f"{verb} {_plural(count, 'user')} → {after}", f"{role} {before}", f"{role} {after}",
                          "update", list(change.examples))
    if a == "clear_role":
        return ChangeLine(a, f"{verb} {change.label}", f"role {change.label}", "no role", "update")
    if a == "deactivate":
        return ChangeLine(a, verb, "active", "inactive", "update")
    # rollback plans
    if a == "unfreeze":
        return ChangeLine(a, verb, "frozen", "active", "update")
    if a == "reactivate":
        return ChangeLine(a, verb, "inactive", "active", "update")
    if a == "restore_role":
        return ChangeLine(a, f"{verb} {change.label}", "no role", f"role {change.label}", "update")
    if a == "restore_assignment":
        return ChangeLine(a, f"{verb} {change.label}", "removed", "assigned", "update")
    if a == "restore_owner":
        count = change.count or len(change.record_ids)
        return ChangeLine(a, f"{verb} {_n(count)} {change.object}", f"owner {change.before.get('OwnerId', '?')}",
                          f"owner {change.username}", "move", list(change.examples))
    return ChangeLine(a, f"{verb} {change.label}", "assigned", "removed", "remove")


def summary_line(plan: Plan) -> str:
    """``Plan: 4 users, 57 changes (1,204 records), 2 warnings.``"""
    warnings = [w for w in plan.warnings if not w.blocking]
    text = (f"Plan: {_plural(len(plan.users), 'user')}, {_plural(len(plan.changes), 'change')} "
            f"({_plural(plan.record_count, 'record')}), {_plural(len(warnings), 'warning')}")
    if plan.blocking_warnings:
        text += f", {_plural(len(plan.blocking_warnings), 'blocking problem')}"
    return text + "."


def _status(user) -> str:
    parts = ["active" if user.is_active else "inactive"]
    if user.is_frozen:
        parts.append("frozen")
    if user.profile:
        parts.append(user.profile)
    if user.role:
        parts.append(f"role {user.role}")
    if user.terminated_at:
        parts.append(f"terminated {user.terminated_at}")
    return ", ".join(parts)


def view(plan: Plan) -> dict[str, Any]:
    """What every template receives."""
    by_user: dict[str, list[Change]] = {}
    for change in plan.changes:
        by_user.setdefault(change.user_id, []).append(change)
    users = []
    for user in plan.users:
        counts = plan.backup_counts.get(user.id, {})
        backup = ", ".join(f"{_n(n)} {obj}" for obj, n in counts.items() if n)
        users.append(UserView(
            username=user.username, name=user.name, status=_status(user),
            lines=[describe(c) for c in by_user.get(user.id, [])],
            warnings=[w.message for w in plan.warnings if w.user_id == user.id and not w.blocking],
            backup=backup,
        ))
    totals: dict[tuple[str, str], int] = {}
    for change in plan.changes:
        if change.action == "reassign_owner" and change.successor:
            key = (change.object, change.successor.name)
            totals[key] = totals.get(key, 0) + change.count
    return {
        "plan": plan,
        "title": f"deprovision plan: {plan.playbook.get('name', '')}",
        "summary": summary_line(plan),
        "blocking": [w.message for w in plan.blocking_warnings],
        "general_warnings": [w.message for w in plan.warnings if not w.blocking and not w.user_id],
        "users": users,
        "totals": [{"object": o, "successor": s, "count": _n(n)} for (o, s), n in sorted(totals.items())],
        "n": _n,
    }


def redact(value: Any) -> Any:
    """A copy of plan data with any secret-looking field blanked."""
    if isinstance(value, dict):
        return {k: ("[redacted]" if k in _SECRET_KEYS and v else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def plan_document(plan: Plan) -> dict[str, Any]:
    """The plan's JSON document, with any secret-looking value in before/after blanked."""
    data = plan.to_dict()
    for change in data["changes"]:
        change["before"] = redact(change["before"])
        change["after"] = redact(change["after"])
    return data


def write_json(plan: Plan, stream: IO[str]) -> None:
    """Stream the plan's JSON to ``stream`` (a million record ids never become one string)."""
    json.dump(plan_document(plan), stream, indent=2)
    stream.write("\n")


def render(plan: Plan, fmt: str, *, color: bool = False) -> str:
    """The plan as ``text`` (optionally coloured), ``markdown``, ``json`` or ``html``."""
    if fmt == "json":
        return json.dumps(plan_document(plan), indent=2) + "\n"
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    template = _env.get_template(f"plan.{'md' if fmt == 'markdown' else fmt}.j2")
    context = view(plan)
    if fmt == "text":
        def style(text: str, **kw: Any) -> str:
            return click.style(text, **kw) if color else text
        context["style"] = style
    return template.render(**context)
