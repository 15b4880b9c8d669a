"""Per-record retries inside one Collections call: only records that failed transiently are sent again.

The local org injects faults per request, not per record, so the org's answers are scripted here;
everything else (splitting, merging results back into input order, waits) is the real client.
"""

from __future__ import annotations

import random

import requests

from deprovision.org.auth import OrgSession
from deprovision.org.client import OrgClient
from deprovision.org.retry import RetryPolicy

LOCK = {"success": False, "errors": [{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "locked", "fields": []}]}
ROLLED = {"success": False, "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "rb"}]}


class ScriptedOrg(OrgClient):
    """An OrgClient whose Collections calls answer from a script: one list of item builders per call."""

    def __init__(self, script, sleeps: list[float]) -> None:
        retry = RetryPolicy(max_attempts=3, base_delay=0.01, sleep=sleeps.append, rng=random.Random(0))
        super().__init__(OrgSession("00D000000000001!x", "https://org.invalid"), requests.Session(), retry=retry)
        self.script = list(script)
        self.sent: list[list[str]] = []

    def _collection_call(self, method, action, chunk, all_or_none, headers):
        self.sent.append([r["Id"] for r in chunk])
        answer = self.script.pop(0)  # a function of the id, or one item per record (None: success)
        if callable(answer):
            return [answer(r["Id"]) for r in chunk]
        return [ok(r["Id"]) if item is None else item for item, r in zip(answer, chunk, strict=True)]


def records(n: int) -> list[dict]:
    return [{"attributes": {"type": "Account"}, "Id": f"001{i:015d}"} for i in range(n)]


def ok(record_id: str) -> dict:
    return {"id": record_id, "success": True, "errors": []}


def test_only_locked_records_are_sent_again_and_results_keep_input_order() -> None:
    sleeps: list[float] = []
    client = ScriptedOrg([[None, LOCK, None, LOCK], ok], sleeps)
    results = client.collection_update(records(4))
    assert client.sent == [[r["Id"] for r in records(4)], ["001000000000000001", "001000000000000003"]]
    assert [r.success for r in results] == [True, True, True, True]
    assert [r.id for r in results] == [r["Id"] for r in records(4)]
    assert len(sleeps) == 1 and client.retries == 2


def test_a_record_that_stays_locked_is_reported_after_the_last_attempt() -> None:
    sleeps: list[float] = []
    client = ScriptedOrg([[LOCK, None], [LOCK], [LOCK]], sleeps)
    results = client.collection_update(records(2))
    assert len(client.sent) == 3
    assert results[0].error_code == "UNABLE_TO_LOCK_ROW" and results[1].success
    assert results[0].id == "001000000000000000"


def test_all_or_none_sends_the_whole_call_again() -> None:
    client = ScriptedOrg([[ROLLED, LOCK, ROLLED], ok], [])
    results = client.collection_update(records(3), all_or_none=True)
    assert len(client.sent) == 2 and len(client.sent[1]) == 3
    assert all(r.success for r in results)


def test_permanent_record_errors_are_not_retried() -> None:
    bad = {"success": False, "errors": [{"statusCode": "INACTIVE_OWNER_OR_USER", "message": "inactive"}]}
    client = ScriptedOrg([[bad, None]], [])
    results = client.collection_update(records(2))
    assert len(client.sent) == 1
    assert results[0].error_code == "INACTIVE_OWNER_OR_USER" and results[0].message == "inactive"
