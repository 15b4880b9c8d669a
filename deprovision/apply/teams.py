"""Account and opportunity teams across an owner change.

Salesforce deletes an Account's AccountTeamMember rows (an Opportunity's OpportunityTeamMember rows) when
its owner changes through REST, sObject Collections or Bulk API 2.0; only a SOAP ``update`` with the
``OwnerChangeOptions`` header (``KeepAccountTeam`` / ``KeepSalesTeam``) keeps them, and even then not the
members added by users with group-based access (salesforce-api.md 4.1a). So the records that carry team
rows of colleagues (anyone's rows the plan does not remove) are reassigned through SOAP with the header;
the rows are backed up first (``backup/<Team>-kept.csv``), checked after the owner change, and any row
Salesforce still dropped is re-created from the backup.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from deprovision.apply.backup import read_csv
from deprovision.apply.runs import RunFolder
from deprovision.plan.model import Change, Plan


@dataclass(frozen=True)
class TeamSpec:
    """One team object and how it hangs off its parent."""

    parent: str  # "Account"
    obj: str  # "AccountTeamMember"
    parent_field: str  # "AccountId"
    access_field: str  # "AccountAccessLevel"
    keep_option: str  # the soap_update keyword that keeps it
    remove_action: str  # the plan action removing a leaver's own row

    @property
    def fields(self) -> tuple[str, ...]:
        return ("Id", "UserId", self.parent_field, "TeamMemberRole", self.access_field)

    @property
    def kept_file(self) -> str:
        return f"{self.obj}-kept.csv"

    def natural(self, row: dict) -> tuple[str | None, str | None]:
        """(UserId, parent id): what identifies a team row across re-creation."""
        return row.get("UserId") or None, row.get(self.parent_field) or None

    def createable(self, row: dict) -> dict:
        """The fields that re-create ``row`` (empty values left out)."""
        return {f: row[f] for f in self.fields[1:] if row.get(f)}


TEAMS: dict[str, TeamSpec] = {
    "Account": TeamSpec("Account", "AccountTeamMember", "AccountId", "AccountAccessLevel",
                        "keep_account_team", "remove_account_team"),
    "Opportunity": TeamSpec("Opportunity", "OpportunityTeamMember", "OpportunityId", "OpportunityAccessLevel",
                            "keep_sales_team", "remove_opportunity_team"),
}


def removed_rows(plan: Plan) -> set[str]:
    """Ids of team rows the plan itself removes (the leavers' own memberships)."""
    return {rid for c in plan.changes if c.action in ("remove_account_team", "remove_opportunity_team")
            for rid in c.record_ids}


def team_read(spec: TeamSpec, owners: Iterable[str]) -> tuple[str, list[str]]:
    """The ``query_in`` read of ``read_team_rows``: (template, owners)."""
    return (f"SELECT {', '.join(spec.fields)} FROM {spec.obj} WHERE {spec.parent}.OwnerId IN {{ids}}",
            sorted({o for o in owners if o}))


def read_team_rows(client, spec: TeamSpec, owners: Iterable[str], records: set[str],
                   removed: set[str]) -> list[dict]:
    """Team rows on ``records`` (owned by ``owners``) other than those in ``removed``: one chunked query."""
    owners = sorted({o for o in owners if o})
    if not owners or not records:
        return []
    rows = client.query_in(*team_read(spec, owners))
    return [{k: r.get(k) for k in spec.fields} for r in rows
            if r.get(spec.parent_field) in records and r["Id"] not in removed]


def kept_rows(folder: RunFolder, spec: TeamSpec) -> list[dict] | None:
    """The colleague rows an apply run backed up for ``spec`` (None when the run has no such file)."""
    path = folder.backup_dir / spec.kept_file
    return read_csv(path) if path.exists() else None


def present_keys(client, spec: TeamSpec, parents: Iterable[str]) -> set[tuple[str | None, str | None]]:
    """Natural keys of the team rows on ``parents`` now."""
    parents = sorted(set(parents))
    if not parents:
        return set()
    return {spec.natural(r) for r in client.query_in(
        f"SELECT UserId, {spec.parent_field} FROM {spec.obj} WHERE {spec.parent_field} IN {{ids}}", parents)}


def change_of_parent(changes: Iterable[Change]) -> dict[str, Change]:
    """Record id -> the owner change that moves it."""
    return {rid: c for c in changes for rid in c.record_ids}
