"""The snapshot's API calls on a served scale org: owned records through REST queries five to a Composite
call or Bulk API 2.0 query jobs run side by side, chosen by cost, with the same snapshot either way; the
independent reads of grants, tokens, sessions, teams and dependants sent together through Composite.

The org is the scale seed: 20 leavers with managers among 10 users, 15,000 records over six objects.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from localorg_support import trusting_session

from deprovision.errors import OrgError
from deprovision.org.auth import OrgSession
from deprovision.org.client import OrgClient
from deprovision.plan import read_snapshot
from deprovision.plan import snapshot as snapshot_module
from deprovision.plan.snapshot import _Reader
from deprovision.playbook import load_playbook

OBJECTS = ("Account", "Case", "Contact", "Lead", "Opportunity", "Task")
PLAYBOOK = """\
version: 1
name: scale-leavers
reason: "TEST-1: snapshot calls"
users:
  where: "Department = 'Leavers' AND IsActive = true"
limits:
  max_users: 50
actions:
  freeze: true
  revoke: {{permission_sets: all, public_groups: all, queues: all, package_licenses: all, oauth_tokens: all,
            sessions: true, territories: all, teams: [Account]}}
  reassign:
    default: {{to: manager, fallback: "user:ops@acme.example"}}
    objects:
{objects}
  deactivate: true
