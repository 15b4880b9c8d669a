"""Field paths resolved against the schema: joins for relationships, SQL for each field."""

from __future__ import annotations

from dataclasses import dataclass, field

from deprovision.localorg import schema
from deprovision.localorg.errors import INVALID_FIELD, INVALID_TYPE, MALFORMED_QUERY
from deprovision.localorg.soql import ast
from deprovision.localorg.soql.lexer import error_at
from deprovision.localorg.soql.tables import HIDDEN_KEY_OBJECTS, quote

MAX_RELATIONSHIP_LEVELS = 5  # Salesforce: at most five levels of parent relationships in a field path
MAX_JOINS = 60  # SQLite joins at most 64 tables in one SELECT

CUSTOM_FIELD_HINT = _CUSTOM_FIELD_HINT = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. "
    "Please reference your WSDL or the describe call for the appropriate names."
)
_CUSTOM_REL_HINT = (
    "If you are attempting to use a custom relationship, be sure to append the '__r' after the custom "
    "relationship name. Please reference your WSDL or the describe call for the appropriate names."
)


def resolve_object(soql: str, name: str, pos: int) -> schema.ObjectSpec:
    """The queryable object called ``name``; INVALID_TYPE otherwise."""
    spec = schema.get_object(name)
    if spec is None:
        raise error_at(
            INVALID_TYPE, soql, pos,
            f"sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure "
            "to append the '__c' after the entity name. Please reference your WSDL or the describe call for "
            "the appropriate names.",
        )
    if not spec.queryable:
        raise error_at(INVALID_TYPE, soql, pos, f"entity type {spec.name} does not support query")
    return spec


@dataclass
class Node:
    """The root object or one relationship hop, with the table aliases joined for it."""

    names: tuple[str, ...]  # canonical relationship names from the root
    targets: list[tuple[schema.ObjectSpec, str]]  # (object, SQL alias); several when polymorphic
    polymorphic: bool = False
    children: dict[str, Node] = field(default_factory=dict)

    @property
    def id_sql(self) -> str:
        """SQL for this node's record Id (null when the relationship is empty)."""
        parts = [f'{alias}."Id"' for spec, alias in self.targets if spec.name not in HIDDEN_KEY_OBJECTS]
        if not parts:
            return "NULL"
        return parts[0] if len(parts) == 1 else f"COALESCE({', '.join(parts)})"

    @property
    def static_type(self) -> str | None:
        """The object name when only one type can be here; None when it depends on the id."""
        return None if self.polymorphic else self.targets[0][0].name


@dataclass(frozen=True)
class Column:
    """A resolved field: where it lives, its spec, its canonical name and its SQL."""

    node: Node
    field: schema.FieldSpec
    name: str
    sql: str

    @property
    def key(self) -> tuple[str, ...]:
        return (*self.node.names, self.name)

    @property
    def display(self) -> str:
        return ".".join(self.key)


def field_sql(spec: schema.ObjectSpec, alias: str, f: schema.FieldSpec) -> str:
    """SQL reading field ``f`` of ``spec`` under ``alias``."""
    if f.name == "Id" and spec.name in HIDDEN_KEY_OBJECTS:
        return "NULL"
    col = f"{alias}.{quote(f.name)}"
    if f.calculated and f.name == "Name" and spec.field("LastName") is not None:
        first, last = f'{alias}."FirstName"', f'{alias}."LastName"'
        return f"COALESCE({col}, NULLIF(TRIM(COALESCE({first}, '') || ' ' || COALESCE({last}, '')), ''))"
    return col


# A polymorphic parent is Salesforce's "Name" object, whose Type is the record's type (a queue: 'Queue').
_NAME_TYPE = schema.FieldSpec("Type", schema.PICKLIST, createable=False, updateable=False)


# The Name object's Name, for objects whose name field is called otherwise.
_NAME_FIELDS = {"Case": "CaseNumber", "Task": "Subject", "Event": "Subject", "Dashboard": "Title"}


def polymorphic_field(spec: schema.ObjectSpec, name: str) -> schema.FieldSpec | None:
    """Field ``name`` of ``spec`` as the polymorphic Name object offers it (``Name`` of a Case: CaseNumber)."""
    return _polymorphic_field(spec, name)


