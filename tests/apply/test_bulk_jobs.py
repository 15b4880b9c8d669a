"""Bulk API 2.0 jobs as apply runs them, against the local org: few calls per job, no fixed wait before the
first status poll, per-record values, and jobs of several objects side by side."""

from __future__ import annotations

import time

from apply_helpers import Org

from deprovision.org.bulk import FIRST_POLL, first_poll, next_poll


def test_a_bulk_job_costs_at_most_seven_calls_and_does_not_wait_the_poll_interval(state) -> None:
    with Org(state) as org:
        client = org.client
        client.bulk_poll_seconds = 5.0  # what apply passes: the longest pause between two polls
        ids = [r["Id"] for r in client.query("SELECT Id FROM Contact ORDER BY Id LIMIT 2500")]
        titles = {rid: f"title {n % 7}" for n, rid in enumerate(ids)}  # each row its own value
        calls, t0 = client.api_calls, time.monotonic()
        result = client.bulk_ingest("Contact", "update", ["Id", "Title"], [[i, titles[i]] for i in ids])
        seconds = time.monotonic() - t0
        used = client.api_calls - calls
        now = {r["Id"]: r["Title"] for r in client.query_in("SELECT Id, Title FROM Contact WHERE Id IN {ids}", ids)}
    assert len(result.successes) == len(ids) and not result.failures and len(result.job_ids) == 1
    # create, upload, close, the polls (the job's progress times the second), successful results; no
    # final job read and no failed-results read when none failed: at most what one poll used to cost
    assert used <= 7, used
    assert seconds < 5.0, seconds
    assert now == titles


def test_polls_follow_the_job_s_progress() -> None:
    # nothing processed yet: twice the last wait, at most the maximum
    assert next_poll(0.25, 0, 10_000, FIRST_POLL, 5.0) == 2 * FIRST_POLL
    assert next_poll(10.0, 0, 10_000, 4.0, 5.0) == 5.0
    # half done after 1 s: the rest takes about 1 s more
    assert 1.0 <= next_poll(1.0, 5_000, 10_000, FIRST_POLL, 5.0) <= 1.2
    # a long job is still polled at least every max seconds
    assert next_poll(1.0, 10, 1_000_000, FIRST_POLL, 5.0) == 5.0


def test_first_poll_waits_until_the_job_can_have_finished():
    assert first_poll(100, 0.0) == FIRST_POLL  # small jobs: a quarter of a second
    assert first_poll(10_000, 0.0) == 1.0  # 10,000 rows cannot be done in under a second
    assert first_poll(10_000, 0.4) == 0.6  # counted from the close
    assert first_poll(10_000, 3.0) == 0.0  # its turn came late: poll at once