"""
WHERES = {"Account": "Name LIKE '%1' OR Name LIKE '%7'", "Task": "Status = 'Completed'", "Lead": "Name = 'Nobody'"}


@pytest.fixture(scope="module")
def scale_server(tmp_path_factory, localorg_cert_dir):
    from deprovision.localorg import seed
    from deprovision.localorg.server import LocalOrgServer

    db = tmp_path_factory.mktemp("scale") / "org.sqlite3"
    shutil.copyfile(seed.template("scale", users=300, records=15000, leavers=20), db)
    server = LocalOrgServer(db, cert_dir=localorg_cert_dir).start()
    try:
        yield server
    finally:
        server.stop()


class Logged:
    """A client on the scale org whose every call is logged as (method, path, SOQL or '')."""

    def __init__(self, server) -> None:
        http = trusting_session(str(server.ca_bundle))
        self.calls: list[tuple[str, str, str]] = []
        http.hooks.setdefault("response", []).append(self._log)
        self.client = OrgClient(OrgSession(server.access_token, server.instance_url), http, bulk_poll_seconds=0.05)

    def _log(self, response, *args, **kwargs) -> None:
        url = urlparse(response.request.url)
        if url.path.startswith("/services/oauth2/"):
            return  # not an API call
        path = url.path.split("/v62.0/", 1)[-1]
        self.calls.append((response.request.method, path, parse_qs(url.query).get("q", [""])[0]))

    def kinds(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for method, path, _ in self.calls:
            kind = "query" if path.startswith("query") else f"{method} {path.split('/')[0]}"
            if path.startswith("jobs/query/") and path.endswith("/results"):
                kind = "bulk results"
            elif path.startswith("jobs/query/"):
                kind = "bulk poll"
            out[kind] = out.get(kind, 0) + 1
        return out


def _book(tmp_path: Path, wheres: dict[str, str] | None = None):
    wheres = wheres or {}
    lines = "\n".join(f"      {o}: {{where: \"{wheres[o]}\"}}" if o in wheres else f"      {o}: {{}}" for o in OBJECTS)
    path = tmp_path / "leavers.yaml"
    path.write_text(PLAYBOOK.format(objects=lines))
    return load_playbook(path)


def _owned(snap) -> list[tuple]:
    return sorted((o.object, o.owner_id, o.count, o.max_modstamp, tuple(o.ids), tuple(o.examples))
                  for o in snap.owned)


def _snapshot(server, tmp_path, monkeypatch, *, bulk: bool | None, wheres=None):
    if bulk is not None:
        monkeypatch.setattr(_Reader, "_bulk_cheaper", lambda *args: bulk)
    logged = Logged(server)
    snap = read_snapshot(logged.client, _book(tmp_path, wheres))
    monkeypatch.undo()
    return snap, logged


def test_the_plan_reads_in_few_calls_and_rest_pages_go_five_to_a_composite_call(scale_server, tmp_path,
                                                                                 monkeypatch) -> None:
    snap, logged = _snapshot(scale_server, tmp_path, monkeypatch, bulk=None)
    kinds = logged.kinds()
    assert len(snap.targets) == 20 and sum(len(o.ids) for o in snap.owned) == 15000
    # 2,500 records per object: six REST pages of at most 2,000 records each are 1.2 Composite calls,
    # against create + poll + results for a Bulk API 2.0 query job: REST for every object
    assert "POST jobs" not in kinds and "bulk results" not in kinds
    # leavers, successors and logins: the only queries outside Composite, no query more page at all
    assert kinds["query"] == 3 and not any(p.startswith("query/") and p != "query/" for _, p, _ in logged.calls)
    # owned records: about 15,000 / 2,000 pages; grants, tokens, sessions, teams, dependants, visibility
    # about 20 more queries; owner counts over ~50 owner objects: all at most five per Composite call
    assert kinds["POST composite"] <= 25
    assert snap.api_calls == len(logged.calls) <= 22


@pytest.mark.parametrize("wheres", [None, WHERES], ids=["all", "where"])
def test_bulk_and_rest_read_the_same_snapshot(scale_server, tmp_path, monkeypatch, wheres) -> None:
    rest, _ = _snapshot(scale_server, tmp_path, monkeypatch, bulk=False, wheres=wheres)
    bulk, logged = _snapshot(scale_server, tmp_path, monkeypatch, bulk=True, wheres=wheres)
    assert _owned(bulk) == _owned(rest)
    assert rest.owned and any(o.examples for o in rest.owned)
    if wheres:
        assert {o.object for o in rest.owned} == set(OBJECTS) - {"Lead"}  # nobody's Lead matches
    methods = [(m, p) for m, p, _ in logged.calls if p.startswith("jobs/query")]
    creates = [i for i, (m, p) in enumerate(methods) if m == "POST"]
    reads = [i for i, (m, p) in enumerate(methods) if p.endswith("/results")]
    # one job per object with records (side by side: every job without a condition is created before any
    # is read), one results page each (maxRecords 50,000)
    assert len(creates) == len(reads) == (5 if wheres else 6)
    unconditioned = 6 - len(WHERES) if wheres else 6
    assert max(creates[:unconditioned]) < min(reads)


def test_an_object_whose_condition_the_org_refuses_is_a_problem_either_way(scale_server, tmp_path,
                                                                           monkeypatch) -> None:
    from deprovision.playbook.loader import PlaybookInvalid

    wheres = {"Case": "NoSuchField__c = 1", "Lead": "Name = = 1"}
    messages = []
    for bulk in (False, True):
        with pytest.raises(PlaybookInvalid) as err:
            _snapshot(scale_server, tmp_path, monkeypatch, bulk=bulk, wheres=wheres)
        messages.append("\n".join(err.value.lines))
    assert messages[0] == messages[1]
    assert "Case.where: INVALID_FIELD" in messages[0] and "Lead.where: MALFORMED_QUERY" in messages[0]


def test_bulk_is_chosen_when_it_costs_fewer_calls() -> None:
    def cheaper(per_owner: int, owners: int = 10, where: str | None = None) -> bool:
        ids = [f"0058d0000000{n:03d}AAA" for n in range(owners)]
        return _Reader._bulk_cheaper(None, "Account", where, "Name", ids, {i: (per_owner, None) for i in ids})

    # 20,000 records: 10 REST pages, 2 Composite calls; Bulk: create, poll, one results page
    assert not cheaper(2_000)
    # 200,000 records: 100 REST pages, 20 Composite calls; Bulk: 4 pages of 50,000 and create and poll
    assert cheaper(20_000)
    assert cheaper(20_000, where="Name != null")
    # 1,000 owners need 7 IN lists, so 7 jobs of 3 calls, against 10 Composite calls for 100,000 records
    assert not cheaper(100, owners=1000)


def test_the_links_reads_go_together_and_keep_the_optional_rules(scale_server, tmp_path, monkeypatch) -> None:
    book = _book(tmp_path)
    reads = snapshot_module._DEPENDANT_READS
    monkeypatch.setitem(reads, "dashboards", reads["dashboards"].replace("Title", "NoSuchField__c"))
    logged = Logged(scale_server)
    has = logged.client.schema.has
    monkeypatch.setattr(logged.client.schema, "has", lambda name: name != "UserTerritory2Association" and has(name))
    reader = _Reader(logged.client, book)
    reader.select_targets()
    reader.read_owned()
    before = len(logged.calls)
    reader.read_links()
    links = logged.calls[before:]
    # about 20 independent reads, five per Composite call; none read again on its own
    assert [m for m, p, _ in links] == ["POST"] * len(links) and 4 <= len(links) <= 5
    assert "UserTerritory2Association" in reader.snap.unavailable  # not described: not read
    assert "UserTerritory2Association" not in reader.snap.grant_objects
    assert not [d for d in reader.snap.dependants if d.kind == "dashboard"]  # refused as INVALID_FIELD: no rows
    assert reader.snap.grants and reader.snap.tokens


def test_a_refused_read_that_is_not_optional_raises(scale_server, tmp_path, monkeypatch) -> None:
    logged = Logged(scale_server)
    reader = _Reader(logged.client, _book(tmp_path))
    reader.select_targets()
    monkeypatch.setattr(snapshot_module, "_pointing_template",
                        lambda fields: "SELECT Id, Username, NoSuchField__c FROM User WHERE ManagerId IN {ids}")
    with pytest.raises(OrgError) as err:
        reader.read_links()
    assert err.value.error_code == "INVALID_FIELD"


def test_query_more_pages_fill_the_next_composite_call(scale_server) -> None:
    logged = Logged(scale_server)
    counts = {o: next(iter(logged.client.query(f"SELECT COUNT(Id) FROM {o}")))["expr0"] for o in OBJECTS}
    before = len(logged.calls)
    pages: dict[int, list[int]] = {}
    soqls = [f"SELECT Id FROM {o}" for o in OBJECTS]
    for i, page in logged.client.query_pages(soqls):
        pages.setdefault(i, []).append(len(page))
    assert {OBJECTS[i]: sum(n) for i, n in pages.items()} == counts
    total_pages = sum(len(n) for n in pages.values())
    assert total_pages > len(OBJECTS)  # some objects answer more than one page
    assert len(logged.calls) - before == -(-total_pages // 5)  # every call but the last carries five
