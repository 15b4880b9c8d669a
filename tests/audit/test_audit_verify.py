"""verify_log detects every single-event tampering at the line where it happened."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deprovision.audit import chain_head, configure_audit, get_logger, reset_audit
from deprovision.audit.chain import seal
from deprovision.audit.verify import verify_log


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _write(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


def _rechain(events: list[dict], start: int, key: bytes | None) -> list[bytes]:
    """Re-seal events from index ``start`` on, as a forger without (or with) the key would."""
    out = []
    prev = events[start - 1]["hash"] if start else "0" * 64
    for event in events[start:]:
        body = {k: v for k, v in event.items() if k not in ("hash", "hmac")}
        body["prev"] = prev
        line, prev = seal(body, key)
        out.append(line.encode())
    return out


def test_an_untouched_log_is_intact(sample_log: Path) -> None:
    result = verify_log(sample_log)
    assert result.ok, result.summary()
    assert (result.events, result.runs, result.lines) == (19, 2, 19)
    assert result.head == chain_head(sample_log) == json.loads(_lines(sample_log)[-1])["hash"]
    assert result.summary().startswith("intact: 19 events, 2 runs, head ")


def test_every_event_is_chained_to_the_previous_one(sample_log: Path) -> None:
    events = [json.loads(line) for line in _lines(sample_log)]
    assert events[0]["prev"] == "0" * 64
    assert [e["seq"] for e in events] == list(range(1, 20))
    for before, after in zip(events, events[1:], strict=False):
        assert after["prev"] == before["hash"]


def test_editing_any_field_of_any_event_is_found_at_that_line(sample_log: Path) -> None:
    original = _lines(sample_log)
    for index in range(len(original)):
        event = json.loads(original[index])
        event["reason"] = "nothing to see here"
        edited = list(original)
        edited[index] = (json.dumps(event, sort_keys=True, separators=(",", ":")) + "\n").encode()
        _write(sample_log, edited)
        result = verify_log(sample_log)
        assert (result.ok, result.line, result.kind) == (False, index + 1, "edited"), result.summary()


def test_editing_the_raw_bytes_of_a_line_is_found(sample_log: Path) -> None:
    original = _lines(sample_log)
    edited = list(original)
    edited[6] = edited[6].replace(b'"outcome":"applied"', b'"outcome":"skipped"')
    assert edited[6] != original[6]
    _write(sample_log, edited)
    result = verify_log(sample_log)
    assert (result.line, result.kind) == (7, "edited")


def test_deleting_any_line_is_found_at_that_line(sample_log: Path) -> None:
    original = _lines(sample_log)
    for index in range(len(original) - 1):
        _write(sample_log, original[:index] + original[index + 1:])
        result = verify_log(sample_log)
        assert (result.ok, result.line, result.kind) == (False, index + 1, "removed"), result.summary()
        assert "1 event(s) missing" in result.reason


def test_deleting_the_last_line_is_found_with_the_recorded_head(sample_log: Path) -> None:
    original = _lines(sample_log)
    head = chain_head(sample_log)
    _write(sample_log, original[:-1])
    assert verify_log(sample_log).ok  # a shorter chain is still a chain: the recorded head is what proves it
    result = verify_log(sample_log, expect_head=head)
    assert (result.ok, result.line, result.kind) == (False, 19, "unexpected_head")


def test_an_older_recorded_head_still_in_the_chain_is_accepted(sample_log: Path) -> None:
    middle = json.loads(_lines(sample_log)[9])["hash"]
    result = verify_log(sample_log, expect_head=middle)
    assert result.ok and result.expected_head_line == 10


def test_inserting_a_forged_event_after_any_line_is_found_at_the_forgery(sample_log: Path) -> None:
    original = _lines(sample_log)
    for index in range(len(original) - 1):
        anchor = json.loads(original[index])
        forged = {"event": "change_applied", "action": "restore_role", "outcome": "applied",
                  "ts": anchor["ts"], "seq": anchor["seq"] + 1, "prev": anchor["hash"]}
        line, _ = seal(forged, None)
        _write(sample_log, original[:index + 1] + [line.encode()] + original[index + 1:])
        result = verify_log(sample_log)
        assert (result.ok, result.line, result.kind) == (False, index + 2, "inserted"), result.summary()


def test_inserting_a_copy_of_a_line_is_found(sample_log: Path) -> None:
    original = _lines(sample_log)
    _write(sample_log, original[:5] + [original[4]] + original[5:])
    result = verify_log(sample_log)
    assert (result.line, result.kind) == (6, "inserted")


def test_swapping_any_two_neighbours_is_found_at_the_first_of_them(sample_log: Path) -> None:
    original = _lines(sample_log)
    for index in range(len(original) - 1):
        swapped = list(original)
        swapped[index], swapped[index + 1] = swapped[index + 1], swapped[index]
        _write(sample_log, swapped)
        result = verify_log(sample_log)
        assert (result.ok, result.line, result.kind) == (False, index + 1, "reordered"), result.summary()


def test_replacing_a_line_with_a_rehashed_one_is_blamed_on_that_line(sample_log: Path) -> None:
    original = _lines(sample_log)
    events = [json.loads(line) for line in original]
    events[7]["outcome"] = "skipped"
    forged = _rechain(events, 7, None)[0]
    _write(sample_log, original[:7] + [forged] + original[8:])
    result = verify_log(sample_log)
    assert (result.line, result.kind) == (8, "edited")


def test_a_log_rechained_after_an_edit_passes_without_a_key_but_not_with_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.audit.conftest import write_run

    monkeypatch.delenv("DEPROVISION_AUDIT_KEY", raising=False)
    path = tmp_path / "audit.jsonl"
    key = b"k" * 32
    configure_audit(path, hmac_key=key)
    write_run("r1")
    reset_audit()
    assert verify_log(path, key=key).ok
    assert verify_log(path, key=key).hmac_checked
    events = [json.loads(line) for line in _lines(path)]
    assert all(len(e["hmac"]) == 64 for e in events)
    events[4]["after"] = {"OwnerId": "005000000000666AAA"}
    lines = _lines(path)
    _write(path, lines[:4] + _rechain(events, 4, None))
    assert verify_log(path).ok  # hashes alone cannot tell a re-chained log
    result = verify_log(path, key=key)
    assert (result.ok, result.line, result.kind) == (False, 5, "missing_hmac")
    _write(path, lines[:4] + _rechain(events, 4, b"guessed key"))
    result = verify_log(path, key=key)
    assert (result.ok, result.line, result.kind) == (False, 5, "bad_hmac")


def test_the_key_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPROVISION_AUDIT_KEY", "s3cret-audit-key")
    path = tmp_path / "audit.jsonl"
    configure_audit(path)
    get_logger().info("run_started", run_id="r")
    reset_audit()
    assert verify_log(path, key=b"s3cret-audit-key").ok
    assert not verify_log(path, key=b"other").ok
    assert b"s3cret-audit-key" not in path.read_bytes()


def test_a_crash_torn_tail_is_reported_distinctly_from_tampering(sample_log: Path) -> None:
    data = sample_log.read_bytes()
    last_start = data.rstrip(b"\n").rfind(b"\n") + 1
    sample_log.write_bytes(data[: last_start + 40])
    result = verify_log(sample_log)
    assert (result.ok, result.line, result.kind) == (False, 19, "torn_tail")
    assert "not tampering" in result.reason
    assert result.events == 18


def test_the_next_writer_repairs_a_torn_tail_and_the_chain_continues(sample_log: Path) -> None:
    data = sample_log.read_bytes()
    last_start = data.rstrip(b"\n").rfind(b"\n") + 1
    sample_log.write_bytes(data[: last_start + 40])
    intact_head = json.loads(data[:last_start].splitlines()[-1])["hash"]
    assert chain_head(sample_log) == intact_head
    configure_audit(sample_log)
    get_logger().info("run_started", run_id="r3")
    reset_audit()
    lines = _lines(sample_log)
    repair = json.loads(lines[-2])
    assert repair["event"] == "torn_tail_repaired" and repair["prev"] == intact_head
    assert repair["torn_bytes"] == 40
    result = verify_log(sample_log)
    assert result.ok, result.summary()
    assert result.repairs == [19] and result.events == 20
    # The fragment cannot be swapped for something else afterwards.
    lines[18] = b"x" * 40 + b"\n"
    _write(sample_log, lines)
    assert verify_log(sample_log).kind == "not_an_event"


def test_truncating_inside_any_line_is_a_torn_tail(sample_log: Path) -> None:
    data = sample_log.read_bytes()
    offsets = [0]
    for line in _lines(sample_log):
        offsets.append(offsets[-1] + len(line))
    for index in range(1, 19):
        sample_log.write_bytes(data[: offsets[index] + 10])
        result = verify_log(sample_log)
        assert (result.line, result.kind) == (index + 1, "torn_tail")


def test_a_missing_log_is_reported(tmp_path: Path) -> None:
    result = verify_log(tmp_path / "nope.jsonl")
    assert not result.ok and result.kind == "missing"


def test_heads_recorded_elsewhere_must_all_be_in_the_chain(sample_log: Path) -> None:
    events = [json.loads(line) for line in _lines(sample_log)]
    recorded = {"run a": events[11]["hash"], "run b": events[-1]["hash"]}
    result = verify_log(sample_log, recorded_heads=recorded)
    assert result.ok and result.recorded_heads_checked == 2
    _write(sample_log, _lines(sample_log)[:15])
    result = verify_log(sample_log, recorded_heads=recorded)
    assert (result.ok, result.kind, result.line) == (False, "unexpected_head", 16)
    assert "recorded by run b" in result.reason


def test_a_garbage_final_line_is_repaired_like_a_torn_one(sample_log: Path) -> None:
    with sample_log.open("ab") as stream:
        stream.write(b"\x00\x00\x00\x00\n")  # what some file systems leave after a crash
    result = verify_log(sample_log)
    assert (result.kind, result.line) == ("torn_tail", 20)
    configure_audit(sample_log)
    get_logger().info("run_started", run_id="after-crash")
    reset_audit()
    result = verify_log(sample_log)
    assert result.ok and result.repairs == [20] and result.events == 21
    assert _lines(sample_log)[19] == b"\x00\x00\x00\x00\n"  # nothing is rewritten, only appended


def test_a_crash_during_the_repair_itself_is_repaired_by_the_next_writer(sample_log: Path) -> None:
    data = sample_log.read_bytes()
    last_start = data.rstrip(b"\n").rfind(b"\n") + 1
    sample_log.write_bytes(data[: last_start + 40])  # first crash
    configure_audit(sample_log)
    get_logger().info("run_started", run_id="r3")
    reset_audit()
    repaired = sample_log.read_bytes()
    sample_log.write_bytes(repaired[: len(data[: last_start + 40]) + 60])  # second crash, inside the repair
    result = verify_log(sample_log)
    assert (result.kind, result.line) == ("torn_tail", 19)
    configure_audit(sample_log)
    get_logger().info("run_started", run_id="r4")
    reset_audit()
    result = verify_log(sample_log)
    assert result.ok, result.summary()
    assert result.repairs == [19] and result.events == 20
    assert json.loads(_lines(sample_log)[-2])["torn_bytes"] == 40 + 1 + 59
