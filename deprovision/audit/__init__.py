"""The audit log: hash-chained JSON Lines written through structlog, and its review tools."""

from deprovision.audit.log import (
    AuditLogError,
    bind_run,
    chain_head,
    configure_audit,
    deferred_sync,
    get_logger,
    reset_audit,
    resolve_audit_path,
    run_context,
    unbind_run,
)

__all__ = [
    "AuditLogError", "bind_run", "chain_head", "configure_audit", "deferred_sync", "get_logger", "reset_audit",
    "resolve_audit_path", "run_context", "unbind_run",
]
