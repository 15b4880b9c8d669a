"""Bulk API 2.0 through ``sf.bulk2``: ingest jobs (rules apply per row) and query jobs."""

from __future__ import annotations

import csv
import io
import threading
import time

import pytest
from localorg_support import connect

from deprovision.org.soql import soql_in


def _wait(sf, kind: str, job_id: str) -> dict:
    for _ in range(200):
        info = sf.restful(f"jobs/{kind}/{job_id}")
        if info["state"] in ("JobComplete", "Failed", "Aborted"):
            return info
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_bulk_owner_update_from_a_csv_file(served_org, tmp_path):
    sf = connect(served_org)
    ops = sf.query("SELECT Id FROM User WHERE Username = 'ops@acme.example'")["records"][0]["Id"]
    inactive = sf.query("SELECT Id FROM User WHERE Username = 'contractor07@acme.example'")["records"][0]["Id"]
    accounts = [r["Id"] for r in sf.query("SELECT Id FROM Account ORDER BY Id LIMIT 5")["records"]]
    path = tmp_path / "owners.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["Id", "OwnerId"])
        for account in accounts[:4]:
            writer.writerow([account, ops])
        writer.writerow([accounts[4], inactive])  # refused: inactive owner
    result = sf.bulk2.Account.update(csv_file=str(path), wait=0)
    assert result[0]["numberRecordsProcessed"] == 5
    assert result[0]["numberRecordsFailed"] == 1
    job_id = result[0]["job_id"]
    records = sf.bulk2.Account.get_all_ingest_records(job_id)
    assert sorted(r["sf__Id"] for r in records["successfulRecords"]) == sorted(accounts[:4])
    assert all(r["sf__Created"] == "false" and r["OwnerId"] == ops for r in records["successfulRecords"])
    [failed] = records["failedRecords"]
    assert failed["sf__Id"] == accounts[4]
    assert failed["sf__Error"] == "INACTIVE_OWNER_OR_USER:operation performed with inactive User"
    assert records["unprocessedRecords"] == []
    owners = {r["Id"]: r["OwnerId"] for r in sf.query(
        f"SELECT Id, OwnerId FROM Account WHERE Id IN {soql_in(accounts)}")["records"]}
    assert [owners[a] for a in accounts[:4]] == [ops] * 4
    assert owners[accounts[4]] != inactive


def test_bulk_update_never_runs_assignment_rules(served_org, tmp_path):
    sf = connect(served_org)
    served_org.store.configure(assignment_rule_queues={"Case": "Support_Queue"})
    ops = sf.query("SELECT Id FROM User WHERE Username = 'ops@acme.example'")["records"][0]["Id"]
    case = sf.Case.create({"Subject": "bulk"}, headers={"Sforce-Auto-Assign": "FALSE"})["id"]
    path = tmp_path / "cases.csv"
    path.write_text(f"OwnerId,Id\n{ops},{case}\n")
    sf.bulk2.Case.update(csv_file=str(path), wait=0)
    assert sf.Case.get(case)["OwnerId"] == ops


def test_bulk_insert_and_delete_with_another_delimiter(empty_org, tmp_path):
    sf = connect(empty_org)
    path = tmp_path / "accounts.csv"
    path.write_text("Name|Industry\r\nPipe One|Retail\r\nPipe Two|\r\n")
    result = sf.bulk2.Account.insert(csv_file=str(path), column_delimiter="PIPE", line_ending="CRLF", wait=0)
    assert result[0]["numberRecordsProcessed"] == 2 and result[0]["numberRecordsFailed"] == 0
    created = sf.bulk2.Account.get_successful_records(result[0]["job_id"])
    rows = list(csv.DictReader(io.StringIO(created), delimiter="|"))
    assert [r["Name"] for r in rows] == ["Pipe One", "Pipe Two"] and all(r["sf__Created"] == "true" for r in rows)
    ids_path = tmp_path / "ids.csv"
    ids_path.write_text("Id\n" + "".join(r["sf__Id"] + "\n" for r in rows))
    sf.bulk2.Account.delete(csv_file=str(ids_path), wait=0)
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0


def test_bulk_records_argument_is_parsed_by_header_name(empty_org):
    sf = connect(empty_org)
    sf.bulk2.Account.insert(records=[{"Name": "By Name", "Industry": "Energy", "Phone": "555"}], wait=0)
    row = sf.query("SELECT Name, Industry, Phone FROM Account")["records"][0]
    assert (row["Name"], row["Industry"], row["Phone"]) == ("By Name", "Energy", "555")


def test_ingest_job_lifecycle_over_rest(empty_org):
    sf = connect(empty_org)
    job = sf.restful("jobs/ingest", method="POST", json={"object": "Account", "operation": "insert",
                                                         "contentType": "CSV", "lineEnding": "LF"})
    assert job["state"] == "Open" and job["id"].startswith("750")
    assert job["contentUrl"] == f"services/data/v62.0/jobs/ingest/{job['id']}/batches"
    upload = sf.session.put(f"{sf.base_url}jobs/ingest/{job['id']}/batches", data=b"Name\nQueued\n",
                            headers={**sf.headers, "Content-Type": "text/csv"})
    assert upload.status_code == 201 and upload.content == b""
    aborted = sf.restful(f"jobs/ingest/{job['id']}", method="PATCH", json={"state": "Aborted"})
    assert aborted["state"] == "Aborted"
    unprocessed = sf.session.get(f"{sf.base_url}jobs/ingest/{job['id']}/unprocessedrecords/", headers=sf.headers)
    assert _rows(unprocessed.text) == [{"Name": "Queued"}]
    listed = sf.restful("jobs/ingest")
    assert [j["id"] for j in listed["records"]] == [job["id"]]
    deleted = sf.session.delete(f"{sf.base_url}jobs/ingest/{job['id']}", headers=sf.headers)
    assert deleted.status_code == 204
    assert sf.session.get(f"{sf.base_url}jobs/ingest/{job['id']}", headers=sf.headers).status_code == 404
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0


