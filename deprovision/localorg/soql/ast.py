"""The parsed form of a SOQL query (names as written; the compiler resolves them)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldPath:
    """A field as written: ``Name``, ``Owner.Username``, ``Assignee.Manager.Id``."""

    parts: tuple[str, ...]
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Aggregate:
    """``COUNT(Id)``, ``COUNT_DISTINCT(x)``, ``MIN``, ``MAX``, ``SUM``, ``AVG``; ``field`` None for COUNT()."""

    function: str
    field: FieldPath | None
    pos: int

    @property
    def text(self) -> str:
        return f"{self.function}({self.field.text if self.field else ''})"


@dataclass(frozen=True)
class TypeOfWhen:
    """``WHEN User THEN Username, Email`` inside a TYPEOF."""

    type_name: str
    fields: tuple[FieldPath, ...]
    pos: int


@dataclass(frozen=True)
class TypeOf:
    """``TYPEOF Owner WHEN User THEN Username WHEN Group THEN Name ELSE Name END`` (SOQL and SOSL
    Reference, "TYPEOF"): the fields to read depend on the type of a polymorphic relationship's record."""

    relationship: str
    whens: tuple[TypeOfWhen, ...]
    else_fields: tuple[FieldPath, ...]
    pos: int

    @property
    def text(self) -> str:
        return self.relationship


@dataclass(frozen=True)
class SubQuery:
    """``(SELECT ... FROM Contacts ...)`` in the SELECT list: a parent-to-child relationship query, its
    FROM naming a child relationship of the outer object."""

    query: Query
    pos: int

    @property
    def text(self) -> str:
        return self.query.object_name


@dataclass(frozen=True)
class SelectItem:
    """One entry of the SELECT list, with its alias if any."""

    expr: FieldPath | Aggregate | TypeOf | SubQuery
    alias: str | None = None


@dataclass(frozen=True)
class Literal:
    """A value: kind is string, number, boolean, null, date, datetime."""

    kind: str
    value: object
    pos: int
    like_pattern: str | None = None
    has_like_escape: bool = False


@dataclass(frozen=True)
class DateFunction:
    """A relative date literal such as ``TODAY`` or ``LAST_N_DAYS:30``."""

    name: str
    n: int | None
    pos: int


Value = Literal | DateFunction


@dataclass(frozen=True)
class Comparison:
    """``field op value`` with op one of = != < > <= >= LIKE."""

    left: FieldPath | Aggregate
    op: str
    value: Value
    pos: int


@dataclass(frozen=True)
class InList:
    """``field [NOT] IN (v1, v2, ...)``."""

    left: FieldPath
    values: tuple[Value, ...]
    negated: bool
    pos: int


@dataclass(frozen=True)
class SemiJoin:
    """``field [NOT] IN (SELECT ...)``."""

    left: FieldPath
    query: Query
    negated: bool
    pos: int


@dataclass(frozen=True)
class BoolOp:
    """``AND`` / ``OR`` of several conditions."""

    op: str
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """``NOT condition``."""

    item: Condition


Condition = Comparison | InList | SemiJoin | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    """One ``ORDER BY`` entry."""

    expr: FieldPath | Aggregate
    descending: bool = False
    nulls_last: bool | None = None  # None: Salesforce's default


@dataclass(frozen=True)
class Query:
    """A whole SELECT statement."""

    select: tuple[SelectItem, ...]
    object_name: str
    object_pos: int
    where: Condition | None = None
    group_by: tuple[FieldPath, ...] = ()
    having: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None
    source: str = field(default="", compare=False, repr=False)
    scope: str | None = None  # USING SCOPE filterScope, as written
    scope_pos: int = 0

    @property
    def is_count_only(self) -> bool:
        """True for ``SELECT COUNT() FROM ...``: the answer is totalSize alone."""
        return (
            len(self.select) == 1
            and isinstance(self.select[0].expr, Aggregate)
            and self.select[0].expr.function == "COUNT"
            and self.select[0].expr.field is None
        )

    @property
    def is_aggregate(self) -> bool:
        """True when the query groups or aggregates (records are AggregateResult)."""
        return bool(self.group_by) or any(isinstance(s.expr, Aggregate) for s in self.select)
