"""``deprovision org check``: the connection, the API user and the permissions deprovisioning needs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from deprovision.cli import main
from deprovision.localorg.server import LocalOrgServer

from .conftest import ADMIN_ID


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def direct(server: LocalOrgServer, token: str | None = None) -> list[str]:
    return ["--instance-url", server.instance_url, "--access-token", token or server.access_token,
            "--ca-bundle", server.ca_bundle]


def test_check_shows_org_user_limits_and_permissions(org_server: LocalOrgServer, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["--state-dir", str(tmp_path), "org", "check", *direct(org_server)], capsys)
    assert code == 0, err
    assert f"Org           {org_server.org_id} (Acme Industries, production)" in out
    assert f"API user      admin@acme.example (Ada Admin, {ADMIN_ID})" in out
    assert "API version   62.0" in out
    assert " left today" in out
    assert "yes Manage Users" in out and "yes Transfer Record" in out
    assert "Result        ready" in out
    assert org_server.access_token not in out + err


def test_check_as_json(org_server: LocalOrgServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--state-dir", str(tmp_path), "org", "check", "--format", "json", *direct(org_server)],
                       capsys)
    data = json.loads(out)
    assert code == 0
    assert data["org_id"] == org_server.org_id and data["ok"] is True and data["is_sandbox"] is False
    assert data["api_user"]["id"] == ADMIN_ID
    assert data["daily_api_requests"]["remaining"] <= data["daily_api_requests"]["max"]
    assert data["permissions"] == {"Manage Users": True, "View Setup and Configuration": True,
                                   "Modify All Data": True, "Transfer Record": True}
    # the admin's profile proves it sees every user's tokens, sessions and private reports (none unproved)
    assert data["visibility"] and set(data["visibility"].values()) == {True}, data["visibility"]


def test_a_user_without_the_permissions_fails_the_check(org_server: LocalOrgServer, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    store = org_server.store
    profile = store.query("SELECT Id FROM Profile WHERE Name = 'Standard User'").records[0]["Id"]
    user_id = store.create("User", {"Username": "std.check@acme.example", "Email": "std.check@acme.example",
                                    "LastName": "Standard", "Alias": "stdchk", "ProfileId": profile},
                           actor_id=ADMIN_ID)
    token = store.issue_token(user_id)
    code, out, err = run(["--state-dir", str(tmp_path), "org", "check", *direct(org_server, token)], capsys)
    assert code == 1
    assert "no  Manage Users" in out
    assert err.strip().startswith("Error: std.check@acme.example lacks permissions deprovisioning needs: Manage "
                                  "Users; View Setup and Configuration; Modify All Data or Transfer Record; "
                                  "cannot see every user's OAuth tokens (needs Customize Application, "
                                  "PermissionsCustomizeApplication); "
                                  "cannot see every user's sessions (needs Manage Users, PermissionsManageUsers); "
                                  "cannot see reports and dashboards in other users' private folders (needs Manage "
                                  "All Private Reports and Dashboards, PermissionsManagePvtRptsAndDashbds)")
    assert "no  every user's sessions (Manage Users)" in out


def test_a_plan_whose_revoke_the_api_user_cannot_see_is_refused(org_server: LocalOrgServer, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    store = org_server.store
    profile = store.query("SELECT Id FROM Profile WHERE Name = 'Standard User'").records[0]["Id"]
    ids = [store.create("User", {"Username": f"{name}@acme.example", "Email": f"{name}@acme.example",
                                 "LastName": name, "Alias": name[:8], "ProfileId": profile}, actor_id=ADMIN_ID)
           for name in ("blind.api", "blind.leaver")]
    book = tmp_path / "p.yaml"
    book.write_text("version: 1\nname: p\nreason: r\nusers: {usernames: [blind.leaver@acme.example]}\n"
                    "actions: {revoke: {sessions: true}}\n", encoding="utf-8")
    code, out, err = run(["--state-dir", str(tmp_path), "plan", str(book),
                          *direct(org_server, store.issue_token(ids[0]))], capsys)
    assert code == 1, err
    assert err.strip().startswith("Error: blind.api@acme.example cannot see every user's sessions (needs Manage "
                                  "Users, PermissionsManageUsers): revoke.sessions would find only part of them")


def test_no_connection_is_exit_1_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPROVISION_RETRY_BASE_DELAY", "0.001")
    code, out, err = run(["--state-dir", str(tmp_path), "org", "check", "--instance-url", "https://127.0.0.1:9",
                          "--access-token", "00D000000000001!fake"], capsys)
    assert code == 1 and out == ""
    assert err.startswith("Error: read the API user's identity failed: cannot connect to the org")
    assert "fake" not in err and "Traceback" not in err


def test_an_unknown_named_org_is_invalid_input(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "deprovision.toml"
    config.write_text('[orgs.prod]\nmethod = "password"\nusername = "a@b.c"\npassword_env = "X"\n')
    monkeypatch.setenv("DEPROVISION_CONFIG", str(config))
    code, _, err = run(["--state-dir", str(tmp_path), "org", "check", "--org", "staging"], capsys)
    assert code == 2
    assert err.startswith("Error: unknown org 'staging' in ") and "(known: prod)" in err


def test_default_is_the_embedded_local_org(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SF_INSTANCE_URL", "SF_ACCESS_TOKEN", "DEPROVISION_ORG"):
        monkeypatch.delenv(name, raising=False)
    code, out, err = run(["--state-dir", str(tmp_path), "org", "check", "--format", "json"], capsys)
    assert code == 0, err
    assert json.loads(out)["connection"] == "local org"
    assert (tmp_path / "localorg.sqlite3").is_file()
    assert os.environ.get("SF_ACCESS_TOKEN") is None
