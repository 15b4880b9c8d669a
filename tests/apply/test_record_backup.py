"""Full-record backups from describe: a wide object is read in several queries joined by Id, base64 and
compound fields are left out, Bulk API 2.0 above the threshold, an object that cannot be backed up says why."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from deprovision.apply import record_backup
from deprovision.errors import DeprovisionError

WIDE = ["Id", "OwnerId", *[f"F{n:03d}__c" for n in range(900)]]


class Schema:
    def __init__(self, describes: dict[str, dict]) -> None:
        self.describes = describes

    def describe(self, name: str) -> dict | None:
        return self.describes.get(name)


class Client:
    """Answers ``SELECT a, b FROM X WHERE OwnerId IN (...)`` with two records whose values name their field."""

    def __init__(self, describes: dict[str, dict]) -> None:
        self.schema = Schema(describes)
        self.queries: list[tuple[str, str]] = []

    def _rows(self, soql: str) -> list[dict]:
        fields = re.match(r"SELECT (.*) FROM", soql).group(1).split(", ")
        return [{"attributes": {"type": "X"}, **{f: f"{rid}:{f}" if f != "Id" else rid for f in fields}}
                for rid in ("a01", "a02")]

    def query_in(self, template: str, values: list[str]):
        self.queries.append(("rest", template))
        return iter(self._rows(template))

    def bulk_query(self, soql: str):
        self.queries.append(("bulk", soql))
        return iter({k: v for k, v in r.items() if k != "attributes"} for r in self._rows(soql))


def _describe(fields: list[str], **types: str) -> dict:
    return {"name": "Wide__c", "queryable": True,
            "fields": [{"name": f, "type": types.get(f, "string")} for f in fields]}


def test_a_wide_object_is_read_in_several_queries_joined_by_id(tmp_path: Path) -> None:
    client = Client({"Wide__c": _describe([*WIDE, "Body__c", "Address__c"], Body__c="base64", Address__c="address")})
    digests = record_backup.write_records(client, tmp_path, "Wide__c", ["005000000000001AAA"], expected=2)
    assert list(digests) == ["records/Wide__c.csv"]
    assert len(client.queries) == 3 and all(kind == "rest" for kind, _ in client.queries)
    with open(tmp_path / "records" / "Wide__c.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == WIDE  # every described field, no base64 or compound one
    assert [r["Id"] for r in rows] == ["a01", "a02"]
    assert rows[1]["F899__c"] == "a02:F899__c" and rows[0]["OwnerId"] == "a01:OwnerId"


def test_bulk_api_reads_above_the_threshold(tmp_path: Path) -> None:
    client = Client({"Wide__c": _describe(["Id", "OwnerId", "Name"])})
    record_backup.write_records(client, tmp_path, "Wide__c", ["005000000000001AAA"],
                                expected=record_backup.BULK_BACKUP_THRESHOLD + 1)
    assert [kind for kind, _ in client.queries] == ["bulk"]


@pytest.mark.parametrize(("describes", "reason"), [
    ({}, "cannot back up Wide__c: the org has no such object"),
    ({"Wide__c": {"name": "Wide__c", "queryable": False, "fields": []}}, "does not let it be queried"),
    ({"Wide__c": _describe(["Id", "Name"])}, "it has no OwnerId"),
])
def test_an_object_that_cannot_be_backed_up_says_why(tmp_path: Path, describes: dict, reason: str) -> None:
    with pytest.raises(DeprovisionError, match=reason):
        record_backup.write_records(Client(describes), tmp_path, "Wide__c", ["005000000000001AAA"], expected=1)
