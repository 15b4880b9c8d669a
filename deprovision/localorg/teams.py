"""Salesforce's team deletion on an API owner change of an Account or an Opportunity.

Sources:
- KB 000390190 "Retaining Salesforce Account Team When Changing Account Owner": since Winter '21,
  changing an account's owner via the API or Apex deletes the account team members and their account
  sharing by default (https://help.salesforce.com/s/articleView?id=000390190&type=1);
- SOAP API Developer Guide, "OwnerChangeOptions" (API 45.0+): ``KeepAccountTeam`` "If false, the account
  team is deleted. Default is false"; ``KeepSalesTeam`` the same for the opportunity team. ``KeepAccountTeam``
  keeps only members added by a Salesforce admin, the account owner or someone above the owner in the role
  hierarchy; members added by users with group-based access are removed even when it is true
  (https://developer.salesforce.com/docs/platform/api/guide/sforce-api-header-ownerchangeoptions.html).
No REST, sObject Collections, Composite or Bulk API 2.0 equivalent of the header is documented
(reference/salesforce-api.md 4.1a), so every write path but a SOAP ``update`` with the header deletes.

``Store.update`` calls ``on_owner_change`` for every update, so all write paths share this rule.
The local org has no AccountShare / OpportunityShare objects today; when the schema gains them, the team
members' share rows (``RowCause = 'Team'``) go with the team, as the KB says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from deprovision.localorg import schema

if TYPE_CHECKING:
    from deprovision.localorg.store import Store

# parent object -> (team object, its parent field, the OwnerChangeOptions type that keeps it)
TEAMS = {
    "Account": ("AccountTeamMember", "AccountId", "KeepAccountTeam"),
    "Opportunity": ("OpportunityTeamMember", "OpportunityId", "KeepSalesTeam"),
}
SHARES = {"Account": ("AccountShare", "AccountId"), "Opportunity": ("OpportunityShare", "OpportunityId")}
ADMIN_PROFILE = "System Administrator"


@dataclass(frozen=True)
class OwnerChangeOptions:
    """The SOAP ``OwnerChangeOptions`` header as far as teams go (both false: Salesforce's default)."""

    keep_account_team: bool = False
    keep_sales_team: bool = False

    def keeps(self, option_type: str) -> bool:
        """True when the option of that type (``KeepAccountTeam``, ``KeepSalesTeam``) is set to execute."""
        return {"KeepAccountTeam": self.keep_account_team, "KeepSalesTeam": self.keep_sales_team}.get(
            option_type, False)


DEFAULT = OwnerChangeOptions()


def on_owner_change(store: Store, spec: schema.ObjectSpec, old: dict, changes: dict, *,
                    options: OwnerChangeOptions | None = None) -> int:
    """Delete the record's team when its OwnerId really changed (unless kept); returns rows deleted."""
    team = TEAMS.get(spec.name)
    if team is None or "OwnerId" not in changes or changes["OwnerId"] == old.get("OwnerId"):
        return 0
    team_object, parent_field, option_type = team
    rows = store.select(f'SELECT "Id", "UserId", "CreatedById" FROM "{team_object}" '
                        f'WHERE "{parent_field}" = ? AND "IsDeleted" = 0', (old["Id"],))
    if (options or DEFAULT).keeps(option_type):
        keepers = _may_keep(store, old.get("OwnerId"))
        rows = [r for r in rows if not keepers(r["CreatedById"])]
    if not rows:
        return 0
    stamp = store.now()
    marks = ", ".join("?" for _ in rows)
    store.conn.execute(f'UPDATE "{team_object}" SET "IsDeleted" = 1, "LastModifiedDate" = ?, '
                       f'"SystemModstamp" = ? WHERE "Id" IN ({marks})', [stamp, stamp, *(r["Id"] for r in rows)])
    _delete_team_shares(store, spec.name, old["Id"], [r["UserId"] for r in rows])
    return len(rows)


def on_owner_changes(store: Store, spec: schema.ObjectSpec, changed: list[tuple[dict, object]]) -> int:
    """``on_owner_change`` for many records whose OwnerId changed (old row, new owner), without the
    header: one read finds the records that have a team at all; returns rows deleted."""
    team = TEAMS.get(spec.name)
    if team is None or not changed:
        return 0
    team_object, parent_field, _ = team
    with_team: set[str] = set()
    ids = [old["Id"] for old, _ in changed]
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        marks = ", ".join("?" for _ in part)
        with_team.update(r["p"] for r in store.select(
            f'SELECT DISTINCT "{parent_field}" AS p FROM "{team_object}" '
            f'WHERE "{parent_field}" IN ({marks}) AND "IsDeleted" = 0', part))
    return sum(on_owner_change(store, spec, old, {"OwnerId": owner}) for old, owner in changed
               if old["Id"] in with_team)


def _may_keep(store: Store, owner_id: str | None):
    """Who adds members that ``Keep...Team`` keeps: an admin, the (previous) owner, or a user above the owner
    in the role hierarchy. Rows with no known creator (seeded system rows) are kept."""
    above = _roles_above(store, owner_id)

    def keeps(creator_id: str | None) -> bool:
        if not creator_id or creator_id == owner_id:
            return True
        row = store.select('SELECT u."UserRoleId" AS role, p."Name" AS profile FROM "User" u '
                           'LEFT JOIN "Profile" p ON p."Id" = u."ProfileId" WHERE u."Id" = ?', (creator_id,))
        if not row:
            return True
        return row[0]["profile"] == ADMIN_PROFILE or (row[0]["role"] is not None and row[0]["role"] in above)

    return keeps


def _roles_above(store: Store, owner_id: str | None) -> set[str]:
    rows = store.select('SELECT "UserRoleId" FROM "User" WHERE "Id" = ?', (owner_id,)) if owner_id else []
    role = rows[0]["UserRoleId"] if rows else None
    seen: set[str] = set()
    while role and role not in seen:
        parent = store.select('SELECT "ParentRoleId" FROM "UserRole" WHERE "Id" = ?', (role,))
        role = parent[0]["ParentRoleId"] if parent else None
        if role:
            seen.add(role)
    return seen


def _delete_team_shares(store: Store, parent: str, record_id: str, user_ids: list[str]) -> None:
    """The deleted members' ``RowCause = 'Team'`` share rows, when the schema has the share object."""
    share_object, parent_field = SHARES[parent]
    spec = schema.get_object(share_object)
    if spec is None or not user_ids or spec.field("UserOrGroupId") is None or spec.field("RowCause") is None:
        return
    marks = ", ".join("?" for _ in user_ids)
    store.conn.execute(f'DELETE FROM "{share_object}" WHERE "{parent_field}" = ? AND "RowCause" = \'Team\' '
                       f'AND "UserOrGroupId" IN ({marks})', [record_id, *user_ids])
