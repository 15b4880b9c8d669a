"""Objects the Bulk API will not query are read through REST query pages into the same CSV shape."""

from __future__ import annotations

from pathlib import Path

import pytest
from export_support import csv_rows

from deprovision.export import reader, run_export, verify_export
from deprovision.export import runner as export_runner
from deprovision.org.connection import open_client
from deprovision.org.options import OrgOptions


@pytest.fixture
def client(served_org, tmp_path: Path):
    options = OrgOptions(instance_url=served_org.instance_url, access_token=served_org.access_token,
                         ca_bundle=served_org.ca_bundle)
    with open_client(options, tmp_path, bulk_poll_seconds=0.05) as c:
        yield c


def test_bulk_refusal_falls_back_to_rest(client, monkeypatch, tmp_path: Path):
    bulk = tmp_path / "bulk"
    run_export(client, bulk, objects=["Account", "Contact"])
    real = reader.bulk_to_file

    def refuse_accounts(c, soql, *args, **kwargs):
        if soql.endswith("FROM Account"):
            raise reader.BulkUnavailable("INVALIDENTITY: Entity 'Account' is not supported by the Bulk API")
        return real(c, soql, *args, **kwargs)

    monkeypatch.setattr(export_runner, "bulk_to_file", refuse_accounts)
    rest = tmp_path / "rest"
    result = run_export(client, rest, objects=["Account", "Contact"])
    assert not result.failed
    entries = result.manifest.objects
    assert entries["Account"].method == "rest" and entries["Contact"].method == "bulk"
    by_bulk, by_rest = csv_rows(bulk / "data" / "Account.csv"), csv_rows(rest / "data" / "Account.csv")
    assert list(by_rest[0]) == list(by_bulk[0])  # same columns, same order
    key = ("Id", "Name", "OwnerId", "ParentId", "IsDeleted")
    assert sorted(tuple(r[k] for k in key) for r in by_rest) == sorted(tuple(r[k] for k in key) for r in by_bulk)
    assert entries["Account"].rows == len(by_rest)
    assert verify_export(rest).ok


def test_an_object_no_api_can_read_leaves_the_export_incomplete(client, monkeypatch, tmp_path: Path):
    from deprovision.errors import OrgError

    def refuse(*args, **kwargs):
        raise reader.BulkUnavailable("not supported")

    def rest_refuses(*args, **kwargs):
        raise OrgError("query failed: MALFORMED_QUERY: needs a filter", error_code="MALFORMED_QUERY")

    monkeypatch.setattr(export_runner, "bulk_to_file", refuse)
    monkeypatch.setattr(export_runner, "rest_to_file", rest_refuses)
    out = tmp_path / "out"
    result = run_export(client, out, objects=["Account"])
    assert result.failed == {"Account": "MALFORMED_QUERY: query failed: MALFORMED_QUERY: needs a filter"}
    assert not result.manifest.complete
    check = verify_export(out)
    assert not check.ok and "unfinished objects: Account" in check.problems[0]
    monkeypatch.undo()
    assert not run_export(client, out, objects=["Account"]).failed
    assert verify_export(out).ok


def test_a_results_page_cut_off_midway_is_read_again(client, monkeypatch, tmp_path: Path):
    import requests

    clean = tmp_path / "clean"
    run_export(client, clean, objects=["Contact"])
    real_get = client.http.get
    cut = []

    def get(url, *args, **kwargs):
        response = real_get(url, *args, **kwargs)
        if "/results" in url and not cut:
            cut.append(url)
            chunks = response.iter_content

            def broken(size):
                stream = chunks(size)
                yield next(stream)
                raise requests.exceptions.ChunkedEncodingError("connection broken mid-page")

            response.iter_content = broken
        return response

    monkeypatch.setattr(client.http, "get", get)
    out = tmp_path / "out"
    result = run_export(client, out, objects=["Contact"])
    assert cut and not result.failed
    assert (out / "data" / "Contact.csv").read_bytes() == (clean / "data" / "Contact.csv").read_bytes()
    assert verify_export(out).ok


def test_columns_come_from_field_types():
    from deprovision.export.describe import shape_of

    shape = shape_of({"name": "Attachment", "fields": [
        {"name": "Id", "type": "id"}, {"name": "Name", "type": "string"}, {"name": "Body", "type": "base64"},
        {"name": "BodyLength", "type": "int"}, {"name": "BillingAddress", "type": "address"},
        {"name": "Where__c", "type": "location"}, {"name": "Metadata", "type": "complexvalue"}]})
    assert shape.columns == ["Id", "Name", "BodyLength"]
    assert shape.file_fields == ["Body"] and shape.length_fields == {"Body": "BodyLength"}
    assert shape.soql() == "SELECT Id, Name, BodyLength FROM Attachment"
