"""The apply package's bridge to the audit log: run context, one event per change, the chain head."""

from __future__ import annotations

from typing import Any


def _audit():
    import deprovision.audit as audit

    return audit


def bind(run_id: str, plan, *, kind: str = "apply") -> None:
    """Put the run's context (id, actor, org, playbook, reason) on every event that follows."""
    pb = plan.playbook or {}
    _audit().bind_run(
        run_id=run_id,
        run_kind=kind,
        actor=(plan.api_user or {}).get("username"),
        actor_id=(plan.api_user or {}).get("id"),
        org_id=plan.org_id,
        playbook=pb.get("name"),
        playbook_sha256=pb.get("sha256"),
        reason=pb.get("reason"),
    )


def unbind() -> None:
    audit = _audit()
    if hasattr(audit, "unbind_run"):
        audit.unbind_run()


def event(name: str, **fields: Any) -> None:
    """Append one hash-chained event to the audit log."""
    _audit().get_logger().info(name, **fields)


def chain_head() -> str | None:
    """The hash of the newest event this process wrote to the audit log (the chain head)."""
    return _audit().log.last_hash()
