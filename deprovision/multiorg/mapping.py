"""The playbook as one org of several reads it: the org's username suffix, missing users a note.

The org being planned is set for the duration of its single-org command (``reading_for``); the playbook
loader asks ``for_current_org`` for the playbook that org sees. Outside a multi-org command nothing changes.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

_CURRENT: ContextVar[OrgTarget | None] = ContextVar("deprovision_org_target", default=None)


@dataclass
class OrgTarget:
    """One org of a multi-org command: its name as given, whether it is the first (the reference org), and
    what its command produced (plans computed, runs applied), for the closing summary."""

    name: str
    primary: bool
    plans: list[Any] = field(default_factory=list)
    runs: list[tuple[str, Any]] = field(default_factory=list)  # (run id, RunResult or None)


@contextlib.contextmanager
def reading_for(target: OrgTarget) -> Iterator[None]:
    token = _CURRENT.set(target)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def current() -> OrgTarget | None:
    return _CURRENT.get()


def _suffixed(value: str | None, suffix: str) -> str | None:
    if value and value.startswith("user:") and not value.endswith(suffix):
        return value + suffix
    return value


def rule_for(playbook, name: str):
    """The playbook's ``orgs`` rule for org ``name`` (``sf:ALIAS`` also found as ``ALIAS``), or None."""
    rules = getattr(playbook, "orgs", None) or {}
    return rules.get(name) or (rules.get(name[3:]) if name.startswith("sf:") else None)


def for_org(playbook, target: OrgTarget):
    """A copy of ``playbook`` as ``target`` reads it (the same file, digest and name: one playbook)."""
    rule = rule_for(playbook, target.name)
    suffix = rule.username_suffix if rule is not None else None
    if not suffix and target.primary:
        return playbook
    mapped = playbook.model_copy(deep=True)
    if not target.primary:
        mapped.users.on_missing = "warn"  # a user missing from a sandbox is a note
    if suffix:
        mapped.users.usernames = [u + suffix for u in playbook.users.usernames]
        mapped.protect.usernames = [u + suffix for u in playbook.protect.usernames]
        reassign = mapped.actions.reassign
        if reassign is not None:
            reassign.default.to = _suffixed(reassign.default.to, suffix)
            reassign.default.fallback = _suffixed(reassign.default.fallback, suffix)
            for rule_ in reassign.objects.values():
                rule_.to = _suffixed(rule_.to, suffix)
                rule_.fallback = _suffixed(rule_.fallback, suffix)
        mapped._csv_rows = [dataclasses.replace(r, value=r.value + suffix) if r.key == "username" else r
                            for r in playbook.csv_rows]
    return mapped


def note_plan(plan) -> None:
    """Remember a plan computed for the org being planned (a no-op outside a multi-org command)."""
    target = current()
    if target is not None:
        target.plans.append(plan)


def note_run(run_id: str, result) -> None:
    """Remember a run applied to the org being planned."""
    target = current()
    if target is not None:
        target.runs.append((run_id, result))


def for_current_org(playbook):
    """``playbook`` as the org being planned reads it (itself outside a multi-org command)."""
    target = current()
    return playbook if target is None else for_org(playbook, target)
