"""Which sObjects are setup objects (never sharing a Collections call with data objects)."""

from __future__ import annotations

from collections.abc import Iterable

from deprovision.localorg import schema

# Setup objects the local org does not model but a real org has; the local org's schema adds the rest.
_KNOWN_SETUP = frozenset({
    "User", "UserLogin", "UserRole", "Profile", "PermissionSet", "PermissionSetGroup",
    "PermissionSetAssignment", "PermissionSetLicenseAssign", "Group", "GroupMember", "QueueSobject",
    "UserPackageLicense", "UserTerritory2Association", "UserTerritory", "AuthSession", "OauthToken",
    "Territory2", "ObjectTerritory2Association", "SetupEntityAccess", "FieldPermissions", "ObjectPermissions",
})
SETUP_OBJECTS = _KNOWN_SETUP | {spec.name for spec in schema.OBJECTS if spec.setup}
_SETUP_LOWER = {name.lower() for name in SETUP_OBJECTS}


def is_setup_object(name: str) -> bool:
    """True for setup objects such as User, PermissionSetAssignment or GroupMember."""
    return name.lower() in _SETUP_LOWER


def object_of_id(record_id: str) -> str | None:
    """The object an id belongs to, from its key prefix, when known."""
    spec = schema.object_for_id(record_id)
    return spec.name if spec else None


def refuse_mixed(types: Iterable[str], what: str) -> None:
    """Raise ``ValueError`` if ``types`` mixes setup and data objects (Salesforce refuses such a call)."""
    seen = set(types)
    setup = sorted(t for t in seen if is_setup_object(t))
    data = sorted(t for t in seen if not is_setup_object(t))
    if setup and data:
        raise ValueError(f"{what}: setup objects ({', '.join(setup)}) and data objects "
                         f"({', '.join(data)}) must not share one call")
