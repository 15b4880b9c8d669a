"""``OrgSchema`` against a recorded-shape org: describeGlobal once, describes 25 per Composite call,
the disk cache revalidated with If-Modified-Since, setup objects, hierarchy fields and digests from describe."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from deprovision.org.objects import is_setup_object
from deprovision.org.schema import OrgSchema


def _field(name: str, type_: str = "string", refs: tuple[str, ...] = (), **flags) -> dict:
    return {"name": name, "type": type_, "referenceTo": list(refs), "createable": True, "updateable": True,
            "nillable": True, "calculated": False, "custom": name.endswith("__c"), **flags}


def recorded_org(custom_objects: int = 0) -> dict[str, dict]:
    """Describes shaped like a real org's: User with a custom hierarchy field, a managed object, no territories."""
    describes = {
        "User": {"name": "User", "keyPrefix": "005", "custom": False, "queryable": True, "fields": [
            _field("Id", "id", updateable=False), _field("Username"),
            _field("ManagerId", "reference", ("User",)), _field("DelegatedApproverId", "reference", ("User",)),
            _field("Backup_Approver__c", "reference", ("User",)),
            _field("CreatedById", "reference", ("User",), updateable=False)]},
        "Account": {"name": "Account", "keyPrefix": "001", "custom": False, "queryable": True, "fields": [
            _field("Id", "id"), _field("Name", nameField=True), _field("OwnerId", "reference", ("User",))]},
        "Case": {"name": "Case", "keyPrefix": "500", "custom": False, "queryable": True, "fields": [
            _field("Id", "id"), _field("CaseNumber", nameField=True), _field("OwnerId", "reference", ("Group", "User"))]},
        "acme__Invoice__c": {"name": "acme__Invoice__c", "keyPrefix": "a0B", "custom": True, "queryable": True,
                             "fields": [_field("Id", "id"), _field("Name"), _field("OwnerId", "reference", ("User",))]},
        "GroupMember": {"name": "GroupMember", "keyPrefix": "011", "custom": False, "queryable": True,
                        "fields": [_field("Id", "id")]},
    }
    for n in range(custom_objects):
        name = f"Custom{n:03d}__c"
        describes[name] = {"name": name, "keyPrefix": f"b{n:02d}"[:3], "custom": True, "queryable": True,
                           "fields": [_field("Id", "id"), _field("OwnerId", "reference", ("Group", "User"))]}
    return describes


class Response:
    def __init__(self, status: int, body: dict | None = None) -> None:
        self.status_code = status
        self._body = body or {}
        self.headers = {"Date": "Tue, 01 Dec 2026 09:00:00 GMT"}

    def json(self) -> dict:
        return self._body


class RecordedOrg:
    """Answers describeGlobal and Composite describes from recorded describes; counts calls."""

    api_version = "62.0"
    org_id = "00D000000000001AAA"

    def __init__(self, describes: dict[str, dict], *, answers_304: bool = True) -> None:
        self.describes = describes
        self.answers_304 = answers_304
        self.gets: list[dict] = []
        self.batches: list[list[str]] = []

    def rest_get(self, path: str, *, headers: dict | None = None, action: str = "") -> Response:
        assert path == "sobjects"
        self.gets.append(dict(headers or {}))
        if headers and headers.get("If-Modified-Since") and self.answers_304:
            return Response(304)
        return Response(200, {"sobjects": [{k: v for k, v in d.items() if k != "fields"}
                                           for d in self.describes.values()]})

    def composite(self, subrequests: list[dict], *, all_or_none: bool = False) -> list[dict]:
        assert len(subrequests) <= 25 and not all_or_none  # describes stand alone: one failing stops none
        assert all(s["url"].startswith("/services/data/v62.0/sobjects/") for s in subrequests)
        names = [s["url"].split("/")[5] for s in subrequests]
        self.batches.append(names)
        return [{"httpStatusCode": 200, "body": copy.deepcopy(self.describes[n]), "referenceId": s["referenceId"]}
                if n in self.describes else
                {"httpStatusCode": 404, "body": [{"errorCode": "NOT_FOUND"}], "referenceId": s["referenceId"]}
                for n, s in zip(names, subrequests, strict=True)]


