"""Which objects' records a user's licence lets them own: checked when a plan picks a successor.

Salesforce refuses an owner change to a user who cannot read the object: "The new owner must have read
permission" (``TRANSFER_REQUIRES_READ``, partner WSDL StatusCode; SOAP API Developer Guide, Core Data Types;
Salesforce Help, "Transfer Records": the new owner needs at least Read on the object; SOAP API Developer
Guide, OwnerChangeOptions ``EnforceNewOwnerHasReadAccess``: "the record's new owner must have at least read
access on the record"). A user licence caps what any profile or permission set can give (Salesforce Help,
"User Licenses"): Chatter Free and Chatter External users have no access to standard or custom objects;
Salesforce Platform (and Force.com App Subscription) users have accounts, contacts, activities and custom
objects, but not opportunities, leads or cases (nor the other standard CRM objects).

The licence is read with the successor (``User.Profile.UserLicense.Name``, in the query that reads every
successor and manager: no extra call). Object permissions (``ObjectPermissions``) are not read: the licence
rule is the check, so a licence that allows the object with a profile lacking Read still fails at apply.
"""

from __future__ import annotations

CUSTOM = "*custom"  # every custom object (API name ending in __c)

# UserLicense.Name -> the objects its users may own; a licence not listed may own anything its profile grants.
LICENCE_OWNABLE: dict[str, frozenset[str]] = {
    "Chatter Free": frozenset(),
    "Chatter External": frozenset(),
    "Salesforce Platform": frozenset({"Account", "Contact", "Task", "Event", CUSTOM}),
    "Force.com - App Subscription": frozenset({"Account", "Contact", "Task", "Event", CUSTOM}),
}


def cannot_own(licence: str, obj: str) -> str | None:
    """Why a user with ``licence`` cannot own ``obj`` records (None when the licence allows it)."""
    allowed = LICENCE_OWNABLE.get(licence)
    if allowed is None or obj in allowed or (CUSTOM in allowed and obj.lower().endswith("__c")):
        return None
    return (f"has a {licence} licence, which gives no access to {obj} "
            "(the new owner must have read permission on the object)")
