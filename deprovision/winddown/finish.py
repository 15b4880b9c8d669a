"""The finish line of a wind-down, read from the org after a run: who is still active or not frozen
outside ``protect``, OAuth tokens left, scheduled jobs and dashboards still tied to departing users, and
licence seats now used. Only reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deprovision.winddown.licences import read_licences

if TYPE_CHECKING:
    from deprovision.org.client import OrgClient
    from deprovision.plan.model import Plan


def _protected(user: dict, protect: dict) -> bool:
    return (user.get("Username") in (protect.get("usernames") or [])
            or user.get("Id") in (protect.get("ids") or [])
            or (user.get("Profile") or {}).get("Name") in (protect.get("profiles") or []))


def read_finish_line(client: OrgClient, plan: Plan) -> dict[str, Any]:
    """The wind-down's state in the org now (every list capped at 200 names; counts are exact)."""
    protect = (plan.wind_down or {}).get("protect") or {}
    api_user = client.api_user.get("id")
    departing = sorted(u.id for u in plan.users)
    frozen = {r["UserId"]: r["IsFrozen"] for r in client.query("SELECT UserId, IsFrozen FROM UserLogin")}
    still_active, not_frozen = [], []
    for user in client.query("SELECT Id, Username, IsActive, Profile.Name FROM User"):
        if user["Id"] == api_user or _protected(user, protect):
            continue
        if user.get("IsActive"):
            still_active.append(user["Username"])
            if user["Id"] in frozen and not frozen[user["Id"]]:  # can still log in
                not_frozen.append(user["Username"])
    tokens = sum(1 for _ in client.query_in("SELECT UserId FROM OauthToken WHERE UserId IN {ids}", departing)) \
        if client.schema.has("OauthToken") else 0
    jobs = _scheduled_jobs(client, departing) if client.schema.has("CronTrigger") else []
    dashboards = [{"title": r.get("Title"), "running_user": r.get("RunningUserId")}
                  for r in client.query_in("SELECT Id, Title, RunningUserId FROM Dashboard "
                                           "WHERE RunningUserId IN {ids}", departing)] \
        if client.schema.has("Dashboard") else []
    return {"still_active": len(still_active), "still_active_users": still_active[:200],
            "not_frozen": len(not_frozen), "not_frozen_users": not_frozen[:200], "oauth_left": tokens,
            "scheduled_jobs": jobs[:200], "scheduled_jobs_count": len(jobs),
            "dashboards": dashboards[:200], "dashboards_count": len(dashboards),
            "licences_after": read_licences(client)}


def _scheduled_jobs(client: OrgClient, departing: list[str]) -> list[dict[str, Any]]:
    """CronTrigger rows owned by departing users (the job's name as the org describes it)."""
    direct = client.schema.field("CronTrigger", "CronJobDetailName") is not None
    name = "CronJobDetailName" if direct else "CronJobDetail.Name"
    rows = client.query_in(f"SELECT Id, {name}, OwnerId, State, NextFireTime FROM CronTrigger "
                           "WHERE OwnerId IN {ids}", departing)
    return [{"name": (r.get("CronJobDetailName") if direct else (r.get("CronJobDetail") or {}).get("Name")) or r["Id"],
             "owner": r.get("OwnerId"), "state": r.get("State"), "next_fire": r.get("NextFireTime")} for r in rows]
