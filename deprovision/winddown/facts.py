"""What a wind-down plan shows besides its changes: the contract's timeline, the export's size and API
calls, licence seats before and after. Kept in the plan (``Plan.wind_down``) so apply and the report
see what the plan saw."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from deprovision.contract import Terms, timeline
from deprovision.winddown.licences import freed_by, profile_licences, read_licences, with_freed

if TYPE_CHECKING:
    from deprovision.org.client import OrgClient
    from deprovision.plan.model import Plan
    from deprovision.playbook.model import Playbook


def org_backup(playbook: Playbook) -> bool:
    """Whether the playbook asks for a full export of the org before anything is revoked."""
    backup = playbook.actions.backup
    return bool(backup and backup.scope == "org")


def is_wind_down(playbook: Playbook) -> bool:
    """A playbook that winds the org down: an org-scope backup or a contract."""
    return org_backup(playbook) or playbook.contract is not None


def read_facts(client: OrgClient, playbook: Playbook) -> dict[str, Any]:
    """What a wind-down plan reads from the org besides the snapshot (nothing for ordinary playbooks):
    the export's estimate, licence seats, which licence each profile holds."""
    if not is_wind_down(playbook):
        return {}
    read: dict[str, Any] = {"licences": read_licences(client), "profiles": profile_licences(client)}
    if org_backup(playbook):
        from deprovision.export import estimate

        read["export"] = estimate(client).to_dict()
    return read


def plan_facts(read: dict[str, Any], playbook: Playbook, plan: Plan, today: date) -> dict[str, Any]:
    """The wind-down section of a plan, from what ``read_facts`` read (pure)."""
    if not is_wind_down(playbook):
        return {}
    facts: dict[str, Any] = {"today": today.isoformat(), "org_backup": org_backup(playbook),
                             "protect": playbook.protect.model_dump()}
    if playbook.contract is not None:
        facts["contract"] = timeline(Terms.of(playbook.contract), today).to_dict()
    if "export" in read:
        facts["export"] = read["export"]
    licences = read.get("licences") or {}
    facts["licences"] = with_freed(licences, freed_by(plan, read.get("profiles") or {}, licences))
    return facts
