"""The committed JSON Schema matches the model; variables, CSV and locations behave as documented."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from deprovision.playbook import PlaybookInvalid, load_playbook, playbook_json_schema
from deprovision.playbook.csvsource import CsvProblems, read_csv

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schema_matches_the_model():
    committed = json.loads((ROOT / "playbook.schema.json").read_text(encoding="utf-8"))
    assert committed == playbook_json_schema(), "run: deprovision schema > playbook.schema.json"


def test_schema_has_descriptions_and_refuses_unknown_keys():
    schema = playbook_json_schema()
    assert schema["additionalProperties"] is False
    assert "Who leaves" in schema["$defs"]["Selectors"]["description"]
    assert schema["properties"]["reason"]["description"]


def test_example_playbooks_point_at_the_schema():
    for path in sorted((ROOT / "playbooks").glob("*.yaml")):
        assert path.read_text().startswith("# yaml-language-server: $schema=../playbook.schema.json"), path


def write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


BASE = "version: 1\nname: n\nusers: {usernames: [a@acme.example]}\nactions: {freeze: true}\n"


def test_variables_render_values_not_yaml(tmp_path):
    path = write(tmp_path, BASE + 'reason: "{{ ticket }}: leavers"\n')
    injected = "x\nactions: {deactivate: true}"
    book = load_playbook(path, {"ticket": injected})
    assert book.reason == f"{injected}: leavers"
    assert book.actions.deactivate is False
    assert book.variables == {"ticket": injected}


def test_command_line_variables_override_defaults(tmp_path):
    path = write(tmp_path, BASE + 'reason: "{{ ticket }}"\nvars: {ticket: HR-1}\n')
    assert load_playbook(path).reason == "HR-1"
    assert load_playbook(path, {"ticket": "HR-2"}).reason == "HR-2"


def test_sha256_and_locate(tmp_path):
    path = write(tmp_path, BASE + "reason: r\n")
    book = load_playbook(path)

    assert book.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert book.locate("users", "usernames", 0) == f"{path}:3:21: users.usernames[0]"


def test_csv_handles_bom_semicolons_case_blank_lines_and_duplicates(tmp_path):
    csv_path = tmp_path / "l.csv"
    csv_path.write_bytes("\ufeffEMAIL;Ticket;TERMINATED_AT\r\n\r\na@acme.example;HR-1;2026-11-30\r\n"
                         "A@acme.example;HR-1;2026-11-30T17:00:00Z\r\nb@acme.example;;\r\n".encode())
    rows = read_csv(csv_path, "l.csv")
    assert [(r.line, r.key, r.value, r.ticket, r.terminated_at) for r in rows] == [
        (3, "email", "a@acme.example", "HR-1", "2026-11-30"),
        (5, "email", "b@acme.example", None, None),
    ]


def test_csv_reports_every_bad_row_with_its_line(tmp_path):
    csv_path = tmp_path / "l.csv"
    csv_path.write_text("Id,Email\n005xx,\n,not-an-email\n", encoding="utf-8")
    with pytest.raises(CsvProblems) as err:
        read_csv(csv_path, "l.csv")
    assert err.value.lines == ["l.csv:2: Id '005xx' is not a user id (15 or 18 characters starting 005)",
                               "l.csv:3: Email 'not-an-email' is not an email address"]


def test_csv_is_read_relative_to_the_playbook(tmp_path):
    sub = tmp_path / "books"
    sub.mkdir()
    (sub / "people.csv").write_text("username\nnina.patel@acme.example\n", encoding="utf-8")
    path = write(sub, "version: 1\nname: n\nreason: r\nusers: {csv: people.csv}\nactions: {freeze: true}\n")
    assert [r.value for r in load_playbook(path).csv_rows] == ["nina.patel@acme.example"]


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(PlaybookInvalid) as err:
        load_playbook(tmp_path / "nope.yaml")
    assert err.value.lines == [f"{tmp_path / 'nope.yaml'}: no such file"]
    assert err.value.exit_code == 2
