"""The local org's schema looks like a real org's: standard objects, describe shape, org shapes, blobs, 304."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from localorg_support import connect, trusting_session
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from deprovision.localorg import schema, seed, shapes
from deprovision.localorg.server import LocalOrgServer

SHAPES = Path(__file__).resolve().parents[2] / "deprovision" / "localorg" / "shapes"

# Top-level keys of a recorded Account describe (SFDO-Tooling/CumulusCI
# cumulusci/tests/shared_cassettes/GET_sobjects_Account_describe.yaml).
DESCRIBE_KEYS = {
    "actionOverrides", "activateable", "childRelationships", "compactLayoutable", "createable", "custom",
    "customSetting", "deepCloneable", "defaultImplementation", "deletable", "deprecatedAndHidden", "extendedBy",
    "extendsInterfaces", "feedEnabled", "fields", "hasSubtypes", "implementedBy", "implementsInterfaces",
    "isInterface", "isSubtype", "keyPrefix", "label", "labelPlural", "layoutable", "listviewable",
    "lookupLayoutable", "mergeable", "mruEnabled", "name", "namedLayoutInfos", "networkScopeFieldName",
    "queryable", "recordTypeInfos", "replicateable", "retrieveable", "searchLayoutable", "searchable",
    "supportedScopes", "triggerable", "undeletable", "updateable", "urls",
}
# Attributes of every field of that describe.
FIELD_KEYS = {
    "aggregatable", "aiPredictionField", "autoNumber", "byteLength", "calculated", "calculatedFormula",
    "cascadeDelete", "caseSensitive", "compoundFieldName", "controllerName", "createable", "custom",
    "defaultValue", "defaultValueFormula", "defaultedOnCreate", "dependentPicklist", "deprecatedAndHidden",
    "digits", "displayLocationInDecimal", "encrypted", "externalId", "extraTypeInfo", "filterable",
    "filteredLookupInfo", "formulaTreatNullNumberAsZero", "groupable", "highScaleNumber", "htmlFormatted",
    "idLookup", "inlineHelpText", "label", "length", "mask", "maskType", "name", "nameField", "namePointing",
    "nillable", "permissionable", "picklistValues", "polymorphicForeignKey", "precision", "queryByDistance",
    "referenceTargetField", "referenceTo", "relationshipName", "relationshipOrder", "restrictedDelete",
    "restrictedPicklist", "scale", "searchPrefilterable", "soapType", "sortable", "type", "unique", "updateable",
    "writeRequiresMasterRead",
}
# Keys of a describeGlobal entry (SFDO-Tooling/CumulusCI .../GET_sobjects_Global_describe.yaml).
GLOBAL_KEYS = {
    "activateable", "associateEntityType", "associateParentEntity", "createable", "custom", "customSetting",
    "deepCloneable", "deletable", "deprecatedAndHidden", "feedEnabled", "hasSubtypes", "isInterface", "isSubtype",
    "keyPrefix", "label", "labelPlural", "layoutable", "mergeable", "mruEnabled", "name", "queryable",
    "replicateable", "retrieveable", "searchable", "triggerable", "undeletable", "updateable", "urls",
}

# Standard fields each object must have, from the recorded describes above (Account, Contact, Opportunity, Lead,
# Case, Event) and the Object Reference for User and Group:
# https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_user.htm
# https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_group.htm
EXPECTED_FIELDS = {
    "Account": ["Id", "IsDeleted", "MasterRecordId", "Name", "Type", "ParentId", "BillingStreet", "BillingCity",
                "BillingState", "BillingPostalCode", "BillingCountry", "BillingAddress", "ShippingCity", "Phone",
                "Fax", "AccountNumber", "Website", "Industry", "AnnualRevenue", "NumberOfEmployees", "Ownership",
                "Description", "Rating", "Site", "OwnerId", "CreatedDate", "CreatedById", "LastModifiedDate",
                "LastModifiedById", "SystemModstamp", "LastActivityDate", "AccountSource"],
    "Contact": ["Id", "IsDeleted", "AccountId", "LastName", "FirstName", "Salutation", "Name", "MailingCity",
                "Phone", "MobilePhone", "ReportsToId", "Email", "Title", "Department", "LeadSource", "Birthdate",
                "Description", "OwnerId", "IndividualId"],
    "Opportunity": ["Id", "AccountId", "IsPrivate", "Name", "Description", "StageName", "Amount", "Probability",
                    "CloseDate", "Type", "LeadSource", "IsClosed", "IsWon", "ForecastCategory",
                    "ForecastCategoryName", "CampaignId", "Pricebook2Id", "OwnerId", "ContactId"],
    "Lead": ["Id", "LastName", "FirstName", "Name", "Title", "Company", "City", "Email", "Status", "Industry",
             "OwnerId", "IsConverted", "ConvertedDate", "ConvertedAccountId", "ConvertedContactId",
             "ConvertedOpportunityId", "IsUnreadByOwner"],
    "Case": ["Id", "CaseNumber", "ContactId", "AccountId", "AssetId", "ParentId", "SuppliedEmail", "Type",
             "Status", "Reason", "Origin", "Subject", "Priority", "Description", "IsClosed", "ClosedDate",
             "IsEscalated", "OwnerId"],
    "Event": ["Id", "WhoId", "WhatId", "Subject", "Location", "IsAllDayEvent", "ActivityDateTime", "ActivityDate",
              "DurationInMinutes", "StartDateTime", "EndDateTime", "Description", "AccountId", "OwnerId",
              "IsPrivate", "ShowAs", "IsChild", "IsGroupEvent", "IsRecurrence", "ReminderDateTime",
              "IsReminderSet"],
    "User": ["Id", "Username", "LastName", "FirstName", "Name", "CompanyName", "Division", "Department", "Title",
             "Email", "Alias", "CommunityNickname", "IsActive", "TimeZoneSidKey", "UserRoleId", "LocaleSidKey",
             "EmailEncodingKey", "ProfileId", "UserType", "LanguageLocaleKey", "EmployeeNumber",
             "DelegatedApproverId", "ManagerId", "LastLoginDate", "FederationIdentifier", "ContactId", "AccountId"],
    "Group": ["Id", "Name", "DeveloperName", "RelatedId", "Type", "Email", "OwnerId", "DoesSendEmailToMembers",
              "DoesIncludeBosses"],
}


@pytest.fixture
def sf(empty_org):
    return connect(empty_org)


def _fields(described: dict) -> dict[str, dict]:
    return {f["name"]: f for f in described["fields"]}


@pytest.mark.parametrize("obj", sorted(EXPECTED_FIELDS))
def test_standard_objects_have_their_documented_fields(sf, obj):
    described = getattr(sf, obj).describe()
    assert set(described) == DESCRIBE_KEYS
    fields = _fields(described)
    assert set(EXPECTED_FIELDS[obj]) <= set(fields)
    for f in described["fields"]:
        assert set(f) == FIELD_KEYS, f["name"]
    assert fields["Id"]["defaultedOnCreate"] is True and fields["Id"]["nillable"] is False
    assert fields["Id"]["idLookup"] is True and fields["Id"]["type"] == "id"
    assert fields["IsDeleted"]["defaultValue"] is False and fields["IsDeleted"]["nillable"] is False
    for name in ("CreatedDate", "CreatedById", "LastModifiedDate", "SystemModstamp"):
        assert fields[name]["defaultedOnCreate"] is True and fields[name]["createable"] is False, name
    master = described["recordTypeInfos"][-1]
    assert master["master"] is True and master["recordTypeId"] == "012000000000000AAA"


def test_recorded_facts(sf):
    """Facts a describe-driven client acts on, as the recorded describes state them."""
    account = _fields(sf.Account.describe())
    assert account["OwnerId"]["defaultedOnCreate"] is True and account["OwnerId"]["nillable"] is False
    assert account["Type"]["type"] == "picklist" and account["Type"]["restrictedPicklist"] is False
    assert "Customer - Direct" in [p["value"] for p in account["Type"]["picklistValues"]]
    assert "Technology" in [p["value"] for p in account["Industry"]["picklistValues"]]
    assert account["Description"]["type"] == "textarea" and account["Description"]["length"] == 32000
    assert account["Name"]["nameField"] is True and account["Name"]["nillable"] is False
    contact = _fields(sf.Contact.describe())
    assert contact["Name"]["nillable"] is False and contact["Name"]["createable"] is False
    assert contact["Email"]["idLookup"] is True
    opportunity = _fields(sf.Opportunity.describe())
    assert opportunity["IsClosed"]["nillable"] is False and opportunity["IsClosed"]["defaultedOnCreate"] is True
    assert opportunity["Probability"]["type"] == "percent"
    case = _fields(sf.Case.describe())
    assert case["CaseNumber"]["nillable"] is False and case["CaseNumber"]["autoNumber"] is True
    lead = _fields(sf.Lead.describe())
    assert lead["Status"]["defaultValue"] is None or lead["Status"]["defaultedOnCreate"] is True
    assert [p for p in lead["Status"]["picklistValues"] if p["defaultValue"]][0]["value"] == "Open - Not Contacted"
    event = _fields(sf.Event.describe())
    assert event["WhatId"]["polymorphicForeignKey"] is True and "Account" in event["WhatId"]["referenceTo"]
    user = sf.User.describe()
    assert user["deletable"] is False and user["undeletable"] is False
    assert _fields(user)["Username"]["idLookup"] is True and _fields(user)["Username"]["unique"] is True


def test_child_relationships_come_from_reference_fields(sf):
    children = {(c["childSObject"], c["field"]): c for c in sf.Account.describe()["childRelationships"]}
    assert children[("Contact", "AccountId")]["relationshipName"] == "Contacts"
    assert children[("Contact", "AccountId")]["cascadeDelete"] is True
    assert children[("Opportunity", "AccountId")]["relationshipName"] == "Opportunities"
    assert children[("Case", "AccountId")]["cascadeDelete"] is False
    assert children[("Task", "WhatId")]["relationshipName"] == "Tasks"
    assert children[("Account", "ParentId")]["relationshipName"] == "ChildAccounts"
    users = {(c["childSObject"], c["field"]): c for c in sf.User.describe()["childRelationships"]}
    assert users[("User", "ManagerId")]["relationshipName"] == "ManagedUsers"


def test_describe_global_entries(sf):
    body = sf.describe()
    assert body["encoding"] == "UTF-8" and body["maxBatchSize"] == 200
    by_name = {o["name"]: o for o in body["sobjects"]}
    for entry in body["sobjects"]:
        assert set(entry) == GLOBAL_KEYS, entry["name"]
    assert by_name["Account"]["replicateable"] is True and by_name["Account"]["triggerable"] is True
    assert by_name["UserLogin"]["replicateable"] is False and by_name["UserLogin"]["createable"] is False
    for name in ("Campaign", "Contract", "Order", "Asset", "Solution", "ContentDocument", "ContentVersion",
                 "ContentDocumentLink", "Attachment", "Note", "Document", "Territory2", "Territory2Model"):
        assert name in by_name, name


def test_description_can_be_set(sf):
    account = sf.Account.create({"Name": "Acme"})["id"]
    sf.Account.update(account, {"Description": "x"})
    assert sf.Account.get(account)["Description"] == "x"
    sf.Account.update(account, {"Industry": "Not on the list"})  # Industry is an unrestricted picklist


def test_version_data_and_body_download_as_bytes(empty_org, sf):
    account = sf.Account.create({"Name": "Files Inc"})["id"]
    payload = bytes(range(256)) * 3
    version = sf.ContentVersion.create({"Title": "Deck", "PathOnClient": "deck.pdf", "FirstPublishLocationId": account,
                                        "VersionData": base64.b64encode(payload).decode()})["id"]
    row = sf.ContentVersion.get(version)
    assert row["VersionData"].endswith(f"/sobjects/ContentVersion/{version}/VersionData")
    assert row["ContentSize"] == len(payload) and row["FileType"] == "PDF" and row["ContentDocumentId"]
    session = trusting_session(empty_org.ca_bundle)
    headers = {"Authorization": f"Bearer {empty_org.access_token}"}
    got = session.get(f"{empty_org.instance_url}/services/data/v59.0/sobjects/ContentVersion/{version}/VersionData",
                      headers=headers)
    assert got.status_code == 200 and got.content == payload
    links = sf.query(f"SELECT LinkedEntityId FROM ContentDocumentLink WHERE ContentDocumentId = "
                     f"'{row['ContentDocumentId']}'")["records"]
    assert [r["LinkedEntityId"] for r in links] == [account]
    attachment = sf.Attachment.create({"Name": "a.txt", "ParentId": account,
                                       "Body": base64.b64encode(b"hello").decode()})["id"]
    assert sf.Attachment.get(attachment)["BodyLength"] == 5
    got = session.get(f"{empty_org.instance_url}/services/data/v59.0/sobjects/Attachment/{attachment}/Body",
                      headers=headers)
    assert got.content == b"hello"


def test_if_modified_since_answers_304(empty_org):
    session = trusting_session(empty_org.ca_bundle)
    headers = {"Authorization": f"Bearer {empty_org.access_token}"}
    base = f"{empty_org.instance_url}/services/data/v59.0/sobjects"
    first = session.get(f"{base}/Account/describe", headers=headers)
    assert first.status_code == 200 and first.headers.get("Last-Modified")
    for url in (f"{base}/Account/describe", base):
        later = session.get(url, headers={**headers, "If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"})
        assert later.status_code == 304 and later.content == b""
        earlier = session.get(url, headers={**headers, "If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
        assert earlier.status_code == 200


@pytest.fixture
def custom_org(tmp_path, localorg_cert_dir):
    shape = shapes.load_shape_file(SHAPES / "custom.yaml")
    with LocalOrgServer(tmp_path / "custom.sqlite3", cert_dir=localorg_cert_dir, seed="empty", shape=shape) as org:
        yield org
    assert schema.current() is schema.BASE  # the shaped org gave the default schema back


def test_a_shaped_org_is_described_and_queried(custom_org):
    sf = connect(custom_org)
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"acme__Thing__c", "Project__c", "Expense_Report__c"} <= names
    assert not names & {"Territory2", "Territory2Model", "UserTerritory2Association"}
    thing = sf.acme__Thing__c.describe()
    assert thing["custom"] is True and thing["keyPrefix"].startswith("a")
    fields = _fields(thing)
    assert fields["acme__Amount__c"]["type"] == "currency" and fields["acme__Amount__c"]["custom"] is True
    assert fields["acme__Account__c"]["relationshipName"] == "acme__Account__r"
    children = {(c["childSObject"], c["field"]): c for c in sf.Account.describe()["childRelationships"]}
    assert children[("acme__Thing__c", "acme__Account__c")]["relationshipName"] == "acme__Things__r"
    assert _fields(sf.Account.describe())["Region__c"]["picklistValues"][0]["value"] == "EMEA"
    mentor = _fields(sf.User.describe())["Mentor__c"]
    assert mentor["referenceTo"] == ["User"] and mentor["custom"] is True
    account = sf.Account.create({"Name": "Globex", "Region__c": "EMEA"})["id"]
    sf.acme__Thing__c.create({"Name": "T-1", "acme__Amount__c": 12.5, "acme__Account__c": account})
    rows = sf.query("SELECT Name, acme__Amount__c, acme__Account__r.Name FROM acme__Thing__c")["records"]
    assert rows[0]["acme__Amount__c"] == 12.5 and rows[0]["acme__Account__r"]["Name"] == "Globex"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM UserTerritory2Association")
    assert exc.value.content[0]["errorCode"] == "INVALID_TYPE"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Territory2.describe()
    assert custom_org.store.settings.hierarchy_fields == ["Mentor__c"]


def test_the_shape_is_kept_in_the_database(tmp_path):
    from deprovision.localorg.store import Store

    path = tmp_path / "shaped.sqlite3"
    store = Store.open(path, shape=shapes.with_generated_objects(None, 300))
    try:
        assert store.schema.get("Bench_0300__c") is not None and schema.get_object("Bench_0001__c") is not None
    finally:
        store.close()
    assert schema.get_object("Bench_0001__c") is None
    again = Store.open(path)  # no shape given: the stored one
    try:
        assert again.schema.get("Bench_0150__c") is not None
        assert again.query("SELECT COUNT() FROM Bench_0150__c").total_size == 0
    finally:
        again.close()


def test_person_accounts_add_their_fields():
    built = shapes.build_schema({"features": {"person_accounts": True}})
    account = built.get("Account")
    assert account.field("IsPersonAccount") is not None and account.field("PersonEmail") is not None
    assert any(rt.developer_name == "PersonAccount" for rt in account.record_types)
    assert built.get("Contact").field("IsPersonAccount") is not None


def test_demo_template_still_builds_with_record_types():
    store = seed.fresh_store("empty")
    try:
        rts = store.select('SELECT DeveloperName, SobjectType FROM "RecordType" ORDER BY DeveloperName')
        assert {(r["SobjectType"], r["DeveloperName"]) for r in rts} >= {("Account", "Customer"), ("Case", "Support")}
    finally:
        store.close()


def test_the_demo_seed_fits_a_shape_without_territories(tmp_path):
    from deprovision.localorg.store import Store

    store = Store.open(tmp_path / "custom-demo.sqlite3", shape=shapes.load_shape_file(SHAPES / "custom.yaml"))
    try:
        seed.build(store, "demo")
        assert store.query("SELECT COUNT() FROM Account").total_size > 1000
        assert store.query("SELECT COUNT() FROM ContentVersion").total_size == 13
        assert store.settings.hierarchy_fields == ["Mentor__c"]
        assert store.schema.get("UserTerritory2Association") is None
    finally:
        store.close()
