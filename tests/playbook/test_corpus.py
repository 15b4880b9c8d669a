"""Malformed playbooks: each gives its one-line error with file:line:col through the CLI, exit 2, no org."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
CORPUS = HERE / "corpus"

EXPECTED = {
    "actions_not_mapping": "5:10: actions: expected a mapping, got a list",
    "anchor_merge": "6:3: actions: YAML merge keys (<<) are not supported; write the keys out",
    "backup_not_list": "7:14: actions.backup.objects: expected a list, got 'Account'",
    "bad_email": "5:29: users.emails[1]: 'not-an-email' is not an email address",
    "bad_id": "5:9: users.ids[0]: '005xyz' is not a user id (15 or 18 characters starting 005)",
    "bad_object_name": "8:7: actions.reassign.objects: 'Acc ount' is not an object API name",
    "bad_on_missing": "6:15: users.on_missing: Input should be 'error' or 'warn'",
    "bad_successor": "7:19: actions.reassign.default.to: 'boss' is not a successor: use manager, "
                     "user:USERNAME, id:005..., or queue:DEVELOPER_NAME",
    "bad_successor_id": "8:21: actions.reassign.objects.Account.to: '005000000000001XYZ' is not a valid user id",
    "csv_bad_date": "corpus/csv_bad_date.csv:3: terminated_at '2026-13-45' is not an ISO date or date-time",
    "csv_bad_email": "corpus/csv_bad_email.csv:3: Email 'not-an-email' is not an email address",
    "csv_missing": "5:8: users.csv: corpus/nowhere.csv: file not found",
    "csv_no_identity": "corpus/csv_no_identity.csv:1: no Username, Email, Id or FederationIdentifier column "
                       "(header: Name, Department)",
    "duplicate_key": "4:1: name: duplicate key 'name' (first at line 2)",
    "empty": "1:1: the playbook is empty",
    "empty_where": "5:10: users.where: an empty condition would select every user",
    "freeze_not_bool": "6:11: actions.freeze: expected true or false, got 'maybe'",
    "id_wrong_prefix": "5:9: users.ids[0]: '001000000000001AAA' is not a user id (15 or 18 characters starting 005)",
    "list_root": "1:1: the playbook must be a mapping (version, name, users, ...), not a list",
    "max_users_text": "6:14: limits.max_users: expected a whole number, got 'many'",
    "max_users_zero": "6:14: limits.max_users: Input should be greater than or equal to 1",
    "missing_actions": "1:1: actions: required, but missing",
    "missing_name": "1:1: name: required, but missing",
    "missing_users": "1:1: users: required, but missing",
    "missing_version": "1:1: version: required, but missing",
    "name_empty": "2:7: name: String should have at least 1 character",
    "no_selector": "4:8: users: at least one selector is needed: usernames, emails, ids, federation_ids, csv or where",
    "protect_profiles_string": "6:13: protect.profiles: expected a list, got 'System Administrator'",
    "revoke_bad_name": "7:22: actions.revoke.permission_sets: 'Sales Extra' is not an API name",
    "revoke_bad_value": "7:22: actions.revoke.permission_sets: expected 'all' or a list of API names",
    "scalar_root": "1:1: the playbook must be a mapping (version, name, users, ...), not a single value",
    "syntax_error": "6:8: invalid YAML: expected ',' or ']', but got ':' (while parsing a flow sequence "
                    "started at line 5)",
    "tab_indent": "4:1: invalid YAML: found character '\\t' that cannot start any token "
                  "(while scanning for the next token)",
    "template_syntax": "3:9: reason: template error: unexpected end of template, expected 'end of print statement'.",
    "undefined_variable": "3:9: reason: undefined variable 'ticket' (give it with --var ticket=VALUE or under vars:)",
    "unknown_revoke_key": "7:5: actions.revoke.tokens: unknown key 'tokens' (did you mean 'oauth_tokens'?)",
    "unknown_rule_key": "9:9: actions.reassign.objects.Case.owner: unknown key 'owner' (did you mean 'where'?)",
    "unknown_selector": "5:3: users.usernmaes: unknown key 'usernmaes' (did you mean 'usernames'?)",
    "unknown_top_key": "4:1: nmae: unknown key 'nmae' (did you mean 'name'?)",
    "usernames_not_list": "5:14: users.usernames: expected a list, got 'nina.patel@acme.example'",
    "version_string": "1:10: version: unsupported playbook version 'one'; this deprovision reads version 1",
    "wrong_version": "1:10: version: unsupported playbook version 2; this deprovision reads version 1",
}


def run_cli(*args: str, cwd: Path, state_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEPROVISION_STATE_DIR": str(state_dir), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-c", "from deprovision.cli import main; main()", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def expected_line(name: str) -> str:
    text = EXPECTED[name]
    return text if text.startswith("corpus/") else f"corpus/{name}.yaml:{text}"


def test_corpus_is_complete():
    files = sorted(p.stem for p in CORPUS.glob("*.yaml"))
    assert files == sorted(EXPECTED)
    assert len(files) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_playbook_is_refused_with_its_location(name, tmp_path):
    state = tmp_path / "state"
    result = run_cli("validate", f"corpus/{name}.yaml", cwd=HERE, state_dir=state)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == expected_line(name)
    assert lines[-1] == "Error: 1 of 1 playbook is invalid"
    assert "Traceback" not in result.stderr
    assert not state.exists()  # no org, no local org database


def test_plan_refuses_an_invalid_playbook_before_touching_an_org(tmp_path):
    state = tmp_path / "state"
    result = run_cli("plan", "corpus/unknown_selector.yaml", cwd=HERE, state_dir=state)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == "Error: " + expected_line("unknown_selector")
    assert not state.exists()


def test_several_problems_are_reported_at_once(tmp_path):
    book = tmp_path / "many.yaml"
    book.write_text("version: 1\nname: x\nreason: r\nusers:\n  emails: [bad]\n  ids: ['12']\n"
                    "actions:\n  freeze: perhaps\n", encoding="utf-8")
    result = run_cli("validate", str(book), cwd=tmp_path, state_dir=tmp_path / "s")
    assert result.returncode == 2
    assert result.stderr.splitlines()[:3] == [
        f"{book}:5:12: users.emails[0]: 'bad' is not an email address",
        f"{book}:6:9: users.ids[0]: '12' is not a user id (15 or 18 characters starting 005)",
        f"{book}:8:11: actions.freeze: expected true or false, got 'perhaps'",
    ]


def test_valid_playbook_passes_and_variables_come_from_the_command_line(tmp_path):
    result = run_cli("validate", "corpus/undefined_variable.yaml", "--var", "ticket=HR-9", cwd=HERE,
                     state_dir=tmp_path / "s")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "corpus/undefined_variable.yaml: valid (corpus)"


def test_vars_file_and_var_precedence(tmp_path):
    book = tmp_path / "b.yaml"
    book.write_text('version: 1\nname: "{{ team }}"\nreason: "{{ ticket }}"\nusers: {usernames: [a@acme.example]}\n'
                    "actions: {freeze: true}\n", encoding="utf-8")
    (tmp_path / "vars.yaml").write_text("ticket: HR-7\nteam: sales\n", encoding="utf-8")
    result = run_cli("validate", "b.yaml", "--vars-file", "vars.yaml", "--var", "team=support", cwd=tmp_path,
                     state_dir=tmp_path / "s")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "b.yaml: valid (support)"
    result = run_cli("validate", "b.yaml", "--var", "no-equals-sign", cwd=tmp_path, state_dir=tmp_path / "s")
    assert result.returncode == 2
    assert result.stderr.strip() == "Error: --var expects NAME=VALUE with NAME a plain identifier, got 'no-equals-sign'"


def test_schema_command_prints_the_committed_schema(tmp_path):
    result = run_cli("schema", cwd=tmp_path, state_dir=tmp_path / "s")
    assert result.returncode == 0
    assert json.loads(result.stdout) == json.loads((HERE.parents[1] / "playbook.schema.json").read_text())
    assert not (tmp_path / "s").exists()
