"""The journal: what a crashed run has done, replayed line by line."""

from __future__ import annotations

import json

from deprovision.apply.journal import Journal, read_journal


def test_replay_knows_done_failed_and_in_doubt_records(tmp_path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal(path) as j:
        j.attempt()
        b1 = j.next_batch_name("freeze", "update-UserLogin")
        j.batch_started(b1, "freeze", [("c1", "0Yw1"), ("c2", "0Yw2")])
        j.record(b1, "c1", "0Yw1", "success")
        j.record(b1, "c2", "0Yw2", "failed", error_code="UNABLE_TO_LOCK_ROW", message="locked")
        j.batch_finished(b1)
        j.phase_finished("freeze")
        b2 = j.next_batch_name("reassign", "update-Account")
        j.batch_started(b2, "reassign", [("c3", "001A"), ("c3", "001B")])
        j.record(b2, "c3", "001A", "success")
    state = read_journal(path)
    assert state.attempts == 1
    assert state.is_done("c1", "0Yw1")
    assert not state.is_done("c2", "0Yw2")
    assert state.get("c2", "0Yw2").error_code == "UNABLE_TO_LOCK_ROW"
    assert state.is_done("c3", "001A") and not state.is_done("c3", "001B")
    assert state.finished_phases == {"freeze"}
    doubt = state.in_doubt()
    assert [d["b"] for d in doubt] == [b2]
    assert doubt[0]["by_change"] == {"c3": ["001A", "001B"]}
    assert state.doubt_keys() == {("c3", "001A"), ("c3", "001B")}


def test_a_torn_last_line_is_ignored(tmp_path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal(path) as j:
        j.attempt()
        j.record("b", "c1", "r1", "success")
    with open(path, "a") as fh:
        fh.write('{"k": "rec", "b": "b", "c": "c1", "r": "r2", "o": "succ')
    state = read_journal(path)
    assert state.is_done("c1", "r1")
    assert state.get("c1", "r2") is None


def test_a_later_outcome_overrides_an_earlier_failure(tmp_path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal(path) as j:
        j.record("b1", "c1", "r1", "failed", error_code="X")
    with Journal(path, attempt=2) as j:
        j.record("b2", "c1", "r1", "success")
    assert read_journal(path).is_done("c1", "r1")


def test_batch_names_differ_between_attempts(tmp_path) -> None:
    path = tmp_path / "journal.jsonl"
    first = Journal(path, attempt=1).next_batch_name("freeze", "x")
    second = Journal(path, attempt=2).next_batch_name("freeze", "x")
    assert first != second


def test_every_line_is_json_with_a_kind(tmp_path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal(path) as j:
        j.attempt()
        j.file("backup/users.csv", "ab" * 32)
        j.audited(["c1"])
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [x["k"] for x in lines] == ["attempt", "file", "audited"]
    state = read_journal(path)
    assert state.files == {"backup/users.csv": "ab" * 32}
    assert state.audited == {"c1"}


def test_record_many_writes_one_line_per_record(tmp_path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal(path) as j:
        j.record_many("b1", "005:reassign_owner:Account", ["001A", "001B", "001C"])
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [x["r"] for x in lines] == ["001A", "001B", "001C"]
    state = read_journal(path)
    assert state.success_count() == 3 and state.is_done("005:reassign_owner:Account", "001B")
