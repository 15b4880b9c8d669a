"""The audit writer: structlog processors, run context, record-id side files, locking, torn tails."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import re
import threading
from pathlib import Path

import structlog
from structlog.testing import capture_logs

from deprovision.audit import bind_run, chain_head, configure_audit, get_logger, reset_audit, unbind_run
from deprovision.audit.log import RECORD_IDS_INLINE_MAX, last_hash
from deprovision.audit.verify import verify_log

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_library_code_logs_through_structlog_and_tests_can_capture_it(audit_path: Path) -> None:
    with capture_logs() as captured:
        get_logger().info("change_applied", action="freeze", outcome="applied")
    assert captured == [{"event": "change_applied", "action": "freeze", "outcome": "applied",
                         "log_level": "info"}]
    assert not audit_path.exists() or audit_path.read_text() == ""


def test_an_event_carries_run_context_time_and_chain_fields(audit_path: Path) -> None:
    bind_run(run_id="r1", actor={"id": "005A", "username": "admin@acme.example"}, org_id="00D1",
             instance="https://127.0.0.1:1", playbook={"name": "p", "sha256": "0" * 64}, reason="HR-1",
             variables={"v": "1"})
    get_logger().info("change_applied", target_user={"id": "005B", "username": "b@acme.example"},
                      action="freeze", object="UserLogin", record_ids=["0Yw1"], before={"IsFrozen": False},
                      after={"IsFrozen": True}, outcome="applied", api_calls=1)
    unbind_run()
    get_logger().info("run_finished")
    first, second = _events(audit_path)
    assert TS.match(first["ts"]) and TS.match(second["ts"])
    expected = {"event": "change_applied", "run_id": "r1", "actor": {"id": "005A", "username": "admin@acme.example"},
                "org_id": "00D1", "instance": "https://127.0.0.1:1", "playbook": {"name": "p", "sha256": "0" * 64},
                "reason": "HR-1", "variables": {"v": "1"},
                "target_user": {"id": "005B", "username": "b@acme.example"}, "action": "freeze",
                "object": "UserLogin", "record_ids": ["0Yw1"], "record_count": 1, "before": {"IsFrozen": False},
                "after": {"IsFrozen": True}, "outcome": "applied", "api_calls": 1, "seq": 1, "prev": "0" * 64}
    assert {k: v for k, v in first.items() if k not in ("ts", "hash")} == expected
    assert "run_id" not in second  # unbind_run drops the context
    assert second["prev"] == first["hash"] and second["seq"] == 2
    assert chain_head(audit_path) == second["hash"] == last_hash()


def test_the_caller_cannot_backdate_an_event(audit_path: Path) -> None:
    get_logger().info("run_started", ts="2001-01-01T00:00:00.000000Z")
    assert _events(audit_path)[0]["ts"] > "2026"


def test_run_context_reaches_events_logged_from_worker_threads(audit_path: Path) -> None:
    bind_run(run_id="threaded")
    workers = [threading.Thread(target=lambda n=n: get_logger().info("change_applied", n=n)) for n in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    unbind_run()
    events = _events(audit_path)
    assert len(events) == 8 and {e["run_id"] for e in events} == {"threaded"}
    assert [e["seq"] for e in events] == list(range(1, 9))
    assert verify_log(audit_path).ok


def test_large_record_id_sets_move_to_a_side_file_named_by_its_sha256(audit_path: Path) -> None:
    ids = [f"001{n:015d}" for n in range(RECORD_IDS_INLINE_MAX + 1)]
    get_logger().info("change_applied", action="reassign_owner", record_ids=ids)
    get_logger().info("change_applied", action="reassign_owner", record_ids=ids[:3])
    big, small = _events(audit_path)
    assert "record_ids" not in big and big["record_count"] == len(ids)
    side = audit_path.parent / big["record_ids_file"]
    assert hashlib.sha256(side.read_bytes()).hexdigest() == big["record_ids_sha256"]
    assert side.read_text().split() == ids
    assert small["record_ids"] == ids[:3] and "record_ids_file" not in small


def test_values_json_cannot_represent_are_logged_as_text_and_the_chain_holds(audit_path: Path) -> None:
    from datetime import datetime

    get_logger().info("run_started", when=datetime(2026, 11, 26, 10, 0), where=Path("/tmp/x"), tags={"a"},
                      name="Zoë Ångström ✓")
    event = _events(audit_path)[0]
    assert event["when"] == "2026-11-26 10:00:00" and event["where"] == "/tmp/x" and event["tags"] == ["a"]
    assert "Zoë Ångström ✓" in audit_path.read_text(encoding="utf-8")
    assert verify_log(audit_path).ok


def test_events_are_dropped_not_printed_before_configuration(capsys) -> None:
    reset_audit()
    get_logger().info("change_applied", access_token="00D000000000001!AQ0secret")
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    structlog.reset_defaults()


def _append_many(path: str, worker: int, count: int) -> None:
    configure_audit(Path(path))
    for n in range(count):
        get_logger().info("change_applied", worker=worker, n=n)
    reset_audit()


def test_two_processes_appending_at_once_keep_one_intact_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(path), w, 150)) for w in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    result = verify_log(path)
    assert result.ok, result.summary()
    assert result.events == 300
    events = _events(path)
    for worker in range(2):
        assert [e["n"] for e in events if e["worker"] == worker] == list(range(150))


def test_a_writer_continues_a_log_written_by_an_earlier_process(sample_log: Path) -> None:
    head = chain_head(sample_log)
    configure_audit(sample_log)
    get_logger().info("run_started", run_id="later")
    reset_audit()
    last = _events(sample_log)[-1]
    assert last["prev"] == head and last["seq"] == 20
    assert verify_log(sample_log, expect_head=head).ok


def test_a_final_line_missing_only_its_newline_is_kept_and_continued(sample_log: Path) -> None:
    data = sample_log.read_bytes()
    sample_log.write_bytes(data[:-1])
    assert verify_log(sample_log).ok
    configure_audit(sample_log)
    get_logger().info("run_started", run_id="later")
    reset_audit()
    result = verify_log(sample_log)
    assert result.ok and result.events == 20 and not result.repairs


def _append_forked(count: int, worker: int) -> None:
    for n in range(count):
        get_logger().info("change_applied", worker=worker, n=n)


def test_a_forked_child_takes_its_own_lock_and_the_chain_stays_linear(audit_path: Path) -> None:
    get_logger().info("run_started")  # the parent opens the log before forking
    ctx = multiprocessing.get_context("fork")
    children = [ctx.Process(target=_append_forked, args=(100, w)) for w in range(2)]
    for child in children:
        child.start()
    _append_forked(100, 9)
    for child in children:
        child.join(60)
    assert [c.exitcode for c in children] == [0, 0]
    result = verify_log(audit_path)
    assert result.ok, result.summary()
    assert result.events == 301


def test_deferred_sync_writes_every_event_at_once_and_syncs_at_the_end(audit_path: Path, monkeypatch) -> None:
    import os

    from deprovision.audit import deferred_sync

    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    with deferred_sync():
        for n in range(50):
            get_logger().info("change_applied", n=n)
            assert len(_events(audit_path)) == n + 1  # written immediately, line by line
        assert synced == []
    assert len(synced) == 1
    get_logger().info("run_finished")
    assert len(synced) == 2
    assert verify_log(audit_path).events == 51


def test_verify_checks_the_record_id_files_the_log_names(audit_path: Path) -> None:
    ids = [f"001{n:015d}" for n in range(RECORD_IDS_INLINE_MAX + 5)]
    get_logger().info("change_applied", action="reassign_owner", record_ids=ids)
    get_logger().info("run_finished")
    assert verify_log(audit_path).ok
    side = audit_path.parent / _events(audit_path)[0]["record_ids_file"]
    side.write_text(side.read_text().replace(ids[7], "001000000000000666"))
    result = verify_log(audit_path)
    assert (result.ok, result.kind, result.line) == (False, "side_file", 1)
    assert "does not match the SHA-256" in result.reason
    side.unlink()
    assert "is missing" in verify_log(audit_path).reason
