"""Describe resources: global, basic info and full describe, derived from the object schema."""

from __future__ import annotations

import pytest
from localorg_support import connect
from simple_salesforce.exceptions import SalesforceResourceNotFound


def test_describe_global_lists_every_object(empty_org):
    sf = connect(empty_org, version="60.0")
    body = sf.describe()
    names = {o["name"] for o in body["sobjects"]}
    assert {"Account", "User", "UserLogin", "PermissionSetAssignment", "OauthToken", "Project__c"} <= names
    account = next(o for o in body["sobjects"] if o["name"] == "Account")
    assert account["keyPrefix"] == "001" and account["urls"]["sobject"] == "/services/data/v60.0/sobjects/Account"


def test_basic_info_and_describe(empty_org):
    sf = connect(empty_org)
    basic = sf.Account.metadata()
    assert basic["objectDescribe"]["name"] == "Account" and basic["recentItems"] == []
    described = sf.User.describe()
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["IsActive"]["type"] == "boolean" and fields["IsActive"]["updateable"] is True
    assert fields["ManagerId"]["referenceTo"] == ["User"] and fields["ManagerId"]["relationshipName"] == "Manager"
    assert described["deletable"] is False


def test_describe_of_an_unknown_object_is_404(empty_org):
    sf = connect(empty_org)
    with pytest.raises(SalesforceResourceNotFound):
        sf.NoSuchObject__c.describe()
