"""Fixtures for the audit tests: a log written through the real audit API."""

from __future__ import annotations

from pathlib import Path

import pytest

from deprovision.audit import bind_run, configure_audit, get_logger, reset_audit, unbind_run

LEAVERS = [
    {"id": "005000000000011AAA", "username": "nina.patel@acme.example", "terminated_at": "2026-11-20T17:00:00Z"},
    {"id": "005000000000012AAA", "username": "omar.haddad@acme.example"},
]
ACTOR = {"id": "005000000000001AAA", "username": "admin@acme.example"}


def write_run(run_id: str, users=LEAVERS, *, fail_deactivate_of: str | None = None) -> None:
    """One realistic run through the public API: start, changes per user, finish."""
    log = get_logger()
    bind_run(run_id=run_id, actor=ACTOR, org_id="00D000000000001AAA", instance="https://127.0.0.1:8443",
             playbook={"name": "leavers-2026-11", "sha256": "ab" * 32}, reason="HR-4821: November leavers",
             variables={"month": "11"})
    log.info("run_started", users=list(users), planned_changes=6 * len(users))
    for user in users:
        target = {"id": user["id"], "username": user["username"]}
        log.info("change_applied", target_user=target, action="freeze", object="UserLogin",
                 record_ids=["0Yw" + user["id"][3:]], before={"IsFrozen": False}, after={"IsFrozen": True},
                 outcome="applied", api_calls=1)
        log.info("change_applied", target_user=target, action="revoke_oauth_token", object="OauthToken",
                 record_ids=[], before={"app": "Dataloader"}, after={}, outcome="applied", api_calls=1)
        log.info("change_applied", target_user=target, action="reassign_owner", object="Account",
                 record_ids=[f"001{n:015d}" for n in range(3)], before={"OwnerId": user["id"]},
                 after={"OwnerId": "005000000000002AAA"}, outcome="applied", api_calls=1)
        log.info("change_applied", target_user=target, action="remove_permission_set",
                 object="PermissionSetAssignment", record_ids=["0Pa000000000001AAA"],
                 before={"PermissionSet": "Sales_Extra"}, after={}, outcome="applied", api_calls=1)
        if user["username"] == fail_deactivate_of:
            log.info("change_failed", target_user=target, action="deactivate", object="User",
                     record_ids=[user["id"]], before={"IsActive": True}, after={"IsActive": False},
                     outcome="failed", error_code="CANNOT_DISABLE_LAST_ADMIN",
                     error_message="You cannot deactivate the last active administrator.", api_calls=1)
        else:
            log.info("change_applied", target_user=target, action="deactivate", object="User",
                     record_ids=[user["id"]], before={"IsActive": True}, after={"IsActive": False},
                     outcome="applied", api_calls=1)
    log.info("run_finished", status="succeeded", api_calls=10)
    unbind_run()


@pytest.fixture
def audit_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A configured, empty audit log; the configuration is reset afterwards."""
    monkeypatch.delenv("DEPROVISION_AUDIT_KEY", raising=False)
    monkeypatch.delenv("DEPROVISION_AUDIT_LOG", raising=False)
    path = tmp_path / "audit.jsonl"
    configure_audit(path)
    yield path
    reset_audit()


@pytest.fixture
def sample_log(audit_path: Path) -> Path:
    """A log of two runs (19 events)."""
    write_run("20261126T101500Z-aaaa")
    write_run("20261126T111500Z-bbbb", users=LEAVERS[:1])
    reset_audit()
    return audit_path
