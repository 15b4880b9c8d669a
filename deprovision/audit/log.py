"""Writing the audit log: structlog configured once, one hash-chained JSON line per event.

Entry points call ``configure_audit(path)`` once; library code only does::

    log = get_logger()
    log.info("change_applied", action="freeze", target_user={...}, outcome="applied", ...)

Run context (run id, actor, org, playbook, reason, variables) is bound once per
run with ``bind_run(...)`` and added to every event until ``unbind_run()``.

Processors, in order: run context, UTC timestamp, large record-id sets moved to a
side file, redaction of secrets, JSON-safe values; then the writer adds ``seq``,
``prev``, ``hash`` (and ``hmac`` with a key) under an exclusive ``flock`` and appends
the line with one ``write`` + ``fsync``.

Event fields (what ``audit show`` and ``audit report`` read):

- run context, via ``bind_run``: ``run_id``, ``actor`` ({"id", "username"}), ``org_id``,
  ``instance``, ``playbook`` ({"name", "sha256"}), ``reason``, ``variables``;
- ``run_started``: ``users`` = [{"id", "username", "terminated_at"?}, ...] (the leavers, with the
  termination time from the playbook or CSV when known), ``planned_changes``;
- ``change_applied`` / ``change_failed`` / ``change_skipped``: ``target_user`` ({"id", "username",
  "terminated_at"?}), ``action`` (a name from ``plan.model.ACTIONS``), ``object``, ``record_ids``
  (lists above 1,000 move to ``record_ids_file`` + ``record_ids_sha256``), ``before``, ``after``,
  ``outcome`` (applied/skipped/failed), ``error_code``, ``error_message``, ``api_calls``;
- ``run_finished``: ``status``, ``counts``, ``api_calls``;
- ``verify_finished``: ``verified_run_id``, ``leftovers`` (list of strings, or of
  {"user_id"/"username", "message"}), ``outcome``;
- ``plan_refused``: ``stale`` (what moved); ``rollback_started``: ``rolls_back_run_id``.

Torn tail: a crash in the middle of a write can leave an incomplete last line.
``audit verify`` reports it as "torn tail" (not tampering). The next writer ends the
fragment with a newline, then writes a ``torn_tail_repaired`` event that chains from the
last intact event and records the offset, length and SHA-256 of everything after it (one
line, or a few after repeated crashes); the chain continues from there, and verify accepts
damaged lines followed by the repair event that names exactly them. Nothing is rewritten.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from deprovision.audit.chain import GENESIS, Tail, TailError, read_tail, seal
from deprovision.audit.redact import redact, redact_processor
from deprovision.errors import DeprovisionError

AUDIT_LOG_ENV = "DEPROVISION_AUDIT_LOG"
AUDIT_KEY_ENV = "DEPROVISION_AUDIT_KEY"
DEFAULT_LOG_NAME = "audit.jsonl"
RECORD_IDS_INLINE_MAX = 1000  # larger sets go to a side file named by its SHA-256
RECORD_IDS_DIR = "audit-records"

_RUN_CONTEXT: dict[str, Any] = {}  # fallback for events logged from worker threads
_WRITER: AuditWriter | None = None


class AuditLogError(DeprovisionError):
    """The audit log cannot be written."""


def utc_now() -> str:
    """Current UTC time, ISO 8601 with microseconds and ``Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def resolve_audit_path(state_dir: Path, given: Path | str | None = None) -> Path:
    """The audit log path: ``given``, else ``DEPROVISION_AUDIT_LOG``, else ``<state_dir>/audit.jsonl``."""
    if given:
        return Path(given)
    env = os.environ.get(AUDIT_LOG_ENV)
    return Path(env) if env else Path(state_dir) / DEFAULT_LOG_NAME


def audit_key_from_env() -> bytes | None:
    """The HMAC key from ``DEPROVISION_AUDIT_KEY`` (UTF-8 bytes), or None."""
    value = os.environ.get(AUDIT_KEY_ENV)
    return value.encode("utf-8") if value else None


# --- processors ---------------------------------------------------------------------------------

