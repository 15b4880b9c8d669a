"""SOQL the snapshot and the fingerprint share, so both read exactly the same rows.

Every template has one ``{ids}`` slot for ``OrgClient.query_in``; values
never enter SOQL any other way (``deprovision.org.soql``).
"""

from __future__ import annotations

# Profile.UserLicense.Name: what a successor may own (``plan/licences.py``), read with the user, no extra call
USER_FIELDS = ("Id, Username, Name, Email, IsActive, ProfileId, Profile.Name, Profile.UserLicense.Name, UserRoleId, "
               "UserRole.Name, ManagerId, DelegatedApproverId, FederationIdentifier, SystemModstamp")

LOGINS = "SELECT Id, UserId, IsFrozen, SystemModstamp FROM UserLogin WHERE UserId IN {ids}"

# object -> template. Profile-owned and system group rows are read too (fingerprint).
GRANTS: dict[str, str] = {
    "PermissionSetAssignment": (
        "SELECT Id, AssigneeId, PermissionSetId, PermissionSet.Name, PermissionSet.Label, "
        "PermissionSet.IsOwnedByProfile, PermissionSet.Type, PermissionSetGroupId, "
        "PermissionSetGroup.DeveloperName, PermissionSetGroup.MasterLabel, SystemModstamp "
        "FROM PermissionSetAssignment WHERE AssigneeId IN {ids}"),
    "PermissionSetLicenseAssign": (
        "SELECT Id, AssigneeId, PermissionSetLicenseId, PermissionSetLicense.DeveloperName, "
        "PermissionSetLicense.MasterLabel, SystemModstamp FROM PermissionSetLicenseAssign "
        "WHERE AssigneeId IN {ids}"),
    "GroupMember": (
        "SELECT Id, GroupId, UserOrGroupId, Group.Type, Group.DeveloperName, Group.Name, SystemModstamp "
        "FROM GroupMember WHERE UserOrGroupId IN {ids}"),
    "UserPackageLicense": (
        "SELECT Id, UserId, PackageLicenseId, PackageLicense.NamespacePrefix, SystemModstamp "
        "FROM UserPackageLicense WHERE UserId IN {ids}"),
    "UserTerritory2Association": (
        "SELECT Id, UserId, Territory2Id, Territory2.DeveloperName, Territory2.Name, RoleInTerritory2, "
        "SystemModstamp FROM UserTerritory2Association WHERE UserId IN {ids}"),
}
GRANT_USER_FIELD = {
    "PermissionSetAssignment": "AssigneeId",
    "PermissionSetLicenseAssign": "AssigneeId",
    "GroupMember": "UserOrGroupId",
    "UserPackageLicense": "UserId",
    "UserTerritory2Association": "UserId",
}

# Team member rows of the targets, read when revoke.teams removes them ({ids}: the users).
TEAM_PARENT = {"AccountTeamMember": "Account", "OpportunityTeamMember": "Opportunity"}
TEAM_ACTIONS = {"AccountTeamMember": "remove_account_team", "OpportunityTeamMember": "remove_opportunity_team"}
TEAM_ROWS = {
    obj: (f"SELECT Id, UserId, {parent}Id, {parent}.Name, TeamMemberRole, {parent}AccessLevel, SystemModstamp "
          f"FROM {obj} WHERE UserId IN {{ids}}")
    for obj, parent in TEAM_PARENT.items()
}

def owned_condition(where: str | None) -> str:
    """The WHERE clause selecting a user's records of an object (``{ids}`` slot for the owners)."""
    return f"OwnerId IN {{ids}} AND ({where})" if where else "OwnerId IN {ids}"


def owned_aggregate(obj: str, where: str | None) -> str:
    """Count and newest SystemModstamp per owner: what the fingerprint compares."""
    return f"SELECT OwnerId, COUNT(Id), MAX(SystemModstamp) FROM {obj} WHERE {owned_condition(where)} GROUP BY OwnerId"


def owned_records(obj: str, where: str | None, name_field: str | None = "Name", with_modstamp: bool = False) -> str:
    """The records themselves (ids to reassign, names for the diff, SystemModstamp when counted here).

    ``name_field`` is the field naming the records (``OrgSchema.name_field``), None for ids only.
    """
    fields = ["Id", name_field] if name_field else ["Id"]
    fields.append("OwnerId")
    if with_modstamp:
        fields.append("SystemModstamp")
    return f"SELECT {', '.join(fields)} FROM {obj} WHERE {owned_condition(where)}"