def _polymorphic_field(spec: schema.ObjectSpec, name: str) -> schema.FieldSpec | None:
    found = spec.field(name)
    if found is None and name.lower() == "name" and spec.name in _NAME_FIELDS:
        found = spec.field(_NAME_FIELDS[spec.name])
    return found


def _polymorphic_type_sql(node: Node) -> str:
    whens = []
    for spec, alias in node.targets:
        own_type = spec.field("Type")
        value = f'{alias}."Type"' if spec.name == "Group" and own_type else "'" + spec.name.replace("'", "''") + "'"
        whens.append(f'WHEN {alias}."Id" IS NOT NULL THEN {value}')
    return f"CASE {' '.join(whens)} END"


# Child relationship names of the standard objects (Object Reference; describe's childRelationships), used
# while the schema's fields do not carry their own ``child_relationship``.
_STANDARD_CHILD_RELATIONSHIPS = {
    ("Contact", "AccountId"): "Contacts", ("Opportunity", "AccountId"): "Opportunities",
    ("Case", "AccountId"): "Cases", ("Case", "ContactId"): "Cases", ("Account", "ParentId"): "ChildAccounts",
    ("Task", "WhatId"): "Tasks", ("Task", "WhoId"): "Tasks", ("Event", "WhatId"): "Events",
    ("Event", "WhoId"): "Events", ("AccountTeamMember", "AccountId"): "AccountTeamMembers",
    ("OpportunityTeamMember", "OpportunityId"): "OpportunityTeamMembers", ("User", "ManagerId"): "ManagedUsers",
    ("User", "DelegatedApproverId"): "DelegatedUsers", ("GroupMember", "GroupId"): "GroupMembers",
    ("QueueSobject", "QueueId"): "QueueSobjects",
    ("PermissionSetAssignment", "AssigneeId"): "PermissionSetAssignments",
    ("PermissionSetAssignment", "PermissionSetId"): "Assignments",
    ("PermissionSetLicenseAssign", "AssigneeId"): "PermissionSetLicenseAssignments",
    ("UserPackageLicense", "UserId"): "UserPackageLicenses", ("OauthToken", "UserId"): "OauthTokens",
    ("UserTerritory2Association", "UserId"): "UserTerritory2Associations",
    ("Project__c", "Account__c"): "Projects__r",
}


def child_relationship_name(obj: schema.ObjectSpec, f: schema.FieldSpec) -> str | None:
    """The parent's name for the children ``obj`` has through ``f`` (``Contacts`` for Contact.AccountId)."""
    if hasattr(f, "child_relationship"):  # the schema describes it
        return f.child_relationship
    return _STANDARD_CHILD_RELATIONSHIPS.get((obj.name, f.name))


def resolve_child_relationship(soql: str, parent: schema.ObjectSpec, name: str,
                               pos: int) -> tuple[schema.ObjectSpec, schema.FieldSpec, str]:
    """(child object, its field naming the parent, canonical relationship name) for ``FROM <name>`` in a
    parent-to-child sub-select; INVALID_TYPE as Salesforce words it otherwise."""
    lname = name.lower()
    current = getattr(schema, "current", None)
    objects = current().objects if callable(current) else schema.OBJECTS
    for obj in objects:
        for f in obj.fields:
            if not f.is_reference or parent.name not in f.reference_to:
                continue
            rel = child_relationship_name(obj, f)
            if rel and rel.lower() == lname and obj.queryable:
                return obj, f, rel
    raise error_at(INVALID_TYPE, soql, pos,
                   f"Didn't understand relationship '{name}' in FROM part of query call. {_CUSTOM_REL_HINT}")


