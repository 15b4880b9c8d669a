"""Bulk API 2.0 ingest results: an update or delete job whose final job info counts every row processed
and none failed reports the uploaded Ids as its successes without reading successfulResults (Get Job
Info: numberRecordsProcessed, numberRecordsFailed); any failure, and insert, still read the results."""

from __future__ import annotations

import os

import pytest

from deprovision.org import bulk


class FakeBulk2:
    """One object's Bulk API 2.0 client: the job ends at its first poll with the outcomes given."""

    def __init__(self, failed_ids: set[str] = frozenset(), processing: int = 0) -> None:
        self.failed_ids = set(failed_ids)
        self.processing = processing  # polls answered InProgress before the job completes
        self.calls: list[str] = []
        self.rows: list[dict[str, str]] = []
        self.columns: list[str] = []

    def create_job(self, operation: str, **kwargs) -> dict:
        self.calls.append("create")
        self.operation = operation
        return {"id": "750000000000001AAA"}

    def upload_job_data(self, job_id: str, data: str) -> None:
        self.calls.append("upload")
        parsed = bulk.parse_csv(data)
        self.columns = data.splitlines()[0].split(",")
        self.rows = parsed

    def close_job(self, job_id: str) -> None:
        self.calls.append("close")

    def get_job(self, job_id: str, is_query: bool) -> dict:
        self.calls.append("poll")
        if self.processing:
            self.processing -= 1
            return {"state": "InProgress", "numberRecordsProcessed": len(self.rows) // 2, "numberRecordsFailed": 0}
        failed = sum(1 for r in self.rows if r["Id"] in self.failed_ids)
        return {"state": "JobComplete", "numberRecordsProcessed": len(self.rows), "numberRecordsFailed": failed}

    def get_ingest_results(self, job_id: str, kind: str) -> str:
        self.calls.append(kind)
        cols = ",".join(self.columns)
        if kind == "successfulResults":
            lines = [f"sf__Id,sf__Created,{cols}"]
            lines += [f"{r['Id']},false,{','.join(r[c] for c in self.columns)}" for r in self.rows
                      if r["Id"] not in self.failed_ids]
        elif kind == "failedResults":
            lines = [f"sf__Id,sf__Error,{cols}"]
            lines += [f"{r['Id']},ENTITY_IS_LOCKED:locked,{','.join(r[c] for c in self.columns)}" for r in self.rows
                      if r["Id"] in self.failed_ids]
        else:
            lines = [cols]
        return "\n".join(lines) + "\n"

    def abort_job(self, job_id: str, is_query: bool) -> None:
        self.calls.append("abort")


class FakeClient:
    bulk_poll_seconds = 5.0

    def __init__(self, bulk2: FakeBulk2) -> None:
        fake = bulk2

        class Sobject:
            _client = fake

        class Bulk2:
            def __getattr__(self, name):
                return Sobject()

        class Sf:
            bulk2 = Bulk2()

        self.sf = Sf()

    def _call(self, action, fn, **kwargs):
        return fn()


IDS = [f"001000000000{n:03d}AAA" for n in range(250)]


@pytest.mark.parametrize("operation", ["update", "delete"])
def test_all_rows_succeeded_reads_no_successful_results_and_reports_every_id(operation, monkeypatch) -> None:
    monkeypatch.setattr(bulk, "FIRST_POLL", 0.0)
    fake = FakeBulk2()
    columns, rows = (["Id", "OwnerId"], [[i, "005000000000001AAA"] for i in IDS]) if operation == "update" \
        else (["Id"], [[i] for i in IDS])
    parts = bulk.write_parts(columns, rows)
    result = bulk.ingest_parts(FakeClient(fake), "Account", operation, parts)
    assert fake.calls == ["create", "upload", "close", "poll"]  # no successfulResults, no failedResults
    assert [r.id for r in result.successes] == IDS and all(r.success for r in result.successes)
    assert not result.failures and result.unprocessed == 0
    assert not any(os.path.exists(p) for p, _ in parts)  # the part files are removed all the same


def test_when_the_caller_knows_the_ids_a_fully_succeeded_part_is_a_row_range(monkeypatch) -> None:
    monkeypatch.setattr(bulk, "FIRST_POLL", 0.0)
    monkeypatch.setattr(bulk, "MAX_PART_BYTES", 2_000)  # several parts, several jobs
    fake = FakeBulk2(failed_ids={IDS[200]})
    parts = bulk.write_parts(["Id", "OwnerId"], [[i, "005000000000001AAA"] for i in IDS])
    assert len(parts) > 2
    result = bulk.ingest_parts(FakeClient(fake), "Account", "update", parts, ids_known=True)
    ranges = result.succeeded_rows
    assert ranges and ranges[0] == (0, parts[0][1])  # the first part: rows 0.. all succeeded, no Id read
    covered = [i for start, n in ranges for i in range(start, start + n)]
    read = {r.id for r in result.successes}
    assert sorted(covered + [IDS.index(i) for i in read] + [200]) == list(range(len(IDS)))  # each row once
    assert [r.id for r in result.failures] == [IDS[200]]
    assert result.processed == len(IDS)


def test_a_failed_row_reads_both_results_and_reports_each_record_s_outcome(monkeypatch) -> None:
    monkeypatch.setattr(bulk, "FIRST_POLL", 0.0)
    fake = FakeBulk2(failed_ids={IDS[3], IDS[100]})
    parts = bulk.write_parts(["Id", "OwnerId"], [[i, "005000000000001AAA"] for i in IDS])
    result = bulk.ingest_parts(FakeClient(fake), "Account", "update", parts)
    assert fake.calls == ["create", "upload", "close", "poll", "successfulResults", "failedResults"]
    assert sorted(r.id for r in result.successes) == sorted(set(IDS) - {IDS[3], IDS[100]})
    assert sorted((r.id, r.error_code, r.message) for r in result.failures) == [
        (IDS[3], "ENTITY_IS_LOCKED", "locked"), (IDS[100], "ENTITY_IS_LOCKED", "locked")]


def test_insert_still_reads_the_ids_the_org_gave(monkeypatch) -> None:
    monkeypatch.setattr(bulk, "FIRST_POLL", 0.0)
    fake = FakeBulk2()
    parts = bulk.write_parts(["Id", "Name"], [[i, "x"] for i in IDS[:3]])  # the fake echoes the Id column
    result = bulk.ingest_parts(FakeClient(fake), "Account", "insert", parts)
    assert "successfulResults" in fake.calls
    assert [r.id for r in result.successes] == IDS[:3]


def test_a_job_info_without_counts_reads_the_results(monkeypatch) -> None:
    assert not bulk.all_succeeded({"state": "JobComplete"}, 3)
    assert not bulk.all_succeeded({"numberRecordsProcessed": 2, "numberRecordsFailed": 0}, 3)
    assert not bulk.all_succeeded({"numberRecordsProcessed": 3, "numberRecordsFailed": 1}, 3)
    assert bulk.all_succeeded({"numberRecordsProcessed": "3", "numberRecordsFailed": "0"}, 3)


def test_a_job_polled_after_others_waits_for_their_pace(monkeypatch) -> None:
    # an earlier job showed 1 ms a row: a 400-row job is not polled before 0.4 s after its close
    slept: list[float] = []
    monkeypatch.setattr(bulk.time, "sleep", lambda s: slept.append(s))
    pace = bulk.Pace()
    pace.record(1.0, 1_000)
    fake = FakeBulk2()
    bulk.ingest_parts(FakeClient(fake), "Account", "update",
                      bulk.write_parts(["Id"], [[i] for i in IDS[:200] + IDS[:200]]), pace=pace)
    assert fake.calls.count("poll") == 1
    assert slept and 0.35 <= slept[0] <= 0.4
    # a job found in progress measures the pace; a first poll that finds the job done does not
    pace2, fake2 = bulk.Pace(), FakeBulk2(processing=1)
    monkeypatch.setattr(bulk, "FIRST_POLL", 0.0)
    bulk.ingest_parts(FakeClient(fake2), "Account", "update", bulk.write_parts(["Id"], [[i] for i in IDS]),
                      pace=pace2)
    assert fake2.calls.count("poll") == 2 and pace2.expected(250) > 0
    pace3 = bulk.Pace()
    bulk.ingest_parts(FakeClient(FakeBulk2()), "Account", "update", bulk.write_parts(["Id"], [[i] for i in IDS]),
                      pace=pace3)
    assert pace3.expected(250) == 0


def test_a_job_that_slowed_down_is_reckoned_at_its_recent_rate() -> None:
    # 5,000 rows in the first second, then only 1,000 in the next: the rest at the slower rate
    assert bulk.next_poll(2.0, 6_000, 10_000, 1.0, 30.0, last=(1.0, 5_000)) >= 4.0
    assert bulk.next_poll(2.0, 6_000, 10_000, 1.0, 30.0) < 2.0
