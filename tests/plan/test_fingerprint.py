"""Fingerprint and plan files against a served demo org: stale detection, sidecar with its hash."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deprovision.cli.common import OrgOptions
from deprovision.errors import InvalidInputError
from deprovision.org.connection import open_client
from deprovision.plan import compute_plan, read_fingerprint, read_plan, read_snapshot, stale_rows, write_plan
from deprovision.plan.planfile import sidecar_path
from deprovision.playbook import load_playbook

BOOKS = Path(__file__).resolve().parents[2] / "playbooks"


@pytest.fixture
def client(served_org, tmp_path):
    options = OrgOptions(instance_url=served_org.instance_url, access_token=served_org.access_token,
                         ca_bundle=str(served_org.ca_bundle))
    with open_client(options, tmp_path / "state") as c:
        yield c


def make_plan(client, name="november-leavers.yaml"):
    book = load_playbook(BOOKS / name)
    snapshot = read_snapshot(client, book)
    return compute_plan(book, snapshot, created_at=datetime.now(UTC).isoformat()), snapshot


def test_fresh_plan_is_not_stale_and_the_check_is_cheap(client):
    plan, _ = make_plan(client)
    before = client.api_calls
    assert stale_rows(plan.fingerprint, read_fingerprint(client, plan)) == []
    assert client.api_calls - before <= 20


def test_changes_in_the_org_make_the_plan_stale(client, sf):
    plan, _ = make_plan(client)
    nina = sf.query("SELECT Id FROM User WHERE Username = 'nina.patel@acme.example'")["records"][0]["Id"]
    account = sf.query(f"SELECT Id FROM Account WHERE OwnerId = '{nina}' LIMIT 1")["records"][0]["Id"]
    sf.Account.update(account, {"Name": "Renamed Ltd"})
    sf.Account.create({"Name": "New Ltd", "OwnerId": nina})
    sf.User.update(nina, {"Title": "Head of Sales"})
    extra = sf.query("SELECT Id FROM PermissionSet WHERE Name = 'Project_Manager'")["records"][0]["Id"]
    sf.PermissionSetAssignment.create({"AssigneeId": nina, "PermissionSetId": extra})
    count = next(c.count for c in plan.changes if c.user_id == nina and c.object == "Account")
    rows = stale_rows(plan.fingerprint, read_fingerprint(client, plan))
    assert "User nina.patel@acme.example changed" in rows
    assert f"Account owned by nina.patel@acme.example: {count} → {count + 1} records" in rows
    assert any(r.startswith("PermissionSetAssignment 0Pa") and r.endswith(" of nina.patel@acme.example added")
               for r in rows)


def test_plan_file_round_trip_with_sidecar(client, tmp_path):
    plan, _ = make_plan(client)
    path = tmp_path / "plan.json"
    assert write_plan(plan, path) is None  # small: ids stay inline
    assert read_plan(path).to_dict() == plan.to_dict()
    sidecar = write_plan(plan, path, threshold=10, min_change=50)
    assert sidecar == sidecar_path(path) and sidecar.exists()
    text = path.read_text()
    big = [c for c in plan.changes if len(c.record_ids) >= 50]
    assert big
    assert all(c.record_ids[0] not in text for c in big)
    loaded = read_plan(path)
    assert {c.record_ids_ref for c in loaded.changes if c.id in {b.id for b in big}} == {
        hashlib.sha256(sidecar.read_bytes()).hexdigest()}
    for change in loaded.changes:
        change.record_ids_ref = None
    assert loaded.to_dict() == plan.to_dict()
    sidecar.write_bytes(sidecar.read_bytes() + b"x")
    with pytest.raises(InvalidInputError, match="does not match the plan"):
        read_plan(path)


def test_snapshot_reads_in_few_calls(client):
    _, snapshot = make_plan(client)
    # What the read needs on the demo org (4 leavers), as the org counts it:
    #   1   describeGlobal;
    #   3   describes of the 51 objects that may have an owner, 25 per Composite call (one API call each);
    #   4   one GROUP BY OwnerId aggregate over all leavers per owner object (18), five per Composite call
    #       (Composite takes at most 5 queries of its 25 subrequests);
    #   4   queries: leavers, successors (with their licence, Profile.UserLicense.Name: what they may own
    #       is checked at plan time without a query of its own), logins, queues;
    #   6   Composite calls of five queries each: the records of the 7 reassigned objects (REST pages,
    #       cheaper than Bulk jobs at this size), then every read that depends only on the leavers: what the
    #       API user can see (revoke.sessions, oauth_tokens), grants, tokens, sessions, teams, dependants
    #       (reports twice: the default scope, then USING SCOPE allPrivate for other users' private folders).
    # Through Composite Batch, which counts every subrequest, the same read was 96 calls; with one query
    # per read, 37.
    assert snapshot.api_calls <= 18
    assert client.schema.requests == 4  # describeGlobal once, each object described once
    assert len(snapshot.targets) == 4