class Scope:
    """Resolves field paths against one FROM object and collects the LEFT JOINs they need."""

    def __init__(self, soql: str, spec: schema.ObjectSpec, aliases: _Aliases) -> None:
        self.soql = soql
        self.spec = spec
        self.aliases = aliases
        self.root = Node((), [(spec, aliases.next())])
        self.joins: list[str] = []

    @property
    def alias(self) -> str:
        return self.root.targets[0][1]

    def from_sql(self) -> str:
        """``"Object" tN LEFT JOIN ...`` for this scope."""
        return " ".join([f"{quote(self.spec.name)} {self.alias}", *self.joins])

    def _hop(self, node: Node, rel: str, path: ast.FieldPath) -> Node:
        child = node.children.get(rel.lower())
        if child is not None:
            return child
        refs = [(spec, alias, spec.relationship(rel)) for spec, alias in node.targets]
        refs = [(spec, alias, f) for spec, alias, f in refs if f is not None]
        if not refs:
            raise error_at(INVALID_FIELD, self.soql, path.pos,
                           f"Didn't understand relationship '{rel}' in field path. {_CUSTOM_REL_HINT}")
        targets: list[tuple[schema.ObjectSpec, str]] = []
        canonical = refs[0][2].relationship_name or rel
        for _spec, alias, f in refs:
            for target_name in f.reference_to:
                target = schema.get_object(target_name)
                if target is None:
                    continue
                target_alias = self.aliases.next()
                self.joins.append(
                    f'LEFT JOIN {quote(target.name)} {target_alias} '
                    f'ON {target_alias}."Id" = {alias}.{quote(f.name)}'
                )
                targets.append((target, target_alias))
        if not targets:  # a reference to objects the local org does not have
            raise error_at(INVALID_FIELD, self.soql, path.pos,
                           f"Didn't understand relationship '{rel}' in field path. {_CUSTOM_REL_HINT}")
        polymorphic = node.polymorphic or len(targets) > 1
        child = Node((*node.names, canonical), targets, polymorphic)
        node.children[rel.lower()] = child
        return child

    def node_for(self, path: ast.FieldPath, rels: tuple[str, ...]) -> Node:
        if len(rels) > MAX_RELATIONSHIP_LEVELS:
            raise error_at(MALFORMED_QUERY, self.soql, path.pos,
                           f"SOQL statements cannot query more than {MAX_RELATIONSHIP_LEVELS} levels of "
                           f"relationships: {path.text}")
        node = self.root
        for rel in rels:
            node = self._hop(node, rel, path)
        if len(self.joins) > MAX_JOINS:
            raise error_at(MALFORMED_QUERY, self.soql, path.pos,
                           "Query is too complicated: too many relationships (each polymorphic relationship "
                           "counts once per possible type)")
        return node

    def column(self, path: ast.FieldPath) -> Column:
        """Resolve ``path``; INVALID_FIELD for unknown fields and relationships."""
        parts = path.parts
        if (len(parts) > 1 and parts[0].lower() == self.spec.name.lower()
                and self.spec.relationship(parts[0]) is None):
            parts = parts[1:]  # "Account.Name" in a query FROM Account
        node = self.node_for(path, parts[:-1])
        name = parts[-1]
        if node.polymorphic and name.lower() == "type":
            return Column(node, _NAME_TYPE, "Type", _polymorphic_type_sql(node))
        found = [(spec, alias, _polymorphic_field(spec, name) if node.polymorphic else spec.field(name))
                 for spec, alias in node.targets]
        found = [(spec, alias, f) for spec, alias, f in found if f is not None]
        if not found:
            entity = "Name" if node.polymorphic else node.targets[0][0].name
            raise error_at(INVALID_FIELD, self.soql, path.pos,
                           f"No such column '{name}' on entity '{entity}'. {_CUSTOM_FIELD_HINT}")
        exprs = [field_sql(spec, alias, f) for spec, alias, f in found]
        sql = exprs[0] if len(exprs) == 1 else f"COALESCE({', '.join(exprs)})"
        canonical = next((f.name for _s, _a, f in found if f.name.lower() == name.lower()), found[0][2].name)
        return Column(node, found[0][2], canonical, sql)


class _Aliases:
    """Unique table aliases across a query and its semi-joins."""

    def __init__(self) -> None:
        self.n = 0

    def next(self) -> str:
        alias = f"t{self.n}"
        self.n += 1
        return alias


def new_aliases() -> _Aliases:
    """A fresh alias counter for one query."""
    return _Aliases()