def add_run_context(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Merge the run context bound with ``bind_run`` (contextvars first, then the process-wide copy)."""
    merged = dict(structlog.contextvars.get_contextvars())
    for key, value in _RUN_CONTEXT.items():
        merged.setdefault(key, value)
    merged.update(event_dict)
    return merged


def add_timestamp(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """``ts``: the UTC time of the event (always set here, never taken from the caller)."""
    event_dict["ts"] = utc_now()
    return event_dict


class OffloadRecordIds:
    """Move ``record_ids`` lists above a threshold to ``audit-records/<sha256>.txt`` beside the log."""

    def __init__(self, log_path: Path, limit: int = RECORD_IDS_INLINE_MAX) -> None:
        self.folder = log_path.parent / RECORD_IDS_DIR
        self.limit = limit

    def __call__(self, _logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        ids = event_dict.get("record_ids")
        if not isinstance(ids, (list, tuple)):
            return event_dict
        event_dict.setdefault("record_count", len(ids))
        if len(ids) <= self.limit:
            return event_dict
        data = "".join(f"{record_id}\n" for record_id in ids).encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{digest}.txt"
        if not target.exists():
            tmp = target.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(data)
            os.replace(tmp, target)
        del event_dict["record_ids"]
        event_dict["record_ids_file"] = f"{RECORD_IDS_DIR}/{digest}.txt"
        event_dict["record_ids_sha256"] = digest
        return event_dict


def json_safe(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Values as JSON will read them back (dates, paths, sets become strings/lists), so hashes hold."""
    return json.loads(json.dumps(event_dict, default=str, ensure_ascii=False))


def to_writer(_logger: Any, _method: str, event_dict: dict[str, Any]) -> tuple[tuple, dict]:
    """Hand the finished event to the writer (the logger) as one positional argument."""
    return (event_dict,), {}


# --- the writer ---------------------------------------------------------------------------------

class AuditWriter:
    """Appends sealed events to one log file; safe across threads and processes."""

    def __init__(self, path: Path, hmac_key: bytes | None = None) -> None:
        self.path = Path(path)
        self.hmac_key = hmac_key
        self._fd: int | None = None
        self._pid = os.getpid()
        self._tail: Tail | None = None
        self._lock = threading.Lock()
        self.last_hash: str | None = None
        self._deferred = 0  # > 0 inside deferred_sync(): fsync once at its end
        self._dirty = False

    def sync(self) -> None:
        """fsync what was written since the last fsync."""
        with self._lock:
            if self._fd is not None and self._dirty:
                os.fsync(self._fd)
            self._dirty = False

    def write(self, event: dict[str, Any]) -> str:
        """Append ``event`` (adding seq, prev, hash, hmac); returns its hash."""
        with self._lock:
            fd = self._open()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                tail = self._current_tail(fd)
                data = b"\n" if tail.needs_newline else b""
                seq, prev = tail.seq, tail.hash
                if tail.torn is not None:
                    repair = {
                        "event": "torn_tail_repaired", "ts": event.get("ts") or utc_now(),
                        "torn_offset": tail.torn_offset, "torn_bytes": len(tail.torn),
                        "torn_sha256": hashlib.sha256(tail.torn).hexdigest(), "pid": os.getpid(),
                        "seq": seq + 1, "prev": prev,
                    }
                    line, prev = seal(repair, self.hmac_key)
                    seq += 1
                    data += line.encode("utf-8")
                event = {**event, "seq": seq + 1, "prev": prev}
                line, digest = seal(event, self.hmac_key)
                data += line.encode("utf-8")
                written = os.write(fd, data)
                if written != len(data):
                    raise AuditLogError(f"short write to audit log {self.path} ({written} of {len(data)} bytes)")
                if self._deferred:
                    self._dirty = True
                else:
                    os.fsync(fd)
                self._tail = Tail(seq=seq + 1, hash=digest, size=tail.size + len(data))
                self.last_hash = digest
                return digest
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _open(self) -> int:
        if self._fd is not None and self._pid != os.getpid():
            # A forked child shares the parent's open file and so its flock: open its own.
            self._fd, self._tail = None, None
        if self._fd is None:
            self._pid = os.getpid()
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            except OSError as exc:
                raise AuditLogError(f"cannot open audit log {self.path}: {exc.strerror}") from exc
        return self._fd

    def _current_tail(self, fd: int) -> Tail:
        size = os.fstat(fd).st_size
        if self._tail is not None and self._tail.size == size:
            return self._tail
        try:
            return read_tail(fd)
        except TailError as exc:
            raise AuditLogError(f"audit log {self.path} is damaged at its end: {exc}; "
                                "run `deprovision audit verify` to see where") from exc

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._tail = None

    # structlog calls the method named like the log level.
    def msg(self, event: dict[str, Any]) -> None:
        self.write(event)

    info = debug = warning = warn = error = critical = fatal = exception = log = msg


def _drop(_logger: Any, _method: str, _event_dict: dict[str, Any]) -> None:
    raise structlog.DropEvent


# --- public API ---------------------------------------------------------------------------------

def configure_audit(path: Path, hmac_key: bytes | None = None) -> None:
    """Configure structlog once, at the entry point: every event goes to the log at ``path``.

    Without ``hmac_key`` the key comes from ``DEPROVISION_AUDIT_KEY`` when set.
    """
    global _WRITER
    if _WRITER is not None:
        _WRITER.close()
    path = Path(path)
    key = hmac_key if hmac_key is not None else audit_key_from_env()
    _WRITER = AuditWriter(path, key)
    writer = _WRITER
    structlog.configure(
        processors=[add_run_context, add_timestamp, OffloadRecordIds(path), redact_processor, json_safe,
                    to_writer],
        logger_factory=lambda *_args: writer,
        wrapper_class=structlog.make_filtering_bound_logger(0),
        cache_logger_on_first_use=False,
    )


def reset_audit() -> None:
    """Close the log and forget the configuration (tests; end of a process)."""
    global _WRITER
    if _WRITER is not None:
        _WRITER.close()
        _WRITER = None
    unbind_run()
    structlog.reset_defaults()


def get_logger() -> Any:
    """The audit logger. Before ``configure_audit`` events are dropped (never printed)."""
    if not structlog.is_configured():
        structlog.configure(processors=[_drop], wrapper_class=structlog.make_filtering_bound_logger(0),
                            cache_logger_on_first_use=False)
    return structlog.get_logger("deprovision.audit")


def bind_run(**context: Any) -> None:
    """Add run context (run_id, actor, org_id, instance, playbook, reason, variables) to every event."""
    context = redact(context)
    structlog.contextvars.bind_contextvars(**context)
    _RUN_CONTEXT.update(context)


def unbind_run() -> None:
    """Drop the run context bound with ``bind_run``."""
    structlog.contextvars.unbind_contextvars(*_RUN_CONTEXT.keys())
    _RUN_CONTEXT.clear()


@contextlib.contextmanager
def run_context(**context: Any) -> Iterator[None]:
    """``bind_run(**context)`` for the duration of a ``with`` block."""
    bind_run(**context)
    try:
        yield
    finally:
        unbind_run()


@contextlib.contextmanager
def deferred_sync() -> Iterator[None]:
    """Inside this block events are still appended one ``write`` each, under the lock, but fsynced
    once at its end instead of once per event (for a burst of thousands of events whose effect is
    also in the run's journal). Without it, every event is fsynced before ``log.info`` returns."""
    writer = _WRITER
    if writer is None:
        yield
        return
    writer._deferred += 1
    try:
        yield
    finally:
        writer._deferred -= 1
        if writer._deferred == 0:
            writer.sync()


def last_hash() -> str | None:
    """Hash of the last event this process wrote (None before the first)."""
    return _WRITER.last_hash if _WRITER is not None else None


def chain_head(path: Path) -> str:
    """The ``hash`` of the last intact event of the log at ``path`` (64 zeros if empty or absent)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return GENESIS
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        return read_tail(fd).hash
    except TailError as exc:
        raise AuditLogError(f"audit log {path} is damaged at its end: {exc}") from exc
    finally:
        os.close(fd)
