"""The playbook as typed data (pydantic v2). Unknown keys are refused everywhere.

The JSON Schema of these models (``deprovision schema``) is what editors use
to check playbooks while they are written.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from deprovision.ids import is_valid_id

SUCCESSOR_PATTERN = r"^(manager|user:\S+|id:005[0-9A-Za-z]{12}([0-9A-Za-z]{3})?|queue:[A-Za-z][A-Za-z0-9_]*)$"
_SUCCESSOR_RE = re.compile(SUCCESSOR_PATTERN)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_API_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def check_successor(value: Any) -> Any:
    """A successor rule: manager, user:USERNAME, id:005..., queue:DEVELOPER_NAME."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("a successor is text: manager, user:USERNAME, id:005..., or queue:DEVELOPER_NAME")
    if not _SUCCESSOR_RE.match(value):
        raise ValueError(f"'{value}' is not a successor: use manager, user:USERNAME, id:005..., "
                         "or queue:DEVELOPER_NAME")
    if value.startswith("id:") and not is_valid_id(value[3:]):
        raise ValueError(f"'{value[3:]}' is not a valid user id")
    return value


def _all_or_names(value: Any) -> Any:
    if value is None or value == "all":
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        bad = [v for v in value if not _API_NAME_RE.match(v)]
        if bad:
            raise ValueError(f"'{bad[0]}' is not an API name")
        return value
    raise ValueError("expected 'all' or a list of API names")


def _all_or_teams(value: Any) -> Any:
    if value is None or value == "all":
        return value
    if isinstance(value, list) and all(v in ("Account", "Opportunity") for v in value):
        return value
    raise ValueError("expected 'all' or a list of Account, Opportunity")


def _bool_or_mapping(value: Any) -> Any:
    if isinstance(value, dict):
        for key, flag in value.items():
            if key not in ("manager", "delegated_approver", "other_fields"):
                raise ValueError(f"unknown key '{key}'; expected manager, delegated_approver, other_fields")
            if not isinstance(flag, bool):
                raise ValueError(f"{key}: expected true or false")
        return value
    if isinstance(value, bool):
        return value
    raise ValueError("expected true, false or {manager: true|false, delegated_approver: true|false, "
                     "other_fields: true|false}")


def check_email(value: str) -> str:
    """An email address, roughly: something@domain.tld."""
    if not _EMAIL_RE.match(value):
        raise ValueError(f"'{value}' is not an email address")
    return value


def check_user_id(value: str) -> str:
    """A User id: 15 or 18 characters, prefix 005, checksum right."""
    if not (is_valid_id(value) and value.startswith("005")):
        raise ValueError(f"'{value}' is not a user id (15 or 18 characters starting 005)")
    return value


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("an empty value matches nobody")
    return value


NonEmpty = Annotated[str, AfterValidator(_non_empty)]
Email = Annotated[str, AfterValidator(check_email)]
UserId = Annotated[str, AfterValidator(check_user_id)]
SuccessorRule = Annotated[
    str | None,
    BeforeValidator(check_successor),
    Field(json_schema_extra={"pattern": SUCCESSOR_PATTERN}),
]
AllOrNames = Annotated[
    Literal["all"] | list[str] | None,
    BeforeValidator(_all_or_names),
    Field(default=None, description="'all', or a list of API names; omitted: not revoked"),
]


