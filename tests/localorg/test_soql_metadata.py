"""column_metadata: the answer to GET query?q=...&columns=true that `sf data query` reads."""

from __future__ import annotations

import pytest

from deprovision.localorg import errors
from deprovision.localorg.soql import column_metadata


def names(columns: list[dict]) -> list[str]:
    return [c["columnName"] for c in columns]


def test_plain_fields():
    meta = column_metadata("SELECT Id, Name, IsActive, ManagerId FROM User")
    assert meta["entityName"] == "User" and meta["keyPrefix"] == "005"
    assert meta["idSelected"] is True and meta["groupBy"] is False
    cols = {c["columnName"]: c for c in meta["columnMetadata"]}
    assert names(meta["columnMetadata"]) == ["Id", "Name", "IsActive", "ManagerId"]
    assert cols["Id"]["apexType"] == "Id" and cols["Id"]["insertable"] is False
    assert cols["Name"]["textType"] is True and cols["Name"]["updatable"] is False  # calculated
    assert cols["IsActive"]["booleanType"] is True and cols["IsActive"]["updatable"] is True
    assert all(c["joinColumns"] == [] and c["aggregate"] is False for c in cols.values())


def test_relationship_fields_become_join_columns():
    meta = column_metadata("SELECT Name, Owner.Username, Owner.Manager.Email, owner.email FROM Account")
    assert meta["idSelected"] is False
    assert names(meta["columnMetadata"]) == ["Name", "Owner"]
    owner = meta["columnMetadata"][1]
    assert owner["apexType"] is None
    assert names(owner["joinColumns"]) == ["Username", "Manager", "Email"]
    manager = owner["joinColumns"][1]
    assert names(manager["joinColumns"]) == ["Email"]
    assert manager["joinColumns"][0]["displayName"] == "Owner.Manager.Email"


def test_aggregate_columns():
    meta = column_metadata("SELECT OwnerId, COUNT(Id), SUM(AnnualRevenue) total FROM Account GROUP BY OwnerId")
    assert meta["groupBy"] is True
    cols = meta["columnMetadata"]
    assert names(cols) == ["OwnerId", "expr0", "total"]
    assert cols[1]["aggregate"] is True and cols[1]["displayName"] == "COUNT(Id)" and cols[1]["numberType"]
    assert cols[2]["displayName"] == "SUM(AnnualRevenue)"


def test_count_only_has_no_columns():
    assert column_metadata("SELECT COUNT() FROM Account")["columnMetadata"] == []


def test_errors_are_the_query_errors():
    with pytest.raises(errors.INVALID_FIELD):
        column_metadata("SELECT Bogus FROM Account")
    with pytest.raises(errors.INVALID_TYPE):
        column_metadata("SELECT Id FROM ScratchOrgInfo")
    with pytest.raises(errors.MALFORMED_QUERY):
        column_metadata("SELECT FROM Account")
