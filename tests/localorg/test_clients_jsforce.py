"""jsforce 3 (Node.js), a second client independent of this project, runs unchanged against a served demo org:
identity, query with autoFetch past 2,000 rows, sub-selects, record create / update / retrieve / delete with
Account.Description, sObject Collections with a per-record error, Bulk API 2.0 query and ingest, describe,
limits. ``clients/jsforce_checks.js`` does it all in one process and reports what it saw."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from clients_support import ROOT, serve_demo
from localorg_support import connect

JSFORCE_DIR = ROOT / ".tools" / "jsforce"
SCRIPT = Path(__file__).with_name("clients") / "jsforce_checks.js"


def _jsforce() -> Path:
    """.tools/jsforce, installed by scripts/install-jsforce.sh when missing; skipped only without npm/node."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("jsforce needs Node.js and npm, which are not installed")
    if not (JSFORCE_DIR / "node_modules" / "jsforce" / "package.json").exists():
        done = subprocess.run(["bash", str(ROOT / "scripts" / "install-jsforce.sh"), str(JSFORCE_DIR)],
                              capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, f"scripts/install-jsforce.sh failed:\n{done.stdout}\n{done.stderr}"
    return JSFORCE_DIR


@pytest.fixture(scope="module")
def org(tmp_path_factory, localorg_cert_dir):
    yield from serve_demo(tmp_path_factory.mktemp("jsforce-org"), localorg_cert_dir)


@pytest.fixture(scope="module")
def seen(org) -> dict:
    """What jsforce saw, step by step (``{"error": ...}`` for a step that failed)."""
    folder = _jsforce()
    env = {**os.environ, "JSFORCE_DIR": str(folder), "SF_INSTANCE_URL": org.instance_url,
           "SF_ACCESS_TOKEN": org.access_token, "NODE_EXTRA_CA_CERTS": org.ca_bundle}
    done = subprocess.run(["node", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(done.stdout)


def test_identity_comes_from_the_version_resource_list(org, seen) -> None:
    assert seen["identity"] == {"user_id": org.store.api_user_id, "organization_id": org.org_id,
                                "username": "admin@acme.example"}


def test_query_autofetch_reads_every_page(org, seen) -> None:
    total = connect(org).query("SELECT COUNT() FROM Contact")["totalSize"]
    assert total > 2000
    assert seen["query_autofetch"] == {"totalSize": total, "fetched": total, "done": True, "distinct": total}


def test_subquery_children_are_nested_results_or_null(seen) -> None:
    sub = seen["subquery"]
    assert sub["parents"] == 50 and sub["withChildren"] + sub["nullChildren"] == 50
    first = sub["first"]
    assert first["done"] is True and first["totalSize"] == len(first["records"]) > 0
    names = [r["LastName"] for r in first["records"]]
    assert names == sorted(names)


def test_record_create_update_retrieve_delete_with_description(seen) -> None:
    crud = seen["crud"]
    assert crud["created"]["success"] is True and crud["updated"]["success"] is True
    assert crud["description"] == "changed by jsforce"
    assert crud["deleted"] == {"id": crud["created"]["id"], "success": True, "errors": []}
    assert crud["afterDelete"] in ("ENTITY_IS_DELETED", "NOT_FOUND")


def test_collections_report_each_record(seen) -> None:
    first, bad, third = seen["collections"]
    assert first["success"] is True and third["success"] is True
    assert bad == {"success": False, "errors": [{"statusCode": "REQUIRED_FIELD_MISSING",
                                                 "message": "Required fields are missing: [Name]",
                                                 "fields": ["Name"]}]}


def test_bulk_api_2_query_and_ingest(org, seen) -> None:
    total = connect(org).query("SELECT COUNT() FROM Contact")["totalSize"]
    assert seen["bulk2_query"] == {"count": total, "columns": ["Id", "LastName"]}
    ingest = seen["bulk2_ingest"]
    assert (ingest["successful"], ingest["failed"], ingest["unprocessed"]) == (2, 1, 0)
    assert ingest["failedError"].startswith("REQUIRED_FIELD_MISSING:")


def test_describe_and_limits(seen) -> None:
    describe = seen["describe"]
    assert (describe["name"], describe["keyPrefix"]) == ("Account", "001")
    assert describe["description"] == {"type": "textarea", "updateable": True}
    assert {"Contacts", "Opportunities", "Cases", "ChildAccounts"} <= set(describe["children"])
    assert seen["limits"]["names"] > 40 and set(seen["limits"]["daily"]) >= {"Max", "Remaining"}