class Selectors(_Strict):
    """Who leaves. Any mix of selectors; a user matched twice is one user."""

    usernames: list[NonEmpty] = Field(default_factory=list, description="Usernames, exact match.")
    emails: list[Email] = Field(default_factory=list, description="Email addresses (every user with that email).")
    ids: list[UserId] = Field(default_factory=list, description="User ids, 15 or 18 characters.")
    federation_ids: list[NonEmpty] = Field(default_factory=list, description="FederationIdentifier values.")
    csv: str | None = Field(default=None, description=(
        "CSV file relative to the playbook: a column Username, Email, Id or FederationIdentifier; "
        "optional terminated_at and ticket."))
    where: str | None = Field(default=None, description="A SOQL condition on User, used as written.")
    on_missing: Literal["error", "warn"] = Field(default="error", description=(
        "A selector value that matches no user: 'error' stops the plan, 'warn' reports it and goes on."))
    terminated_at: str | None = Field(default=None, description=(
        "Leaving date (ISO date or date-time, UTC) of every user the CSV gives none. In the future: the "
        "login is frozen and sessions and tokens end now (or at cut_access_at), the rest of the plan runs "
        "at that time (`deprovision apply --due`)."))
    cut_access_at: str | None = Field(default=None, description=(
        "When a future leaver's login is frozen and sessions and OAuth tokens end (default: at once)."))

    @field_validator("terminated_at", "cut_access_at")
    @classmethod
    def _moment(cls, value: str | None) -> str | None:
        from deprovision.clock import parse

        if value is not None and parse(value) is None:
            raise ValueError(f"'{value}' is not an ISO date or date-time")
        return value

    @field_validator("where")
    @classmethod
    def _where(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("an empty condition would select every user")
        return value

    @model_validator(mode="after")
    def _at_least_one(self) -> Selectors:
        if not (self.usernames or self.emails or self.ids or self.federation_ids or self.csv or self.where):
            raise ValueError("at least one selector is needed: usernames, emails, ids, federation_ids, csv or where")
        return self


class Protect(_Strict):
    """Users never touched: a playbook that selects one fails to plan."""

    usernames: list[NonEmpty] = Field(default_factory=list)
    ids: list[UserId] = Field(default_factory=list)
    profiles: list[str] = Field(default_factory=list, description="Profile names, e.g. System Administrator.")


class Limits(_Strict):
    """Blast-radius guards."""

    max_users: int = Field(default=25, ge=1, description="The plan fails when more users are selected.")


ALL = "all"  # every object whose records a leaver can own (as the org describes them)


def _or_all(schema: dict[str, Any]) -> None:
    """JSON Schema: the field also takes the string 'all'."""
    inner = {k: v for k, v in schema.items() if k not in ("description", "title", "default")}
    for key in list(inner):
        schema.pop(key)
    schema["anyOf"] = [{"const": ALL, "type": "string"}, inner]


def _all_as_list(value: Any) -> Any:
    return [ALL] if value == ALL else value


def _all_as_mapping(value: Any) -> Any:
    return {ALL: {}} if value == ALL else value


class Backup(_Strict):
    """Owned records exported (CSV in the run folder) before anything changes."""

    objects: Annotated[list[str], BeforeValidator(_all_as_list)] = Field(
        default_factory=list, json_schema_extra=_or_all, description=(
            "Object API names, e.g. Account, Case; or 'all': every queryable object whose OwnerId can be a "
            "user, as the org describes them."))
    files: bool = Field(default=False, description=(
        "Also save the leavers' file contents (ContentVersion VersionData, Attachment Body), hashed in "
        "SHA256SUMS."))
    scope: Literal["owned", "org"] = Field(default="owned", description=(
        "'owned': the leavers' records of `objects`; 'org': first a full export of the org (every object "
        "and file, `deprovision export`), verified before anything is revoked or deactivated."))

    @field_validator("objects")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        if ALL in value:
            return [ALL]
        for name in value:
            if not _API_NAME_RE.match(name):
                raise ValueError(f"'{name}' is not an object API name")
        return value

    @property
    def every_object(self) -> bool:
        """``objects: all``."""
        return ALL in self.objects

    def named(self) -> list[str]:
        """The objects named in the playbook (none for ``all``)."""
        return [] if ALL in self.objects else list(self.objects)


class Revoke(_Strict):
    """Access taken away. Profile-owned permission sets are never touched."""

    sessions: bool = Field(default=True, description="End the user's sessions (AuthSession rows).")
    permission_sets: AllOrNames
    permission_set_groups: AllOrNames
    permission_set_licenses: AllOrNames
    public_groups: AllOrNames
    queues: AllOrNames
    package_licenses: AllOrNames
    oauth_tokens: AllOrNames
    territories: AllOrNames
    role: bool = Field(default=False, description="Clear the user's role.")
    teams: Annotated[Literal["all"] | list[Literal["Account", "Opportunity"]] | None,
                     BeforeValidator(_all_or_teams)] = Field(default=None, description=(
        "Remove the user's AccountTeamMember / OpportunityTeamMember rows: 'all', or a list of "
        "Account, Opportunity; omitted: teams are left as they are."))

    def team_objects(self) -> list[str]:
        """The team member objects to remove rows from (``AccountTeamMember``, ``OpportunityTeamMember``)."""
        if self.teams is None:
            return []
        kinds = ("Account", "Opportunity") if self.teams == "all" else self.teams
        return [f"{kind}TeamMember" for kind in ("Account", "Opportunity") if kind in kinds]


class ReassignRule(_Strict):
    """Where one object's records go, and which of them."""

    to: SuccessorRule = Field(default=None, description="Successor; default: reassign.default.to.")
    fallback: SuccessorRule = Field(default=None, description="Used when `to` gives no usable successor.")
    where: str | None = Field(default=None, description="SOQL condition limiting the records moved.")


class ReassignDefault(_Strict):
    """The successor rule objects inherit."""

    to: SuccessorRule = Field(default="manager")
    fallback: SuccessorRule = Field(default=None)


def _rule_or_empty(value: Any) -> Any:
    return {} if value is None else value


class Reassign(_Strict):
    """Ownership transfer, object by object (owner changes never cascade through the API)."""

    default: ReassignDefault = Field(default_factory=ReassignDefault)
    objects: Annotated[dict[str, Annotated[ReassignRule, BeforeValidator(_rule_or_empty)]],
                       BeforeValidator(_all_as_mapping)] = Field(default_factory=dict, json_schema_extra=_or_all,
                                                                 description=(
        "Object API name -> rule. 'all' (alone, or as a key beside named objects) reassigns every object a "
        "leaver owns records of, as the org describes them, with the default successor (or the 'all' "
        "rule's to/fallback); named objects keep their own rules."))

    @field_validator("objects")
    @classmethod
    def _names(cls, value: dict[str, ReassignRule]) -> dict[str, ReassignRule]:
        for name, rule in value.items():
            if name == ALL:
                if rule.where:
                    raise ValueError("all: a where condition belongs to a named object, not to every object")
                continue
            if not _API_NAME_RE.match(name):
                raise ValueError(f"'{name}' is not an object API name")
        return value

    @property
    def every_object(self) -> bool:
        """``objects: all`` (or an ``all`` key): every owned object is reassigned."""
        return ALL in self.objects

    def named(self) -> dict[str, ReassignRule]:
        """The rules of the objects the playbook names (the ``all`` entry left out)."""
        return {k: v for k, v in self.objects.items() if k != ALL}


class RepointDependants(_Strict):
    """Which lookups on other users are moved from a leaver to the leaver's successor."""

    manager: bool = Field(default=True, description="Other users' ManagerId.")
    delegated_approver: bool = Field(default=True, description="Other users' DelegatedApproverId.")
    other_fields: bool = Field(default=True, description=(
        "Every other User field that references User (custom hierarchy fields such as Backup_Approver__c), "
        "as User's describe lists them."))


class Actions(_Strict):
    """What happens to each selected user, run in the fixed phase order."""

    freeze: bool = Field(default=False, description="Freeze the login first.")
    backup: Backup | None = None
    revoke: Revoke | None = None
    reassign: Reassign | None = None
    repoint_dependants: Annotated[bool | RepointDependants, BeforeValidator(_bool_or_mapping)] = Field(default=False, description=(
        "Re-point retained users whose ManagerId, DelegatedApproverId or other User lookup to User (a custom "
        "hierarchy field) is a leaver to the leaver's successor under reassign.default (a user; a queue or no "
        "successor keeps the warning). true: every such field; or {manager: bool, delegated_approver: bool, "
        "other_fields: bool}."))
    deactivate: bool = Field(default=False, description="Deactivate last.")

    def repoints(self, kind: str) -> bool:
        """Whether dependants of ``kind`` (``manager`` / ``delegated_approver`` / ``other_fields``) are re-pointed."""
        if isinstance(self.repoint_dependants, RepointDependants):
            return bool(getattr(self.repoint_dependants, kind))
        return bool(self.repoint_dependants)


class Contract(_Strict):
    """The subscription contract, for the wind-down timeline (notice deadline, refund windows)."""

    start: date = Field(description="First day of the current term (YYYY-MM-DD).")
    end: date = Field(description="Last day of the current term (YYYY-MM-DD).")
    notice_days: int = Field(default=30, ge=0, description="Written notice needed before the term ends.")
    annual_fee: float | None = Field(default=None, ge=0, description="Fee per year, for the pro-rata value.")
    currency: str | None = Field(default=None, description="Currency of the fee, e.g. EUR.")
    notice_to: str | None = Field(default=None, description="Where written notice goes (the contract's channel).")

    @model_validator(mode="after")
    def _ordered(self) -> Contract:
        if self.end < self.start:
            raise ValueError("the contract's end is before its start")
        return self


class OrgRule(_Strict):
    """How the playbook reads in one org of several (``plan/apply --org A --org B``)."""

    username_suffix: str | None = Field(default=None, description=(
        "Appended to every username the playbook names (users, CSV, protect, user: successors), as "
        "Salesforce does for sandbox copies: '.uat' makes nina@acme.example nina@acme.example.uat."))

    @field_validator("username_suffix")
    @classmethod
    def _suffix(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or any(c.isspace() for c in value)):
            raise ValueError("a username suffix has no spaces, e.g. '.uat'")
        return value


class Playbook(_Strict):
    """A deprovisioning playbook (format version 1)."""

    model_config = ConfigDict(extra="forbid", title="deprovision playbook")

    version: Literal[1] = Field(description="Playbook format version; always 1.")
    name: str = Field(min_length=1, description="Short name of the run, e.g. leavers-2026-11.")
    reason: str = Field(min_length=1, description="Why (a ticket); recorded in every audit event.")
    description: str | None = None
    vars: dict[str, str] = Field(default_factory=dict, description=(
        "Default values of template variables; --var and --vars-file override them."))
    users: Selectors
    protect: Protect = Field(default_factory=Protect)
    limits: Limits = Field(default_factory=Limits)
    actions: Actions
    contract: Contract | None = Field(default=None, description="The subscription contract (wind-downs).")
    orgs: dict[str, OrgRule] = Field(default_factory=dict, description=(
        "Per-org rules when one playbook runs against several orgs, by the name given to --org "
        "(a named connection or sf:ALIAS); an org without a rule reads the playbook as written."))

    _path: Path | None = PrivateAttr(default=None)
    _sha256: str = PrivateAttr(default="")
    _variables: dict[str, str] = PrivateAttr(default_factory=dict)
    _document: Any = PrivateAttr(default=None)
    _csv_rows: list[Any] = PrivateAttr(default_factory=list)

    @property
    def path(self) -> Path | None:
        """The file the playbook was read from."""
        return self._path

    @property
    def sha256(self) -> str:
        """SHA-256 of the playbook file's bytes."""
        return self._sha256

    @property
    def variables(self) -> dict[str, str]:
        """Effective template variables (defaults overridden by the command line)."""
        return self._variables

    @property
    def csv_rows(self) -> list[Any]:
        """Rows of ``users.csv`` (``CsvRow``), read and checked at load time."""
        return self._csv_rows

    def locate(self, *path: str | int) -> str:
        """``file:line:col: a.b[2]`` for a path in the playbook, for messages about it."""
        from deprovision.playbook.yamldoc import format_path

        where = str(self._path) if self._path else "<playbook>"
        if self._document is not None:
            loc = self._document.locate(tuple(path))
            if loc:
                where = f"{where}:{loc.line}:{loc.column}"
        return f"{where}: {format_path(tuple(path))}"

    def reassign_rules(self, discovered: list[str] | tuple[str, ...] = ()) -> dict[str, ReassignRule]:
        """Each object's rule with the defaults filled in.

        With ``objects: all``, ``discovered`` (the objects the org says a leaver owns records of) get the
        ``all`` rule, itself filled in from ``default``; objects the playbook names keep their own rules.
        """
        reassign = self.actions.reassign
        if not reassign:
            return {}
        default = reassign.default
        rules = {
            obj: ReassignRule(to=rule.to or default.to, fallback=rule.fallback or default.fallback, where=rule.where)
            for obj, rule in reassign.named().items()
        }
        if reassign.every_object:
            every = reassign.objects[ALL]
            named = {n.lower() for n in rules}
            for obj in discovered:
                if obj.lower() not in named:
                    rules[obj] = ReassignRule(to=every.to or default.to, fallback=every.fallback or default.fallback)
        return rules


def playbook_json_schema() -> dict[str, Any]:
    """The JSON Schema of playbooks, with descriptions."""
    schema = Playbook.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
