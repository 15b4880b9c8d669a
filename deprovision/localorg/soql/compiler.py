"""A parsed SOQL query to one SQLite statement (values as ``?`` parameters) and a record shaper."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from deprovision.localorg import schema, visibility
from deprovision.localorg.errors import INVALID_FIELD, MALFORMED_QUERY
from deprovision.localorg.soql import ast
from deprovision.localorg.soql.lexer import error_at
from deprovision.localorg.soql.resolve import (
    CUSTOM_FIELD_HINT,
    Column,
    Scope,
    field_sql,
    new_aliases,
    polymorphic_field,
    resolve_child_relationship,
    resolve_object,
)
from deprovision.localorg.soql.shaping import AggregateShaper, RecordShaper, converter, record_url
from deprovision.localorg.soql.tables import quote
from deprovision.localorg.soql.values import (
    ID_TYPES,
    NUMBER_TYPES,
    STRING_TYPES,
    check_date_function,
    range_bounds,
    storage_value,
)


@dataclass
class CompiledQuery:
    """SQL for the rows, SQL for the row count, and how to turn a row into a record."""

    sql: str
    params: list
    count_sql: str
    count_params: list
    limit: int | None
    offset: int | None
    count_only: bool
    aggregate: bool
    shape: Callable[[Sequence], dict]
    children: list[ChildQuery] = field(default_factory=list)

    def record(self, conn: Any, row: Sequence) -> dict:
        """The record of ``row``, child relationship queries answered (they read through ``conn``)."""
        out = self.shape(row)
        for child in self.children:
            out[child.key] = child.fetch(conn, row[0])
        return out

    def total_from_count(self, n: int) -> int:
        """The number of records a query returns, given how many rows match its WHERE."""
        n = max(0, n - (self.offset or 0))
        return n if self.limit is None else min(n, self.limit)


# Salesforce's answers for semi-joins it does not take (messages as real orgs send them: MALFORMED_QUERY).
SEMI_JOIN_OR = "Semi join sub-selects are not allowed with the 'OR' operator"
SEMI_JOIN_NESTED = ("Semi join sub-selects are only allowed at the top level WHERE expressions and not in nested "
                    "WHERE expressions.")


@dataclass
class ChildQuery:
    """A parent-to-child relationship query: one SELECT per parent record, the parent's Id its first parameter.

    Real orgs answer each parent's children as ``{"totalSize", "done", "records"}``, or null when there are
    none (recorded in salesforcecli/plugin-data ``test/test-files/soqlQuery.exemplars.ts``, ``subQuery``)."""

    key: str
    sql: str
    params: list
    shape: Callable[[Sequence], dict]

    def fetch(self, conn: Any, parent_id: object) -> dict | None:
        if parent_id is None:
            return None
        records = [self.shape(row) for row in conn.execute(self.sql, [parent_id, *self.params])]
        if not records:
            return None
        return {"totalSize": len(records), "done": True, "records": records}


def check_semi_joins(soql: str, where: ast.Condition | None) -> None:
    """Semi-joins only at the top level of WHERE (alone or ANDed), never beside an OR (SOQL and SOSL
    Reference, "Semi-Joins with IN and Anti-Joins with NOT IN": no semi-joins in OR, nested conditions)."""
    def walk(cond: ast.Condition, top: bool) -> None:
        if isinstance(cond, ast.SemiJoin):
            if not top:
                raise MALFORMED_QUERY(SEMI_JOIN_NESTED)
        elif isinstance(cond, ast.BoolOp):
            if cond.op == "OR":
                if top and any(isinstance(c, ast.SemiJoin) for c in cond.items):
                    raise MALFORMED_QUERY(SEMI_JOIN_OR)
                for c in cond.items:
                    walk(c, False)
            else:  # AND: its own semi-joins are at the top level when it is; its nested groups are not
                for c in cond.items:
                    walk(c, top and isinstance(c, ast.SemiJoin))
        elif isinstance(cond, ast.Not):
            walk(cond.item, False)

    if where is not None:
        walk(where, True)


def _balanced(op: str, parts: list[str], chunk: int = 32) -> str:
    """``(a OR b OR ...)`` nested in balanced groups, so thousands of terms stay within SQLite's
    expression depth limit (1,000) while keeping their order (and so the order of parameters)."""
    if len(parts) <= chunk:
        return "(" + f" {op} ".join(parts) + ")"
    size = -(-len(parts) // chunk)
    return _balanced(op, [_balanced(op, parts[i:i + size], chunk) for i in range(0, len(parts), size)], chunk)


def _nocase(column: Column) -> str:
    return " COLLATE NOCASE" if column.field.type in STRING_TYPES else ""


class _Compiler:
    def __init__(self, query: ast.Query, *, include_deleted: bool, api_version: str, today: date,
                 viewer: visibility.Viewer | None = None, soql: str | None = None) -> None:
        self.query = query
        self.soql = soql if soql is not None else query.source
        self.include_deleted = include_deleted
        self.api_version = api_version
        self.today = today
        self.viewer = viewer
        self.aliases = new_aliases()
        self.children: list[ChildQuery] = []

    # --- conditions ------------------------------------------------------------------------------
    def condition(self, cond: ast.Condition, scope: Scope, params: list, *, negated: bool = False) -> str:
        """SQL for ``cond``. SOQL logic is two-valued: under NOT, a comparison with null counts as false."""
        if isinstance(cond, ast.BoolOp):
            return _balanced(cond.op, [self.condition(c, scope, params, negated=negated) for c in cond.items])
        if isinstance(cond, ast.Not):
            return f"NOT ({self.condition(cond.item, scope, params, negated=True)})"
        if isinstance(cond, ast.SemiJoin):
            leaf = self.semi_join(cond, scope, params)
        elif isinstance(cond, ast.InList):
            leaf = self.in_list(cond, scope, params)
        else:
            leaf = self.comparison(cond, scope, params)
        return f"COALESCE({leaf}, 0)" if negated else leaf

    def comparison(self, cond: ast.Comparison, scope: Scope, params: list) -> str:
        if isinstance(cond.left, ast.Aggregate):
            return self.aggregate_comparison(cond, scope, params)
        column = scope.column(cond.left)
        value = cond.value
        if cond.op == "LIKE":
            if isinstance(value, ast.DateFunction):
                raise error_at(MALFORMED_QUERY, self.soql, value.pos, "unexpected token: "
                               f"'{value.name}'")
            if value.kind == "null":
                params.append(None)
                return f"{column.sql} LIKE ?"
            params.append(value.like_pattern)
            return f"{column.sql} LIKE ? ESCAPE '\\'"
        if isinstance(value, ast.DateFunction):
            check_date_function(self.soql, value, column.field, column.display)
            start, end = range_bounds(value, column.field.type, self.today)
            return self._range(column.sql, cond.op, start, end, params)
        stored = storage_value(self.soql, value, column.field, column.display)
        if column.field.type == schema.BOOLEAN and cond.op in ("=", "!="):
            # on a boolean field null matches false: "= null" is "= false", "!= null" is "= true"
            wanted = 0 if stored is None else stored
            params.append(1 - wanted if stored is None and cond.op == "!=" else wanted)
            op = "=" if stored is None else cond.op
            return f"COALESCE({column.sql}, 0) {op} ?"
        collate = _nocase(column)
        if stored is None:
            if cond.op == "=":
                return f"{column.sql} IS NULL"
            if cond.op == "!=":
                return f"{column.sql} IS NOT NULL"
            params.append(None)
            return f"{column.sql} {cond.op} ?"
        params.append(stored)
        if cond.op == "=":
            return f"{column.sql} = ?{collate}"
        if cond.op == "!=":
            return f"{column.sql} IS NOT ?{collate}"
        return f"{column.sql} {cond.op} ?{collate}"

    @staticmethod
    def _range(sql: str, op: str, start: str, end: str, params: list) -> str:
        """A comparison with a relative date literal, which stands for the range [start, end)."""
        if op == "=":
            params += [start, end]
            return f"({sql} >= ? AND {sql} < ?)"
        if op == "!=":
            params += [start, end]
            return f"({sql} IS NULL OR {sql} < ? OR {sql} >= ?)"
        bound, sql_op = {"<": (start, "<"), "<=": (end, "<"), ">": (end, ">="), ">=": (start, ">=")}[op]
        params.append(bound)
        return f"{sql} {sql_op} ?"

    def in_list(self, cond: ast.InList, scope: Scope, params: list) -> str:
        column = scope.column(cond.left)
        stored = []
        for value in cond.values:
            if isinstance(value, ast.DateFunction):
                raise error_at(MALFORMED_QUERY, self.soql, value.pos, f"unexpected token: '{value.name}'")
            stored.append(storage_value(self.soql, value, column.field, column.display))
        has_null = any(v is None for v in stored)
        values = [v for v in stored if v is not None]
        collate = _nocase(column)
        parts = []
        if values:
            params.extend(values)
            marks = ", ".join("?" * len(values))
            parts.append(f"{column.sql}{collate} {'NOT IN' if cond.negated else 'IN'} ({marks})")
        if cond.negated:  # NOT IN leaves out records whose field is null
            parts.append(f"{column.sql} IS NOT NULL")
            return "(" + " AND ".join(parts) + ")"
        if has_null:
            parts.append(f"{column.sql} IS NULL")
        return "(" + " OR ".join(parts) + ")" if parts else "0"

    def semi_join(self, cond: ast.SemiJoin, scope: Scope, params: list) -> str:
        left = scope.column(cond.left)
        if left.field.type not in ID_TYPES:
            raise error_at(MALFORMED_QUERY, self.soql, cond.left.pos,
                           f"semi join sub-selects are only supported on Id or reference fields: {left.display}")
        sub = cond.query
        for clause, present in (("GROUP BY", sub.group_by), ("ORDER BY", sub.order_by),
                                ("LIMIT", sub.limit is not None), ("OFFSET", sub.offset is not None)):
            if present:
                raise error_at(MALFORMED_QUERY, self.soql, sub.object_pos,
                               f"{clause} is not supported in a semi join sub-select")
        spec = resolve_object(self.soql, sub.object_name, sub.object_pos)
        inner = Scope(self.soql, spec, self.aliases)
        if len(sub.select) != 1 or not isinstance(sub.select[0].expr, ast.FieldPath) or sub.select[0].alias:
            raise error_at(MALFORMED_QUERY, self.soql, sub.object_pos,
                           "semi join sub-selects must select exactly one Id or reference field")
        selected = inner.column(sub.select[0].expr)
        if selected.field.type not in ID_TYPES:
            raise error_at(MALFORMED_QUERY, self.soql, sub.select[0].expr.pos,
                           "semi join sub-selects must select exactly one Id or reference field")
        where = [] if self.include_deleted else [f'{inner.alias}."IsDeleted" = 0']
        visible = visibility.row_filter(spec, inner.alias, self.viewer, None, params)
        if visible:
            where.append(visible)
        if sub.where is not None:
            where.append(self.condition(sub.where, inner, params))
        if cond.negated:
            where.append(f"{selected.sql} IS NOT NULL")
        where_sql = f" WHERE {' AND '.join(where)}" if where else ""
        subquery = f"SELECT {selected.sql} FROM {inner.from_sql()}{where_sql}"
        if cond.negated:
            return f"{left.sql} NOT IN ({subquery})"
        return f"{left.sql} IN ({subquery})"

    def aggregate_comparison(self, cond: ast.Comparison, scope: Scope, params: list) -> str:
        """``COUNT(Id) > 1``, ``MAX(CreatedDate) < 2026-01-01T00:00:00Z`` in HAVING."""
        agg = cond.left
        assert isinstance(agg, ast.Aggregate)
        sql, _ = self.aggregate_sql(agg, scope)
        value = cond.value
        if cond.op == "LIKE" or isinstance(value, ast.DateFunction):
            raise error_at(MALFORMED_QUERY, self.soql, value.pos, f"unexpected token: '{cond.op}'")
        if agg.function in ("MIN", "MAX") and agg.field is not None:
            field = scope.column(agg.field).field
        else:
            field = schema.FieldSpec(agg.text, schema.DOUBLE)
        stored = storage_value(self.soql, value, field, agg.text)
        if stored is None and cond.op in ("=", "!="):
            return f"{sql} IS NULL" if cond.op == "=" else f"{sql} IS NOT NULL"
        params.append(stored)
        return f"{sql} {cond.op} ?"

    def aggregate_sql(self, agg: ast.Aggregate, scope: Scope) -> tuple[str, Callable | None]:
        """SQL for an aggregate call, and how to convert its value."""
        if agg.field is None:
            return "COUNT(*)", int
        column = scope.column(agg.field)
        ftype = column.field.type
        if agg.function in ("SUM", "AVG") and ftype not in NUMBER_TYPES:
            raise error_at(MALFORMED_QUERY, self.soql, agg.pos,
                           f"field {column.display} does not support aggregate operator {agg.function}")
        if agg.function == "COUNT":
            if column.field.name == "Id" and not column.node.names and column.sql != "NULL":
                return "COUNT(*)", int  # a record's own Id is never null
            return f"COUNT({column.sql})", int
        if agg.function == "COUNT_DISTINCT":
            return f"COUNT(DISTINCT {column.sql}{_nocase(column)})", int
        if agg.function == "AVG":
            return f"AVG({column.sql})", float
        if agg.function == "SUM":
            return f"SUM({column.sql})", (int if ftype == schema.INT else float)
        return f"{agg.function}({column.sql}{_nocase(column)})", converter(column.field)

    # --- whole query -----------------------------------------------------------------------------
    def compile(self, *, child_of: tuple[schema.ObjectSpec, schema.FieldSpec] | None = None) -> CompiledQuery:
        """The whole query; ``child_of`` (child object, its field naming the parent) for a relationship
        sub-select, whose SQL then takes the parent's Id as its first parameter."""
        q = self.query
        spec = child_of[0] if child_of else resolve_object(self.soql, q.object_name, q.object_pos)
        scope = Scope(self.soql, spec, self.aliases)
        check_semi_joins(self.soql, q.where)
        filter_scope = None
        if q.scope is not None:
            filter_scope = visibility.canonical_scope(spec, q.scope)
            if filter_scope is None:  # Salesforce's wording for this is not documented
                raise error_at(MALFORMED_QUERY, self.soql, q.scope_pos, f"unexpected token: '{q.scope}'")
        if q.is_count_only:
            pass
        elif any(isinstance(s.expr, ast.Aggregate) and s.expr.field is None and s.expr.function == "COUNT"
                 for s in q.select):
            pos = next(s.expr.pos for s in q.select if isinstance(s.expr, ast.Aggregate) and s.expr.field is None)
            raise error_at(MALFORMED_QUERY, self.soql, pos, "COUNT() must be the only element in the SELECT list")
        aggregate = q.is_aggregate and not q.is_count_only
        if aggregate:
            columns, shape, group_sql = self.aggregate_select(scope)
        else:
            columns, shape = self.plain_select(scope) if not q.is_count_only else (["1"], lambda row: {})
            group_sql = ""
            if q.having is not None:
                raise error_at(MALFORMED_QUERY, self.soql, q.object_pos, "HAVING requires GROUP BY")
        where_params: list = [None] if child_of is not None else []  # the parent's Id, bound per parent
        where = [] if self.include_deleted else [f'{scope.alias}."IsDeleted" = 0']
        if child_of is not None:
            where.insert(0, f'{scope.alias}.{quote(child_of[1].name)} = ?')
        visible = visibility.row_filter(spec, scope.alias, self.viewer, filter_scope, where_params)
        if visible:
            where.append(visible)
        if q.where is not None:
            where.append(self.condition(q.where, scope, where_params))
        having_params: list = []
        having_sql = ""
        if q.having is not None:
            self.check_grouped(q.having, scope)
            having_sql = " HAVING " + self.condition(q.having, scope, having_params)
        order_sql = self.order_by(scope, aggregate)
        if q.is_count_only and q.group_by:
            group_sql = " GROUP BY " + ", ".join(scope.column(p).sql for p in q.group_by)
        where_sql = f" WHERE {' AND '.join(where)}" if where else ""
        limit_sql = ""
        if q.limit is not None or q.offset is not None:
            limit_sql = f" LIMIT {q.limit if q.limit is not None else -1} OFFSET {q.offset or 0}"
        from_sql = scope.from_sql()
        sql = f"SELECT {', '.join(columns)} FROM {from_sql}{where_sql}{group_sql}{having_sql}{order_sql}{limit_sql}"
        if group_sql:
            count_sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM {from_sql}{where_sql}{group_sql}{having_sql})"
        else:
            count_sql = f"SELECT COUNT(*) FROM {from_sql}{where_sql}"
        return CompiledQuery(
            sql=sql, params=where_params + having_params, count_sql=count_sql,
            count_params=where_params + having_params, limit=q.limit, offset=q.offset,
            count_only=q.is_count_only, aggregate=aggregate, shape=shape, children=self.children,
        )

    def check_grouped(self, cond: ast.Condition, scope: Scope) -> None:
        """Fields in HAVING must be grouped (aggregates may use any field)."""
        grouped = {tuple(k.lower() for k in scope.column(p).key) for p in self.query.group_by}
        stack = [cond]
        while stack:
            item = stack.pop()
            if isinstance(item, ast.BoolOp):
                stack.extend(item.items)
            elif isinstance(item, ast.Not):
                stack.append(item.item)
            elif isinstance(item.left, ast.FieldPath):
                column = scope.column(item.left)
                if tuple(k.lower() for k in column.key) not in grouped:
                    raise error_at(MALFORMED_QUERY, self.soql, item.left.pos,
                                   f"Field must be grouped or aggregated: {column.name}")

    def plain_select(self, scope: Scope) -> tuple[list[str], Callable[[Sequence], dict]]:
        columns = [scope.root.id_sql]
        shaper = RecordShaper(scope.spec.name, 0, self.api_version)
        seen: set[tuple[str, ...]] = set()
        for item in self.query.select:
            expr = item.expr
            if isinstance(expr, ast.SubQuery):
                child = self.child_query(expr, scope)
                if (child.key.lower(),) in seen:
                    raise error_at(MALFORMED_QUERY, self.soql, expr.pos, f"duplicate field selected: {child.key}")
                seen.add((child.key.lower(),))
                columns.append("NULL")  # keeps the relationship's place among the fields
                shaper.add_field((child.key,), len(columns) - 1, None)
                self.children.append(child)
                continue
            if isinstance(expr, ast.TypeOf):
                key = self.typeof_select(expr, scope, columns, shaper)
                if (key.lower(),) in seen:
                    raise error_at(MALFORMED_QUERY, self.soql, expr.pos, f"duplicate field selected: {key}")
                seen.add((key.lower(),))
                continue
            if item.alias is not None:
                raise error_at(MALFORMED_QUERY, self.soql, expr.pos + len(expr.text) + 1,
                               f"unexpected token: '{item.alias}'")
            assert isinstance(expr, ast.FieldPath)
            column = scope.column(expr)
            key = tuple(k.lower() for k in column.key)
            if key in seen:
                raise error_at(MALFORMED_QUERY, self.soql, expr.pos, f"duplicate field selected: {expr.text}")
            seen.add(key)
            # each relationship hop on the way needs its Id, for null parents, type and url
            node = scope.root
            for name in column.node.names:
                node = node.children[name.lower()]
                if shaper.node_id_index(node.names) is None:
                    columns.append(node.id_sql)
                    shaper.add_node(node.names, len(columns) - 1, node.static_type)
            columns.append(column.sql)
            shaper.add_field(column.key, len(columns) - 1, converter(column.field))
        return columns, shaper

    def child_query(self, item: ast.SubQuery, scope: Scope) -> ChildQuery:
        """A ``(SELECT ... FROM <child relationship> ...)`` item, compiled against the child object."""
        sub = item.query
        child_spec, link, name = resolve_child_relationship(self.soql, scope.spec, sub.object_name, sub.object_pos)
        if sub.is_aggregate:
            raise error_at(MALFORMED_QUERY, self.soql, sub.object_pos,
                           "Aggregate functions are not supported in child relationship sub-selects")
        compiler = _Compiler(sub, include_deleted=self.include_deleted, api_version=self.api_version,
                             today=self.today, viewer=self.viewer, soql=self.soql)
        compiled = compiler.compile(child_of=(child_spec, link))
        return ChildQuery(name, compiled.sql, compiled.params[1:], compiled.shape)

    def typeof_select(self, item: ast.TypeOf, scope: Scope, columns: list[str], shaper: RecordShaper) -> str:
        """``TYPEOF rel WHEN T THEN ... ELSE ... END``: the relationship's Id, then each branch's columns;
        the record keeps only the fields of the branch its type picks (SOQL and SOSL Reference, TYPEOF)."""
        path = ast.FieldPath((item.relationship, "Id"), item.pos)
        node = scope.node_for(path, (item.relationship,))
        name = node.names[-1]
        columns.append(node.id_sql)
        id_index = len(columns) - 1
        targets = {spec.name.lower(): (spec, alias) for spec, alias in node.targets}
        branches: dict[str, list[tuple[str, int, Callable | None]]] = {}
        for when in item.whens:
            target = targets.get(when.type_name.lower())
            if target is None:
                raise error_at(MALFORMED_QUERY, self.soql, when.pos,
                               f"TYPEOF {item.relationship}: unexpected type '{when.type_name}'")
            spec, alias = target
            branch = branches.setdefault(spec.name.lower(), [])
            for fpath in when.fields:
                if len(fpath.parts) != 1:
                    raise error_at(MALFORMED_QUERY, self.soql, fpath.pos, f"unexpected token: '{fpath.text}'")
                f = spec.field(fpath.parts[0])
                if f is None:
                    raise error_at(INVALID_FIELD, self.soql, fpath.pos,
                                   f"No such column '{fpath.text}' on entity '{spec.name}'. {CUSTOM_FIELD_HINT}")
                columns.append(field_sql(spec, alias, f))
                branch.append((f.name, len(columns) - 1, converter(f)))
        others = [(spec, alias) for spec, alias in node.targets if spec.name.lower() not in branches]
        else_branch: list[tuple[str, int, Callable | None]] = []
        for fpath in item.else_fields:
            found = [(spec, alias, polymorphic_field(spec, fpath.parts[-1])) for spec, alias in others]
            found = [(sp, al, f) for sp, al, f in found if f is not None]
            if len(fpath.parts) != 1 or not found:
                raise error_at(INVALID_FIELD, self.soql, fpath.pos,
                               f"No such column '{fpath.text}' on entity 'Name'. {CUSTOM_FIELD_HINT}")
            exprs = [field_sql(sp, al, f) for sp, al, f in found]
            columns.append(exprs[0] if len(exprs) == 1 else f"COALESCE({', '.join(exprs)})")
            else_branch.append((found[0][2].name if found[0][2].name.lower() == fpath.parts[-1].lower()
                                else fpath.parts[-1], len(columns) - 1, converter(found[0][2])))
        version = self.api_version

        def value(row: Sequence) -> dict | None:
            record_id = row[id_index]
            if record_id is None:
                return None
            spec = schema.object_for_id(record_id)
            type_name = spec.name if spec else "Name"
            out: dict = {"attributes": {"type": type_name, "url": record_url(version, type_name, record_id)}}
            for key, index, conv in branches.get(type_name.lower(), else_branch):
                out[key] = conv(row[index]) if conv is not None else row[index]
            return out

        shaper.add_row_value((name,), id_index, value)
        return name

    def aggregate_select(self, scope: Scope) -> tuple[list[str], Callable[[Sequence], dict], str]:
        q = self.query
        grouped = {tuple(k.lower() for k in scope.column(p).key): scope.column(p) for p in q.group_by}
        columns: list[str] = []
        shaper = AggregateShaper()
        expr_n = 0
        for item in q.select:
            expr = item.expr
            if isinstance(expr, (ast.SubQuery, ast.TypeOf)):
                raise error_at(MALFORMED_QUERY, self.soql, expr.pos,
                               "Aggregate queries cannot select child relationships or TYPEOF")
            if isinstance(expr, ast.Aggregate):
                sql, conv = self.aggregate_sql(expr, scope)
                key = item.alias
                if key is None:
                    key = f"expr{expr_n}"
                    expr_n += 1
            else:
                column = scope.column(expr)
                if tuple(k.lower() for k in column.key) not in grouped:
                    raise error_at(MALFORMED_QUERY, self.soql, expr.pos,
                                   f"Field must be grouped or aggregated: {column.name}")
                sql, conv, key = column.sql, converter(column.field), item.alias or column.name
            columns.append(sql)
            shaper.add(key, len(columns) - 1, conv)
        group_sql = ""
        if grouped:
            # "+expr": group with a temporary B-tree after a sequential scan, never by walking an index
            # with a table lookup per row (ten times slower on a large table); WHERE still uses indexes.
            group_sql = " GROUP BY " + ", ".join("+" + c.sql + _nocase(c) for c in grouped.values())
        return columns, shaper, group_sql

    def order_by(self, scope: Scope, aggregate: bool) -> str:
        q = self.query
        if not q.order_by:
            return ""
        grouped = {tuple(k.lower() for k in scope.column(p).key) for p in q.group_by}
        parts = []
        for item in q.order_by:
            if isinstance(item.expr, ast.Aggregate):
                if not aggregate:
                    raise error_at(MALFORMED_QUERY, self.soql, item.expr.pos,
                                   "Ordering by an aggregate requires an aggregate query")
                sql, _ = self.aggregate_sql(item.expr, scope)
            else:
                column = scope.column(item.expr)
                if aggregate and tuple(k.lower() for k in column.key) not in grouped:
                    raise error_at(MALFORMED_QUERY, self.soql, item.expr.pos,
                                   f"Ordered field must be grouped or aggregated: {column.name}")
                sql = column.sql + _nocase(column)
            sql += " DESC" if item.descending else " ASC"
            if item.nulls_last is not None:
                sql += " NULLS LAST" if item.nulls_last else " NULLS FIRST"
            parts.append(sql)
        return " ORDER BY " + ", ".join(parts)


def compile_query(query: ast.Query, *, include_deleted: bool = False, api_version: str = "62.0",
                  today: date | None = None, viewer: visibility.Viewer | None = None) -> CompiledQuery:
    """Translate ``query`` to SQLite; raises INVALID_TYPE / INVALID_FIELD / MALFORMED_QUERY. ``viewer`` is the
    running user (what it may see: ``visibility``); None runs as the system."""
    today = today or datetime.now(UTC).date()
    return _Compiler(query, include_deleted=include_deleted, api_version=api_version, today=today,
                     viewer=viewer).compile()