def test_upload_to_a_closed_job_is_refused(empty_org):
    sf = connect(empty_org)
    job = sf.restful("jobs/ingest", method="POST", json={"object": "Account", "operation": "insert"})
    sf.session.put(f"{sf.base_url}jobs/ingest/{job['id']}/batches", data=b"Name\nA\n",
                   headers={**sf.headers, "Content-Type": "text/csv"})
    sf.restful(f"jobs/ingest/{job['id']}", method="PATCH", json={"state": "UploadComplete"})
    again = sf.session.put(f"{sf.base_url}jobs/ingest/{job['id']}/batches", data=b"Name\nB\n",
                           headers={**sf.headers, "Content-Type": "text/csv"})
    assert again.status_code >= 400
    info = _wait(sf, "ingest", job["id"])
    assert info["state"] == "JobComplete" and info["numberRecordsProcessed"] == 1


def test_bulk_query_pages_with_locator_and_keeps_column_order(empty_org):
    sf = connect(empty_org)
    store = empty_org.store
    with store.transaction():
        for i in range(25):
            store.create("Account", {"Name": f"Q{i:02d}", "Industry": "Retail, \"quoted\""},
                         actor_id=store.api_user_id)
    pages = list(sf.bulk2.Account.query("SELECT Name, Id, Owner.Username FROM Account ORDER BY Name",
                                        max_records=10, wait=0))
    assert len(pages) == 3
    for page in pages:
        assert page.splitlines()[0] == '"Name","Id","Owner.Username"'
    rows = [r for page in pages for r in _rows(page)]
    assert [r["Name"] for r in rows] == [f"Q{i:02d}" for i in range(25)]
    assert rows[0]["Owner.Username"] == "admin@acme.example"


def test_bulk_query_results_headers(empty_org):
    sf = connect(empty_org)
    sf.Account.create({"Name": "Only"})
    job = sf.restful("jobs/query", method="POST", json={"operation": "query", "query": "SELECT Id, Name FROM Account"})
    assert job["state"] == "UploadComplete" and job["object"] == "Account"
    assert _wait(sf, "query", job["id"])["state"] == "JobComplete"
    response = sf.session.get(f"{sf.base_url}jobs/query/{job['id']}/results", params={"maxRecords": 5},
                              headers=sf.headers)
    assert response.headers["Sforce-NumberOfRecords"] == "1"
    assert response.headers["Sforce-Locator"] == "null"
    assert _rows(response.text)[0]["Name"] == "Only"


def test_bulk_query_with_a_bad_query_is_refused_at_once(empty_org):
    sf = connect(empty_org)
    response = sf.session.post(f"{sf.base_url}jobs/query", headers=sf.headers,
                               json={"operation": "query", "query": "SELECT Nope FROM Account"})
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "INVALID_FIELD"


def test_bulk_query_all_sees_deleted_rows(empty_org):
    sf = connect(empty_org)
    gone = sf.Account.create({"Name": "Gone"})["id"]
    sf.Account.delete(gone)
    assert list(sf.bulk2.Account.query("SELECT Id FROM Account", wait=0)) == ['"Id"\n']
    rows = [r for page in sf.bulk2.Account.query_all("SELECT Id FROM Account", wait=0) for r in _rows(page)]
    assert rows == [{"Id": gone}]


@pytest.mark.parametrize("operation", ["merge", ""])
def test_unknown_ingest_operation_is_refused(empty_org, operation):
    sf = connect(empty_org)
    response = sf.session.post(f"{sf.base_url}jobs/ingest", headers=sf.headers,
                               json={"object": "Account", "operation": operation})
    assert response.status_code == 400


def test_bulk_query_with_a_null_parent_keeps_the_columns(empty_org):
    sf = connect(empty_org)
    parent = sf.Account.create({"Name": "Parent"})["id"]
    sf.Account.create({"Name": "Child", "ParentId": parent})
    sf.Account.create({"Name": "Orphan"})
    pages = list(sf.bulk2.Account.query("SELECT Name, Parent.Name FROM Account ORDER BY Name", wait=0))
    assert pages[0].splitlines() == ['"Name","Parent.Name"', '"Child","Parent"', '"Orphan",""', '"Parent",""']


def test_bulk_jobs_are_processed_side_by_side():
    """Salesforce processes Bulk API 2.0 jobs in parallel: the local org's workers run several at once."""
    from deprovision.localorg.resources.bulk import BULK_WORKERS, BulkJobs

    jobs = BulkJobs()
    meet = threading.Barrier(BULK_WORKERS, timeout=5)  # every job waits for the others: only concurrency passes
    met: list[int] = []
    for _ in range(BULK_WORKERS):
        jobs.submit(lambda: met.append(meet.wait()))
    jobs.shutdown()
    assert sorted(met) == list(range(BULK_WORKERS))
