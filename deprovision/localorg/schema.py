"""Objects of the local org, described as data.

Everything else (SQLite tables, ``describe``, SOQL validation, the generic
create/update/delete rules) derives from these descriptions, so adding an
object is adding an entry here. Only behaviour that really is special
(UserLogin, OauthToken, deactivation, ...) is code, in ``rules.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Salesforce field types used here (describe's "type" values).
ID, STRING, BOOLEAN, REFERENCE, DATETIME, DATE = "id", "string", "boolean", "reference", "datetime", "date"
PICKLIST, EMAIL, INT, DOUBLE, CURRENCY, TEXTAREA, PHONE = (
    "picklist", "email", "int", "double", "currency", "textarea", "phone",
)


@dataclass(frozen=True)
class FieldSpec:
    """One field of an object, with the flags ``describe`` reports."""

    name: str
    type: str = STRING
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    default: object = None
    calculated: bool = False
    custom: bool = False
    length: int = 255
    picklist_values: tuple[str, ...] = ()
    label: str = ""

    @property
    def is_reference(self) -> bool:
        return self.type == REFERENCE


@dataclass(frozen=True)
class ObjectSpec:
    """One sObject type: its key prefix, which calls it supports, its fields."""

    name: str
    key_prefix: str
    fields: tuple[FieldSpec, ...]
    setup: bool = False  # setup objects never share a Collections call with data objects
    queue_ownable: bool = False  # a queue may own it if QueueSobject lists it
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    queryable: bool = True
    custom: bool = False
    label: str = ""
    _by_name: dict[str, FieldSpec] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({f.name.lower(): f for f in self.fields})

    def field(self, name: str) -> FieldSpec | None:
        """The field called ``name`` (case-insensitive), or None."""
        return self._by_name.get(name.lower())

    def relationship(self, name: str) -> FieldSpec | None:
        """The reference field whose relationship name is ``name`` (case-insensitive)."""
        lname = name.lower()
        for f in self.fields:
            if f.relationship_name and f.relationship_name.lower() == lname:
                return f
        return None

    @property
    def has_owner(self) -> bool:
        return self.field("OwnerId") is not None


def _f(name: str, type_: str = STRING, **kw) -> FieldSpec:
    return FieldSpec(name, type_, **kw)


def _ref(name: str, to: str | tuple[str, ...], rel: str | None = None, **kw) -> FieldSpec:
    targets = (to,) if isinstance(to, str) else to
    relname = rel if rel is not None else (name[:-2] if name.endswith("Id") else name.replace("__c", "__r"))
    return FieldSpec(name, REFERENCE, reference_to=targets, relationship_name=relname, **kw)


def _ro(name: str, type_: str = STRING, **kw) -> FieldSpec:
    return FieldSpec(name, type_, createable=False, updateable=False, **kw)


def _system_fields() -> tuple[FieldSpec, ...]:
    return (
        FieldSpec("Id", ID, createable=False, updateable=False, nillable=False),
        FieldSpec("IsDeleted", BOOLEAN, createable=False, updateable=False, nillable=False, default=False),
        FieldSpec("CreatedDate", DATETIME, createable=False, updateable=False, nillable=False),
        _ref("CreatedById", "User", "CreatedBy", createable=False, updateable=False, nillable=False),
        FieldSpec("LastModifiedDate", DATETIME, createable=False, updateable=False, nillable=False),
        _ref("LastModifiedById", "User", "LastModifiedBy", createable=False, updateable=False, nillable=False),
        FieldSpec("SystemModstamp", DATETIME, createable=False, updateable=False, nillable=False),
    )


def _obj(name: str, prefix: str, *fields: FieldSpec, **kw) -> ObjectSpec:
    return ObjectSpec(name, prefix, _system_fields() + tuple(fields), **kw)


_PERMS = (
    _f("PermissionsManageUsers", BOOLEAN, default=False, nillable=False),
    _f("PermissionsViewSetup", BOOLEAN, default=False, nillable=False),
    _f("PermissionsModifyAllData", BOOLEAN, default=False, nillable=False),
    _f("PermissionsViewAllData", BOOLEAN, default=False, nillable=False),
    _f("PermissionsFreezeUsers", BOOLEAN, default=False, nillable=False),
    _f("PermissionsManageInternalUsers", BOOLEAN, default=False, nillable=False),
    _f("PermissionsTransferAnyEntity", BOOLEAN, default=False, nillable=False),
)

_OWNER_USER = _ref("OwnerId", "User", "Owner", nillable=False)
_OWNER_USER_OR_QUEUE = _ref("OwnerId", ("User", "Group"), "Owner", nillable=False)

OBJECTS: tuple[ObjectSpec, ...] = (
    # --- organisation, licences, profiles, roles -------------------------------------------
    _obj("Organization", "00D",
         _f("Name"), _ro("InstanceName"), _ro("IsSandbox", BOOLEAN, default=False),
         _ro("OrganizationType"), _ro("NamespacePrefix"), _ro("TrialExpirationDate", DATETIME),
         _f("DefaultLocaleSidKey"), _f("TimeZoneSidKey"),
         setup=True, createable=False, deletable=False),
    _obj("UserLicense", "100",
         _ro("Name"), _ro("LicenseDefinitionKey"), _ro("TotalLicenses", INT), _ro("UsedLicenses", INT),
         _ro("Status"),
         setup=True, createable=False, updateable=False, deletable=False),
    _obj("Profile", "00e",
         _f("Name", nillable=False), _ref("UserLicenseId", "UserLicense", nillable=False),
         _f("UserType"), _f("Description"), *_PERMS,
         setup=True),
    _obj("UserRole", "00E",
         _f("Name", nillable=False), _f("DeveloperName"), _ref("ParentRoleId", "UserRole", "ParentRole"),
         _f("RollupDescription"),
         setup=True),
    # --- users ------------------------------------------------------------------------------
    _obj("User", "005",
         _f("Username", nillable=False), _f("Email", EMAIL, nillable=False), _f("FirstName"),
         _f("LastName", nillable=False), _ro("Name", calculated=True), _f("Alias", nillable=False),
         _f("CommunityNickname"), _f("IsActive", BOOLEAN, default=True, nillable=False),
         _ref("ProfileId", "Profile", nillable=False), _ref("UserRoleId", "UserRole"),
         _ref("ManagerId", "User", "Manager"), _ref("DelegatedApproverId", "User", "DelegatedApprover"),
         _f("FederationIdentifier"), _f("Department"), _f("Division"), _f("Title"), _f("CompanyName"),
         _f("EmployeeNumber"), _f("Phone", PHONE), _ro("UserType", default="Standard"),
         _ro("LastLoginDate", DATETIME), _f("TimeZoneSidKey", default="America/Los_Angeles"),
         _f("LocaleSidKey", default="en_US"), _f("EmailEncodingKey", default="UTF-8"),
         _f("LanguageLocaleKey", default="en_US"),
         _ref("Backup_Approver__c", "User", "Backup_Approver__r", custom=True),
         setup=True, deletable=False),
    _obj("UserLogin", "0Yw",
         _ref("UserId", "User", createable=False, updateable=False),
         _f("IsFrozen", BOOLEAN, default=False, nillable=False, createable=False),
         _f("IsPasswordLocked", BOOLEAN, default=False, nillable=False, createable=False),
         setup=True, createable=False, deletable=False),
    # --- permission sets, groups, licences ----------------------------------------------------
    _obj("PermissionSetGroup", "0PG",
         _f("DeveloperName", nillable=False), _f("MasterLabel", nillable=False), _f("Description"),
         _ro("Status", default="Updated"),
         setup=True),
    _obj("PermissionSet", "0PS",
         _f("Name", nillable=False), _f("Label", nillable=False), _f("Description"),
         _ro("IsOwnedByProfile", BOOLEAN, default=False), _ref("ProfileId", "Profile", createable=False,
                                                                updateable=False),
         _ref("PermissionSetGroupId", "PermissionSetGroup", createable=False, updateable=False),
         _ro("Type", default="Regular"), _ro("IsCustom", BOOLEAN, default=True), _f("NamespacePrefix"),
         _ref("LicenseId", "PermissionSetLicense", "License"), *_PERMS,
         setup=True),
    _obj("PermissionSetGroupComponent", "0PC",
         _ref("PermissionSetGroupId", "PermissionSetGroup", nillable=False, updateable=False),
         _ref("PermissionSetId", "PermissionSet", nillable=False, updateable=False),
         setup=True, updateable=False),
    _obj("PermissionSetAssignment", "0Pa",
         _ref("AssigneeId", "User", "Assignee", nillable=False, updateable=False),
         _ref("PermissionSetId", "PermissionSet", updateable=False),
         _ref("PermissionSetGroupId", "PermissionSetGroup", updateable=False),
         _f("ExpirationDate", DATETIME), _ro("IsActive", BOOLEAN, default=True),
         _f("IsRevoked", BOOLEAN, default=False, createable=False),
         setup=True),
    _obj("PermissionSetLicense", "0PL",
         _f("DeveloperName", nillable=False), _f("MasterLabel", nillable=False),
         _ro("TotalLicenses", INT), _ro("UsedLicenses", INT), _ro("Status", default="Active"),
         setup=True, createable=False, deletable=False),
    _obj("PermissionSetLicenseAssign", "2LA",
         _ref("AssigneeId", "User", "Assignee", nillable=False, updateable=False),
         _ref("PermissionSetLicenseId", "PermissionSetLicense", nillable=False, updateable=False),
         setup=True, updateable=False),
    _obj("Group", "00G",
         _f("Name", nillable=False), _f("DeveloperName"),
         _f("Type", PICKLIST, default="Regular", updateable=False,
            picklist_values=("Regular", "Queue", "Role", "RoleAndSubordinates", "Organization", "Territory")),
         _f("Email", EMAIL), _f("DoesSendEmailToMembers", BOOLEAN, default=False),
         _ref("RelatedId", ("UserRole", "Territory2"), "Related", createable=False, updateable=False),
         setup=True),
    _obj("GroupMember", "011",
         _ref("GroupId", "Group", nillable=False, updateable=False),
         _ref("UserOrGroupId", ("User", "Group"), "UserOrGroup", nillable=False, updateable=False),
         setup=True, updateable=False),
    _obj("QueueSobject", "03g",
         _ref("QueueId", "Group", "Queue", nillable=False, updateable=False),
         _f("SobjectType", nillable=False, updateable=False),
         setup=True, updateable=False),
    _obj("PackageLicense", "050",
         _ro("NamespacePrefix"), _ro("AllowedLicenses", INT), _ro("UsedLicenses", INT),
         _ro("Status"), _ro("ExpirationDate", DATETIME), _ro("IsProvisioned", BOOLEAN, default=True),
         setup=True, createable=False, updateable=False, deletable=False),
    _obj("UserPackageLicense", "051",
         _ref("PackageLicenseId", "PackageLicense", nillable=False, updateable=False),
         _ref("UserId", "User", nillable=False, updateable=False),
         setup=True, updateable=False),
    # --- sessions and tokens ----------------------------------------------------------------
    _obj("OauthToken", "0CQ",
         _ro("AccessToken"), _ro("AppName"), _ro("AppMenuItemId"), _ro("DeleteToken"),
         _ro("LastUsedDate", DATETIME), _ro("RequestToken"), _ro("UseCount", INT),
         _ref("UserId", "User", createable=False, updateable=False),
         setup=True, createable=False, updateable=False, deletable=False),
    _obj("AuthSession", "0Ak",
         _ref("UsersId", "User", "Users", createable=False, updateable=False),
         _ro("SessionType"), _ro("LoginType"), _ro("SourceIp"), _ro("NumSecondsValid", INT),
         _ro("UserType"), _ro("IsCurrent", BOOLEAN, default=False), _ro("SessionSecurityLevel"),
         setup=True, createable=False, updateable=False),
    # LoginHistory: one row per login attempt, query() and retrieve() only (Object Reference,
    # sforce_api_objects_loginhistory.htm, 196.0; field lengths from the Salesforce field reference).
    _obj("LoginHistory", "0Ya",
         _ref("UserId", "User", createable=False, updateable=False),
         _ro("LoginTime", DATETIME), _ro("LoginType", PICKLIST), _ro("LoginUrl", length=255),
         _ro("SourceIp", length=39), _ro("Status", length=128), _ro("Application", length=64),
         _ro("Browser", length=64), _ro("Platform", length=64), _ro("ApiType", length=64),
         _ro("ApiVersion", length=32), _ro("ClientVersion", length=64),
         setup=True, createable=False, updateable=False, deletable=False),
    # --- territories ------------------------------------------------------------------------
    _obj("Territory2", "0MI",
         _f("Name", nillable=False), _f("DeveloperName", nillable=False), _f("Description"),
         setup=True),
    _obj("UserTerritory2Association", "0R0",
         _ref("UserId", "User", nillable=False, updateable=False),
         _ref("Territory2Id", "Territory2", nillable=False, updateable=False),
         _f("RoleInTerritory2", PICKLIST, picklist_values=("Owner", "Administrator", "Sales Rep")),
         _ro("IsActive", BOOLEAN, default=True),
         setup=True),
    # --- setup audit trail ------------------------------------------------------------------
    _obj("SetupAuditTrail", "0Ym",
         _ro("Action"), _ro("Section"), _ro("Display", length=1000),
         _ro("DelegateUser"), _ro("CreatedByContext"), _ro("ResponsibleNamespacePrefix"),
         setup=True, createable=False, updateable=False, deletable=False),
    # --- data objects -----------------------------------------------------------------------
    _obj("Account", "001",
         _f("Name", nillable=False), _OWNER_USER, _f("Type"), _f("Industry"), _f("BillingCity"),
         _f("BillingCountry"), _f("AnnualRevenue", CURRENCY), _f("Phone", PHONE),
         _ref("ParentId", "Account", "Parent")),
    _obj("Contact", "003",
         _f("FirstName"), _f("LastName", nillable=False), _ro("Name", calculated=True),
         _f("Email", EMAIL), _f("Title"), _f("Phone", PHONE), _ref("AccountId", "Account"), _OWNER_USER),
    _obj("Opportunity", "006",
         _f("Name", nillable=False), _ref("AccountId", "Account"), _OWNER_USER,
         _f("StageName", PICKLIST, nillable=False), _f("Amount", CURRENCY), _f("CloseDate", DATE, nillable=False),
         _ro("IsClosed", BOOLEAN, default=False), _ro("IsWon", BOOLEAN, default=False)),
    _obj("Lead", "00Q",
         _f("FirstName"), _f("LastName", nillable=False), _ro("Name", calculated=True),
         _f("Company", nillable=False), _f("Email", EMAIL), _f("Status", PICKLIST, default="Open - Not Contacted"),
         _ro("IsConverted", BOOLEAN, default=False), _OWNER_USER_OR_QUEUE,
         queue_ownable=True),
    _obj("Case", "500",
         _ro("CaseNumber"), _f("Subject"), _f("Status", PICKLIST, default="New"), _f("Priority", PICKLIST),
         _f("Origin", PICKLIST), _ro("IsClosed", BOOLEAN, default=False), _ref("AccountId", "Account"),
         _ref("ContactId", "Contact"), _OWNER_USER_OR_QUEUE,
         queue_ownable=True),
    _obj("Task", "00T",
         _f("Subject"), _f("Status", PICKLIST, default="Not Started"), _f("Priority", PICKLIST, default="Normal"),
         _ro("IsClosed", BOOLEAN, default=False), _f("ActivityDate", DATE),
         _ref("WhoId", ("Contact", "Lead"), "Who"),
         _ref("WhatId", ("Account", "Opportunity", "Case", "Project__c"), "What"),
         _OWNER_USER_OR_QUEUE,
         queue_ownable=True),
    _obj("Event", "00U",
         _f("Subject"), _f("StartDateTime", DATETIME), _f("EndDateTime", DATETIME),
         _f("ActivityDateTime", DATETIME), _f("DurationInMinutes", INT),
         _ref("WhoId", ("Contact", "Lead"), "Who"),
         _ref("WhatId", ("Account", "Opportunity", "Case", "Project__c"), "What"),
         _OWNER_USER),
    _obj("AccountTeamMember", "01M",
         _ref("AccountId", "Account", nillable=False, updateable=False),
         _ref("UserId", "User", nillable=False, updateable=False),
         _f("TeamMemberRole"), _f("AccountAccessLevel", PICKLIST, default="Read")),
    _obj("OpportunityTeamMember", "00q",
         _ref("OpportunityId", "Opportunity", nillable=False, updateable=False),
         _ref("UserId", "User", nillable=False, updateable=False),
         _f("TeamMemberRole"), _f("OpportunityAccessLevel", PICKLIST, default="Read")),
    _obj("Project__c", "a01",
         _f("Name", nillable=False), _OWNER_USER_OR_QUEUE,
         _f("Status__c", PICKLIST, custom=True), _ref("Account__c", "Account", "Account__r", custom=True),
         queue_ownable=True, custom=True),
    # --- things an admin must know about before a user leaves -------------------------------
    _obj("Report", "00O",
         _f("Name", nillable=False), _f("DeveloperName"), _ref("OwnerId", "User", "Owner"),
         _ro("LastRunDate", DATETIME), _f("FolderName"),
         createable=False, deletable=False),
    _obj("Dashboard", "01Z",
         _f("Title", nillable=False), _f("DeveloperName"), _ref("RunningUserId", "User", "RunningUser"),
         _f("FolderName"), _f("Type", default="SpecifiedUser"),
         createable=False, deletable=False),
    _obj("ProcessInstanceWorkitem", "04i",
         _ref("ActorId", ("User", "Group"), "Actor", createable=False),
         _ref("OriginalActorId", ("User", "Group"), "OriginalActor", createable=False, updateable=False),
         _ro("ProcessInstanceId"), _ro("TargetObjectId"), _ro("ElapsedTimeInDays", DOUBLE),
         setup=True, createable=False, deletable=False),
    _obj("CronTrigger", "08e",
         _ref("OwnerId", "User", "Owner", createable=False, updateable=False),
         _ro("CronJobDetailName"), _ro("State"), _ro("NextFireTime", DATETIME), _ro("CronExpression"),
         setup=True, createable=False, updateable=False),
)

_BY_NAME = {o.name.lower(): o for o in OBJECTS}
_BY_PREFIX = {o.key_prefix: o for o in OBJECTS}


def get_object(name: str) -> ObjectSpec | None:
    """The object called ``name`` (case-insensitive), or None."""
    return _BY_NAME.get(name.lower())


def object_for_id(record_id: str) -> ObjectSpec | None:
    """The object whose key prefix starts ``record_id``, or None."""
    return _BY_PREFIX.get(record_id[:3])
