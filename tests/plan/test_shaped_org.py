"""Through the CLI against a served org unlike the demo (shape ``custom.yaml``: a managed object, custom fields,
a custom User hierarchy field, files, no Territory Management): reassign.objects: all moves every owned record
to the planned successor, the backup holds every described field and the files, a saved plan applies, the
hierarchy field is re-pointed, verify and rollback pass."""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from localorg_support import connect  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SHAPE = ROOT / "deprovision" / "localorg" / "shapes" / "custom.yaml"
LEAVER = "nina.patel@acme.example"
SUCCESSOR = "ops@acme.example"
PLAYBOOK = f"""version: 1
name: shaped
reason: "T-1: leaver in a shaped org"
users: {{usernames: [{LEAVER}]}}
actions:
  freeze: true
  backup: {{objects: all, files: true}}
  revoke: {{permission_sets: all, territories: all}}
  reassign:
    default: {{to: "user:{SUCCESSOR}"}}
    objects: all
  repoint_dependants: true
  deactivate: true
"""


@pytest.fixture
def shaped(cli, tmp_path, localorg_cert_dir):
    """The demo seed in the custom shape, served, with a leaver owning managed records and a file and named in
    a colleague's Mentor__c."""
    from deprovision.localorg.server import LocalOrgServer

    code, _, err = cli("localorg", "reset", "--shape", str(SHAPE), "--seed", "demo")
    assert code == 0, err
    server = LocalOrgServer(cli.state_dir / "localorg.sqlite3", cert_dir=localorg_cert_dir).start()
    sf = connect(server)
    nina = sf.query(f"SELECT Id FROM User WHERE Username = '{LEAVER}'")["records"][0]["Id"]
    for n in range(3):
        sf.acme__Thing__c.create({"Name": f"Thing {n}", "acme__Amount__c": 10 * n, "OwnerId": nina})
    colleague = sf.query("SELECT Id FROM User WHERE IsActive = true AND Username LIKE 'omar%'")["records"][0]["Id"]
    sf.User.update(colleague, {"Mentor__c": nina})
    body = b"contract text\n" * 50
    sf.ContentVersion.create({"Title": "Contract", "PathOnClient": "contract.txt", "OwnerId": nina,
                              "VersionData": base64.b64encode(body).decode()})
    try:
        yield server, sf, {"nina": nina, "colleague": colleague, "body": body}
    finally:
        server.stop()


def owned_by(sf, obj: str, owner: str) -> int:
    return sf.query(f"SELECT COUNT() FROM {obj} WHERE OwnerId = '{owner}'")["totalSize"]


def test_a_saved_plan_for_everything_a_leaver_owns_applies_verifies_and_rolls_back(cli, shaped, tmp_path):
    server, sf, ids = shaped
    org = ["--instance-url", server.instance_url, "--access-token", server.access_token,
           "--ca-bundle", str(server.ca_bundle)]
    book = tmp_path / "shaped.yaml"
    book.write_text(PLAYBOOK, encoding="utf-8")
    plan_file = tmp_path / "plan.json"
    code, out, err = cli("plan", str(book), "--format", "json", "--out", str(plan_file), *org)
    assert code == 0, err
    plan = json.loads(out)
    codes = {w["code"]: w["message"] for w in plan["warnings"]}
    assert "territories: not enabled in this org" in codes["feature_not_enabled"]
    moved = {c["object"]: c for c in plan["changes"] if c["action"] == "reassign_owner"}
    assert {"Account", "acme__Thing__c", "ContentDocument"} <= set(moved)
    assert all(c["successor"]["name"] for c in moved.values())
    mentor = [c for c in plan["changes"] if c["action"] == "repoint_hierarchy_field"]
    assert [(c["record_ids"], list(c["before"])) for c in mentor] == [([ids["colleague"]], ["Mentor__c"])]
    assert "acme__Thing__c" in plan["backup_objects"] and plan["backup_files"] is True

    code, _, err = cli("apply", str(plan_file), "--yes", *org)
    assert code == 0, err
    successor = sf.query(f"SELECT Id FROM User WHERE Username = '{SUCCESSOR}'")["records"][0]["Id"]
    for obj, change in moved.items():
        assert owned_by(sf, obj, ids["nina"]) == 0, obj
        rows = sf.query_all(f"SELECT OwnerId FROM {obj} WHERE Id IN "
                            f"({','.join(repr(i) for i in change['record_ids'][:200])})")["records"]
        assert {r["OwnerId"] for r in rows} == {successor}, obj
    assert sf.User.get(ids["colleague"])["Mentor__c"] == successor

    run = sorted((cli.state_dir / "runs").iterdir())[-1]
    backup = run / "backup"
    described = {f["name"] for f in sf.acme__Thing__c.describe()["fields"] if f["type"] not in ("base64", "address")}
    with open(backup / "records" / "acme__Thing__c.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert set(rows[0]) == described and len(rows) == 3
    assert {r["acme__Amount__c"] for r in rows} >= {"10.0", "20.0"} or {r["acme__Amount__c"] for r in rows} >= {
        "10", "20"}
    with open(backup / "records" / "Account.csv", encoding="utf-8") as fh:
        assert "Region__c" in next(csv.reader(fh))
    files = {f.name: f.read_bytes() for f in (backup / "files" / "ContentVersion").iterdir()}
    assert ids["body"] in files.values()
    sums = (backup / "SHA256SUMS").read_text()
    for name, data in files.items():  # every file streamed to disk, each with its SHA-256
        assert f"{hashlib.sha256(data).hexdigest()}  files/ContentVersion/{name}" in sums

    code, _, err = cli("verify", run.name, *org)
    assert code == 0, err
    # verify checks the re-pointed hierarchy field against the plan: moved to a third user, it is named
    admin = sf.query("SELECT Id FROM User WHERE Username = 'admin@acme.example'")["records"][0]["Id"]
    sf.User.update(ids["colleague"], {"Mentor__c": admin})
    code, out, err = cli("verify", run.name, *org)
    assert code == 1 and "Mentor__c is " + admin in out + err, out + err
    sf.User.update(ids["colleague"], {"Mentor__c": successor})
    code, _, err = cli("rollback", run.name, "--yes", *org)
    assert code == 0, err
    assert owned_by(sf, "acme__Thing__c", ids["nina"]) == 3
    assert sf.User.get(ids["colleague"])["Mentor__c"] == ids["nina"]
