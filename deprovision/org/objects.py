"""Which sObjects are setup objects: they never share a Collections call with data objects.

The rule (used by ``OrgSchema.is_setup``):

1. An object the org describes as ``custom`` (custom and managed-package objects, ``__c``) is a data object.
2. Otherwise it is a setup object when Salesforce lists it in "sObjects That Can't Be Used Together in
   DML Operations" (Apex Developer Guide, ``apex_dml_non_mix_sobjects``; ``DOCUMENTED_SETUP``), or when it is
   one of the user-access objects of Setup that the same restriction covers in practice (``SETUP_AREA``:
   logins, licences and their assignments, profiles, OAuth tokens, audit and scheduling objects).
3. Every other object is a data object.

The documented list says it "is not an exhaustive list": ``SETUP_AREA`` is where an object found to be refused
in a mixed call is added.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

# developer.salesforce.com/docs/atlas.en-us.262.0.apexcode.meta/apexcode/apex_dml_non_mix_sobjects.htm
DOCUMENTED_SETUP = frozenset({
    "AuthSession", "ContentWorkspace", "FieldPermissions", "ForecastingShare", "Group", "GroupMember",
    "ObjectPermissions", "ObjectTerritory2AssignmentRule", "ObjectTerritory2AssignmentRuleItem", "PermissionSet",
    "PermissionSetAssignment", "QueueSobject", "RuleTerritory2Association", "SetupEntityAccess", "Territory",
    "Territory2", "Territory2Model", "User", "UserRole", "UserTerritory", "UserTerritory2Association",
})
# Setup's user-access objects beyond the documented list.
SETUP_AREA = frozenset({
    "Organization", "UserLicense", "Profile", "UserLogin", "PermissionSetGroup", "PermissionSetGroupComponent",
    "PermissionSetLicense", "PermissionSetLicenseAssign", "PackageLicense", "UserPackageLicense", "OauthToken",
    "SetupAuditTrail", "ProcessInstanceWorkitem", "CronTrigger",
})
SETUP_OBJECTS = DOCUMENTED_SETUP | SETUP_AREA
# Key prefixes every org shares (Salesforce KB 000385203; walling/sfid prefixes.json): enough to keep setup and
# data ids apart before describeGlobal was read. Everything else comes from the org's describeGlobal.
WELL_KNOWN_PREFIXES = {
    "001": "Account", "003": "Contact", "005": "User", "006": "Opportunity", "00Q": "Lead", "500": "Case",
    "00T": "Task", "00U": "Event", "00E": "UserRole", "00e": "Profile", "00G": "Group", "011": "GroupMember",
    "0PS": "PermissionSet", "0Pa": "PermissionSetAssignment", "2LA": "PermissionSetLicenseAssign",
    "051": "UserPackageLicense", "0Ak": "AuthSession", "0Yw": "UserLogin",
}
_SETUP_LOWER = {name.lower() for name in SETUP_OBJECTS}


def is_setup_object(name: str, describe: dict | None = None) -> bool:
    """True for setup objects such as User, PermissionSetAssignment or GroupMember (rule above).

    ``describe`` is the org's describe (or describeGlobal entry) of the object, when known.
    """
    if (describe.get("custom") if describe is not None else name.endswith("__c")):
        return False
    return name.lower() in _SETUP_LOWER


def well_known_object(record_id: str) -> str | None:
    """The object of an id whose key prefix is the same in every org (else None)."""
    return WELL_KNOWN_PREFIXES.get(str(record_id)[:3])


def refuse_mixed(types: Iterable[str], what: str,
                 is_setup: Callable[[str], bool] = is_setup_object) -> None:
    """Raise ``ValueError`` if ``types`` mixes setup and data objects (Salesforce refuses such a call)."""
    seen = set(types)
    setup = sorted(t for t in seen if is_setup(t))
    data = sorted(t for t in seen if not is_setup(t))
    if setup and data:
        raise ValueError(f"{what}: setup objects ({', '.join(setup)}) and data objects "
                         f"({', '.join(data)}) must not share one call")
