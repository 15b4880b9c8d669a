"""Org settings of the local org: the configuration Salesforce keeps in Setup.

Deactivation blockers, the "Update Records with Inactive Owners" preference,
simulated assignment rules, API limits, token expiry and the error codes
of behaviours Salesforce does not document. Settings live in the org's
database (table ``_meta``) so they survive a restart of the server; change
them with ``Store.configure(**changes)``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields

# Messages from the Salesforce knowledge base (reference/salesforce-api.md, 2.2).
MSG_DEFAULT_CASE_OWNER = (
    "You cannot deactivate this user. You cannot deactivate a user who is the default owner of cases"
)
MSG_DEFAULT_WORKFLOW_USER = "You cannot deactivate the Default Workflow User"
MSG_WEB_TO_LEAD_CREATOR = "You cannot disable the Web to Lead Default Creator"
MSG_HIERARCHY_FIELD = "Cannot inactivate user that is the value of a hierarchy field:{field}"
# Not documented by Salesforce; worded after the documented ones.
MSG_EMAIL_ALERT_RECIPIENT = "You cannot deactivate a user who is the only recipient of an email alert"
MSG_LAST_ADMIN = "You cannot deactivate or change the profile of the last active System Administrator"
MSG_PROFILE_OWNED_PSA = "You can't remove a permission set that's owned by a profile."


@dataclass
class OrgSettings:
    """Everything configurable about the local org's behaviour (ids are 18-character User ids)."""

    # --- deactivation blockers (Support Settings, Process Automation Settings, Web-to-Lead, ...)
    default_case_owner_id: str | None = None
    default_workflow_user_id: str | None = None
    web_to_lead_creator_id: str | None = None
    email_alert_recipient_ids: list[str] = field(default_factory=list)
    hierarchy_fields: list[str] = field(default_factory=lambda: ["Backup_Approver__c"])
    last_admin_protected: bool = True
    blocker_error_code: str = "FIELD_INTEGRITY_EXCEPTION"
    # --- "Enable Set Audit Fields upon Record Creation and Update Records with Inactive Owners"
    update_records_with_inactive_owners: bool = False
    # --- simulated active assignment rules: object name -> queue DeveloperName (or 00G id)
    assignment_rule_queues: dict[str, str] = field(default_factory=dict)
    # --- API limits: None means 100,000 + 1,000 per Salesforce / Salesforce Platform licence
    daily_api_limit: int | None = None
    # --- sessions: an access token stops working after this many requests (None: never)
    token_max_uses: int | None = None
    freeze_ends_sessions: bool = False
    # --- the API user's permissions (API names without "Permissions": CustomizeApplication,
    # ManagePvtRptsAndDashbds, ...; None: all of them, as a System Administrator has): ``visibility.py``
    api_user_permissions: list[str] | None = None
    # --- error codes Salesforce does not document (reference/salesforce-api.md, 1.2 and 3.1)
    profile_owned_psa_error_code: str = "INVALID_OPERATION"
    profile_owned_psa_message: str = MSG_PROFILE_OWNED_PSA
    userlogin_error_code: str = "INVALID_FIELD_FOR_INSERT_UPDATE"

    def to_json(self) -> str:
        """The settings as one JSON document."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> OrgSettings:
        """Settings from JSON; unknown keys (from another version) are ignored."""
        data = json.loads(text) if text else {}
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def changed(self, **changes: object) -> OrgSettings:
        """A copy with ``changes`` applied; unknown names raise ValueError."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown org setting(s): {', '.join(unknown)}")
        data = asdict(self)
        data.update(changes)
        return OrgSettings(**data)
