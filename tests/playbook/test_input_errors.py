"""Bad inputs keep the error contract: exit 2 and one ``Error:`` line naming the file (and the line and
column for a CSV), never an ``unexpected`` error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PLAYBOOK = "version: 1\nname: t\nreason: r\nusers:\n  csv: leavers.csv\nactions:\n  freeze: true\n"


def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "DEPROVISION_"))}
    full.update({"NO_COLOR": "1", **(env or {})})
    return subprocess.run([sys.executable, "-c", "from deprovision.cli import main; main()", *args],
                          capture_output=True, text=True, env=full, cwd=cwd, timeout=120)


def one_error(out: subprocess.CompletedProcess) -> str:
    """The single ``Error:`` line of a run that exited 2."""
    assert out.returncode == 2, out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, out.stderr
    assert "unexpected" not in out.stderr and "Traceback" not in out.stderr
    return errors[0]


@pytest.fixture
def book(tmp_path: Path) -> Path:
    path = tmp_path / "pb.yaml"
    path.write_text(PLAYBOOK)
    return path


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_repeated_header_column_is_refused(tmp_path: Path, book: Path, command: str) -> None:
    (tmp_path / "leavers.csv").write_text("Username,Email,Username\nnina.patel@acme.example,n@acme.example,x@y.z\n")
    out = run(tmp_path, "--state-dir", str(tmp_path / "state"), command, "pb.yaml")
    if command == "validate":
        assert out.returncode == 2
        assert "leavers.csv:1:3: column 'Username' appears twice in the header (columns 1 and 3)" in out.stderr
        assert "unexpected" not in out.stderr
    else:
        assert one_error(out) == "Error: leavers.csv:1:3: column 'Username' appears twice in the header " \
                                 "(columns 1 and 3)"
    assert not (tmp_path / "state" / "localorg.sqlite3").exists()  # refused before any org is touched


def test_two_headers_naming_the_same_field_are_refused(tmp_path: Path, book: Path) -> None:
    (tmp_path / "leavers.csv").write_text("Id,User_Id\n0058d000000000CAAQ,0058d000000000DAAQ\n")
    line = one_error(run(tmp_path, "plan", "pb.yaml", env={"DEPROVISION_STATE_DIR": str(tmp_path / "s")}))
    assert line == "Error: leavers.csv:1:2: column 'User_Id' names the same field as column 1"


def test_a_field_over_128_kb_names_the_file_line_and_column(tmp_path: Path, book: Path) -> None:
    (tmp_path / "leavers.csv").write_text("Username,ticket\nnina.patel@acme.example,ok\n"
                                          "omar.haddad@acme.example," + "x" * 140_000 + "\n")
    line = one_error(run(tmp_path, "plan", "pb.yaml", env={"DEPROVISION_STATE_DIR": str(tmp_path / "s")}))
    assert line == "Error: leavers.csv:3:2: field of 140,000 characters, more than 131,072"


def test_a_field_just_under_the_limit_is_read(tmp_path: Path) -> None:
    from deprovision.playbook.csvsource import MAX_FIELD, read_csv

    path = tmp_path / "leavers.csv"
    path.write_text("Username,ticket\nnina.patel@acme.example," + "x" * MAX_FIELD + "\n")
    assert read_csv(path, "leavers.csv")[0].ticket == "x" * MAX_FIELD


def test_csv_naming_a_folder_is_refused(tmp_path: Path, book: Path) -> None:
    (tmp_path / "leavers.csv").mkdir()
    line = one_error(run(tmp_path, "plan", "pb.yaml", env={"DEPROVISION_STATE_DIR": str(tmp_path / "s")}))
    assert line == "Error: pb.yaml:5:8: users.csv: leavers.csv: is a folder, not a CSV file"


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_state_dir_that_is_a_file_is_refused(tmp_path: Path, book: Path, how: str) -> None:
    state = tmp_path / "state-file"
    state.write_text("not a folder")
    args = ["--state-dir", str(state)] if how == "option" else []
    env = {"DEPROVISION_STATE_DIR": str(state)} if how == "environment" else {}
    for command in (["plan", "pb.yaml"], ["runs"], ["audit", "verify"]):
        line = one_error(run(tmp_path, *args, *command, env=env))
        assert line == f"Error: state folder {state} (--state-dir or DEPROVISION_STATE_DIR) is a file, not a folder"
    assert state.read_text() == "not a folder"
