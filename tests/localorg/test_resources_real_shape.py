"""Resources answered in the shape real orgs send: the version's resource list (with identity), every limit
of "List Organization Limits", and record errors that always carry ``fields`` (REST API Developer Guide;
responses recorded in public client test suites)."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from deprovision.localorg.resources.limits import ORG_LIMITS
from deprovision.localorg.resources.versions import RESOURCES


def test_version_lists_the_resources_of_the_developer_guide_with_identity(served_org, sf) -> None:
    resources = sf.restful("", method="GET")
    assert list(resources) == list(RESOURCES)
    info = sf.session.get(f"{served_org.instance_url}/services/oauth2/userinfo", headers=sf.headers).json()
    assert resources["identity"] == f"{served_org.instance_url}/id/{served_org.org_id}/{info['user_id']}"


def test_limits_name_every_limit_of_a_real_org(served_org, sf) -> None:
    limits = sf.limits()
    assert list(limits) == [name for name, _ in ORG_LIMITS]
    assert all(set(v) >= {"Max", "Remaining"} for v in limits.values())
    assert limits["DailyApiRequests"]["Max"] == served_org.store.api_usage()[1]
    assert set(limits["PermissionSets"]["CreateCustom"]) == {"Max", "Remaining"}
    assert limits["PermissionSets"]["Remaining"] < limits["PermissionSets"]["Max"]  # the demo's own sets count


def test_record_errors_carry_fields(sf) -> None:
    with pytest.raises(SalesforceMalformedRequest) as missing:
        sf.Account.create({"Description": "no name"})
    assert missing.value.content == [{"message": "Required fields are missing: [Name]",
                                      "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Name"]}]
    with pytest.raises(SalesforceMalformedRequest) as locked:
        sf.Account.create({"Name": "x", "CreatedDate": "2026-01-01T00:00:00Z"})
    assert locked.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert locked.value.content[0]["fields"] == ["CreatedDate"]


def test_a_duplicate_names_the_record_it_duplicates_and_no_fields(served_org, sf) -> None:
    row = sf.query("SELECT AssigneeId, PermissionSetLicenseId FROM PermissionSetLicenseAssign LIMIT 1")["records"][0]
    existing = sf.query(f"SELECT Id FROM PermissionSetLicenseAssign WHERE AssigneeId = '{row['AssigneeId']}' "
                        f"AND PermissionSetLicenseId = '{row['PermissionSetLicenseId']}'")
    with pytest.raises(SalesforceMalformedRequest) as dup:
        sf.PermissionSetLicenseAssign.create({k: row[k] for k in ("AssigneeId", "PermissionSetLicenseId")})
    assert dup.value.content == [{
        "message": "duplicate value found: AssigneeId duplicates value on record with id: "
                   + existing["records"][0]["Id"][:15],
        "errorCode": "DUPLICATE_VALUE", "fields": []}]


def test_not_found_has_no_fields(sf) -> None:
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.Account.get("001000000000000AAA")
    assert missing.value.content == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]


def test_organization_has_its_documented_fields(sf) -> None:
    """Object Reference, Organization: sharing defaults, address, fiscal year and the org's read-only facts."""
    fields = {f["name"]: f for f in sf.Organization.describe()["fields"]}
    for name in ("DefaultAccountAccess", "DefaultCaseAccess", "DefaultLeadAccess", "DefaultOpportunityAccess",
                 "FiscalYearStartMonth", "IsReadOnly", "LanguageLocaleKey", "PrimaryContact", "UiSkin", "City",
                 "Street", "Country", "ComplianceBccEmail", "MonthlyPageViewsUsed"):
        assert name in fields, name
    assert fields["City"]["updateable"] is True and fields["InstanceName"]["updateable"] is False
    assert "ControlledByLeadOrContact" in {p["value"] for p in fields["DefaultAccountAccess"]["picklistValues"]}
    [org] = sf.query("SELECT Name, IsReadOnly, DefaultAccountAccess, FiscalYearStartMonth FROM Organization")["records"]
    assert org["IsReadOnly"] is False and org["Name"]