def test_describe_global_once_per_run_and_a_missing_feature_is_absent() -> None:
    org = RecordedOrg(recorded_org())
    schema = OrgSchema(org)
    assert schema.has("account") and schema.name_of("account") == "Account"
    assert not schema.has("UserTerritory2Association")  # Territory Management off
    assert schema.describe("UserTerritory2Association") is None
    assert schema.object_of_id("a0B000000000001AAA") == "acme__Invoice__c"
    assert len(org.gets) == 1 and org.batches == []


def test_describes_go_25_per_composite_call() -> None:
    org = RecordedOrg(recorded_org(custom_objects=300))
    schema = OrgSchema(org)
    owned = [n for n in schema.describe_many(schema.owner_candidates()) if schema.owner_can_reference(n, "User")]
    assert len(owned) == 303
    assert [len(b) for b in org.batches] == [25] * 12 + [5]
    # describeGlobal, then 13 Composite calls: each one API request however many describes it carries
    assert schema.round_trips == 14 and schema.requests == 14
    schema.describe_many(owned)  # cached for the run
    assert len(org.batches) == 13


def test_a_describe_the_org_refuses_leaves_the_others_standing() -> None:
    describes = recorded_org()
    org = RecordedOrg(describes)
    refused = {**describes["Account"], "name": "Hidden__c", "keyPrefix": "a0H"}
    describes["Hidden__c"] = refused
    schema = OrgSchema(org)
    schema._entries()
    del describes["Hidden__c"]  # listed by describeGlobal, refused by its describe
    got = schema.describe_many(["Account", "Hidden__c", "Case"])
    assert got["Hidden__c"] is None and got["Account"]["name"] == "Account" and got["Case"]["name"] == "Case"
    assert org.batches == [["Account", "Hidden__c", "Case"]]


def test_disk_cache_is_revalidated_with_if_modified_since(tmp_path: Path) -> None:
    org = RecordedOrg(recorded_org())
    OrgSchema(org, tmp_path).describe_many(["Account", "Case"])
    again = OrgSchema(org, tmp_path)
    assert again.describe("Account")["keyPrefix"] == "001"
    assert org.gets[-1] == {"If-Modified-Since": "Tue, 01 Dec 2026 09:00:00 GMT"}
    assert len(org.batches) == 1  # 304: the cached describes still hold
    assert (tmp_path / org.org_id / "v62.0" / "describe" / "Account.json").is_file()


def test_a_changed_org_replaces_the_cache(tmp_path: Path) -> None:
    describes = recorded_org()
    org = RecordedOrg(describes, answers_304=False)
    first = OrgSchema(org, tmp_path).digest(["Account"])
    describes["Account"]["fields"].append(_field("Region__c"))
    second = OrgSchema(org, tmp_path)
    assert second.field("Account", "region__c") is not None
    assert second.digest(["Account"]) != first
    assert len(org.batches) == 2


def test_hierarchy_fields_and_owners_come_from_describe() -> None:
    schema = OrgSchema(RecordedOrg(recorded_org()))
    assert schema.user_references("User") == ["Backup_Approver__c", "DelegatedApproverId", "ManagerId"]
    assert schema.owner_can_reference("Case", "Group") and not schema.owner_can_reference("Account", "Group")
    assert schema.name_field("Case") == "CaseNumber" and schema.name_field("GroupMember") is None


@pytest.mark.parametrize(("name", "setup"), [
    ("User", True), ("GroupMember", True), ("UserTerritory2Association", True), ("AuthSession", True),
    ("Account", False), ("acme__Invoice__c", False), ("Case", False)])
def test_setup_objects_follow_the_documented_list(name: str, setup: bool) -> None:
    schema = OrgSchema(RecordedOrg(recorded_org()))
    assert schema.is_setup(name) is setup
    assert is_setup_object(name) is setup


def test_a_custom_object_is_never_a_setup_object() -> None:
    assert not is_setup_object("Group", {"name": "Group", "custom": True})
