"""The real Salesforce CLI (``sf``, scripts/install-sf-cli.sh) runs unchanged against a served demo org: login
with an access token, identity, query past 2,000 rows and with a sub-select, record create / update / get /
delete with Account.Description, sObject Collections with a per-record error (``sf api request rest``),
Bulk API 2.0 export and import, describe (reference/salesforce-cli.md)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from clients_support import serve_demo
from localorg_support import connect, sf_or_skip

ALIAS = "localclients"


@pytest.fixture(scope="module")
def org(tmp_path_factory, localorg_cert_dir):
    yield from serve_demo(tmp_path_factory.mktemp("sf-cli-org"), localorg_cert_dir)


class Sf:
    """``sf ... --json`` in an isolated HOME, logged in to the served org as ``ALIAS``."""

    def __init__(self, command: list[str], home: Path, org) -> None:
        self.command = command
        self.cwd = home
        self.env = {**os.environ, "HOME": str(home), "SF_DISABLE_TELEMETRY": "true", "SF_AUTOUPDATE_DISABLE": "true",
                    "SF_USE_GENERIC_UNIX_KEYCHAIN": "true", "NODE_EXTRA_CA_CERTS": org.ca_bundle}

    def raw(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([*self.command, *args], env={**self.env, **(env or {})}, cwd=self.cwd,
                              capture_output=True, text=True, timeout=300, check=False)

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> dict:
        done = self.raw(*args, "--json", env=env)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return json.loads(done.stdout)["result"]


@pytest.fixture(scope="module")
def sf_cli(org, tmp_path_factory) -> Sf:
    home = tmp_path_factory.mktemp("sf-home")
    cli = Sf(sf_or_skip(), home, org)
    login = cli("org", "login", "access-token", "--instance-url", org.instance_url, "--alias", ALIAS,
                "--no-prompt", env={"SF_ACCESS_TOKEN": org.access_token})
    assert login["username"] == "admin@acme.example" and login["orgId"] == org.org_id
    return cli


def test_identity_of_the_logged_in_user(org, sf_cli) -> None:
    user = sf_cli("org", "display", "user", "-o", ALIAS)
    assert (user["id"], user["orgId"], user["username"]) == (org.store.api_user_id, org.org_id,
                                                             "admin@acme.example")
    assert user["profileName"] == "System Administrator"


def test_query_fetches_every_page_past_2000_rows(org, sf_cli) -> None:
    total = connect(org).query("SELECT COUNT() FROM Contact")["totalSize"]
    assert total > 2000
    result = sf_cli("data", "query", "-q", "SELECT Id, Name FROM Contact", "-o", ALIAS)
    assert result["totalSize"] == total and len({r["Id"] for r in result["records"]}) == total


def test_query_with_a_sub_select(sf_cli) -> None:
    result = sf_cli("data", "query", "-q", "SELECT Name, (SELECT LastName FROM Contacts) FROM Account "
                    "ORDER BY Name LIMIT 20", "-o", ALIAS)
    children = [r["Contacts"] for r in result["records"]]
    assert any(c is not None for c in children)
    assert all(c is None or (c["done"] is True and c["totalSize"] == len(c["records"])) for c in children)


def test_record_create_update_get_delete_with_description(org, sf_cli) -> None:
    created = sf_cli("data", "create", "record", "-s", "Account", "-v", "Name='CLI Account' Description='made by sf'",
                     "-o", ALIAS)
    record_id = created["id"]
    sf_cli("data", "update", "record", "-s", "Account", "-i", record_id, "-v", "Description='changed by sf'",
           "-o", ALIAS)
    got = sf_cli("data", "get", "record", "-s", "Account", "-i", record_id, "-o", ALIAS)
    assert got["Description"] == "changed by sf" and got["Name"] == "CLI Account"
    sf_cli("data", "delete", "record", "-s", "Account", "-i", record_id, "-o", ALIAS)
    assert connect(org).query_all(f"SELECT Id FROM Account WHERE Id = '{record_id}'")["totalSize"] == 0


def test_collections_per_record_errors_through_api_request(sf_cli) -> None:
    body = {"allOrNone": False, "records": [{"attributes": {"type": "Account"}, "Name": "CLI Coll"},
                                            {"attributes": {"type": "Account"}, "Description": "no name"}]}
    done = sf_cli.raw("api", "request", "rest", "/services/data/v62.0/composite/sobjects", "--method", "POST",
                      "--body", json.dumps(body), "-o", ALIAS)
    assert done.returncode == 0, done.stderr[-3000:]
    ok, bad = json.loads(done.stdout)
    assert ok["success"] is True and ok["id"].startswith("001")
    assert bad == {"success": False, "errors": [{"statusCode": "REQUIRED_FIELD_MISSING",
                                                 "message": "Required fields are missing: [Name]",
                                                 "fields": ["Name"]}]}


def test_bulk_api_2_export_and_import(org, sf_cli) -> None:
    out = sf_cli.cwd / "contacts.csv"
    exported = sf_cli("data", "export", "bulk", "-q", "SELECT Id, Name FROM Contact", "--output-file", str(out),
                      "--wait", "5", "-o", ALIAS)
    total = connect(org).query("SELECT COUNT() FROM Contact")["totalSize"]
    assert exported["totalSize"] == total
    lines = out.read_text().splitlines()
    assert lines[0] == '"Id","Name"' and len(lines) == total + 1
    upload = sf_cli.cwd / "accounts.csv"
    upload.write_text("Name,Description\nCLI Bulk 1,one\nCLI Bulk 2,two\n")
    imported = sf_cli("data", "import", "bulk", "--file", str(upload), "--sobject", "Account", "--wait", "5",
                      "-o", ALIAS)
    assert (imported["processedRecords"], imported["successfulRecords"], imported["failedRecords"]) == (2, 2, 0)
    rows = connect(org).query("SELECT Description FROM Account WHERE Name LIKE 'CLI Bulk %' ORDER BY Name")
    assert [r["Description"] for r in rows["records"]] == ["one", "two"]


def test_describe(sf_cli) -> None:
    described = sf_cli("sobject", "describe", "-s", "Account", "-o", ALIAS)
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["Description"]["type"] == "textarea" and fields["Description"]["updateable"] is True
    assert "Contacts" in {c["relationshipName"] for c in described["childRelationships"]}
