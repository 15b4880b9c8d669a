"""Licence seats, used / total, as the org counts them (UserLicense, PermissionSetLicense, PackageLicense),
and what a plan frees: one user licence per deactivated user, one seat per licence assignment removed."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deprovision.org.client import OrgClient
    from deprovision.plan.model import Plan

# object -> (name field, used field, total field)
LICENCE_OBJECTS = {
    "UserLicense": ("Name", "UsedLicenses", "TotalLicenses"),
    "PermissionSetLicense": ("MasterLabel", "UsedLicenses", "TotalLicenses"),
    "PackageLicense": ("NamespacePrefix", "UsedLicenses", "AllowedLicenses"),
}


def read_licences(client: OrgClient) -> dict[str, list[dict[str, Any]]]:
    """``{object: [{"id", "name", "used", "total"}]}`` for the licence objects the org has (one Composite call)."""
    base = f"/services/data/v{client.api_version}/query?q="
    present = [o for o in LICENCE_OBJECTS if client.schema.has(o)]
    subs = []
    for obj in present:
        name, used, total = LICENCE_OBJECTS[obj]
        soql = f"SELECT Id, {name}, {used}, {total} FROM {obj} ORDER BY {name}"
        subs.append({"method": "GET", "url": base + soql.replace(" ", "+"), "referenceId": obj})
    out: dict[str, list[dict[str, Any]]] = {}
    for obj, answer in zip(present, client.composite(subs) if subs else [], strict=True):
        if answer.get("httpStatusCode") != 200:
            continue
        name, used, total = LICENCE_OBJECTS[obj]
        out[obj] = [{"id": r["Id"], "name": r.get(name) or r["Id"], "used": int(r.get(used) or 0),
                     "total": int(r.get(total) or 0)} for r in answer["body"].get("records", [])]
    return out


def profile_licences(client: OrgClient) -> dict[str, str]:
    """Profile name -> the UserLicense id its users hold."""
    return {r["Name"]: r["UserLicenseId"] for r in client.query("SELECT Name, UserLicenseId FROM Profile")}


def freed_by(plan: Plan, profiles: dict[str, str], licences: dict[str, list[dict]]) -> dict[str, dict[str, int]]:
    """Seats the plan frees, by object and licence id: deactivations (user licences) and removals."""
    freed: dict[str, Counter] = {o: Counter() for o in LICENCE_OBJECTS}
    users = {u.id: u for u in plan.users}
    for change in plan.changes:
        if change.action == "deactivate":
            user = users.get(change.user_id)
            licence = profiles.get(user.profile) if user else None
            if licence:
                freed["UserLicense"][licence] += 1
        elif change.action == "remove_permission_set_license":
            key = (change.before or {}).get("PermissionSetLicenseId")
            if key:
                freed["PermissionSetLicense"][key] += 1
        elif change.action == "remove_package_license":
            key = (change.before or {}).get("PackageLicenseId")
            if key:
                freed["PackageLicense"][key] += 1
    return {o: dict(c) for o, c in freed.items() if o in licences}


def with_freed(licences: dict[str, list[dict]], freed: dict[str, dict[str, int]]) -> dict[str, list[dict]]:
    """Each licence row with ``frees`` (seats this plan frees) and ``used_after`` (used once applied)."""
    out = {}
    for obj, rows in licences.items():
        out[obj] = [{**r, "frees": freed.get(obj, {}).get(r["id"], 0),
                     "used_after": max(r["used"] - freed.get(obj, {}).get(r["id"], 0), 0)} for r in rows]
    return out
