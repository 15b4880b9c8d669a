"""Column metadata of a query, as ``GET query?q=...&columns=true`` answers it."""

from __future__ import annotations

from deprovision.localorg import schema
from deprovision.localorg.soql import ast
from deprovision.localorg.soql.parser import parse
from deprovision.localorg.soql.resolve import Scope, new_aliases, resolve_child_relationship, resolve_object

_APEX_TYPES = {
    schema.ID: "Id", schema.REFERENCE: "Id", schema.BOOLEAN: "Boolean", schema.INT: "Integer",
    schema.DOUBLE: "Double", schema.CURRENCY: "Decimal", schema.DATE: "Date", schema.DATETIME: "Datetime",
    schema.PERCENT: "Double", schema.LONG: "Long",
}
_NUMBER_TYPES = tuple(schema.NUMBER_TYPES)


def _column(name: str, display: str, *, apex: str | None = None, aggregate: bool = False,
            custom: bool = False, insertable: bool = False, updatable: bool = False,
            boolean: bool = False, number: bool = False, text: bool = False) -> dict:
    return {
        "aggregate": aggregate, "apexType": apex, "booleanType": boolean, "columnName": name,
        "custom": custom, "displayName": display, "foreignKeyName": None, "insertable": insertable,
        "joinColumns": [], "numberType": number, "textType": text, "updatable": updatable,
    }


def _field_column(f: schema.FieldSpec, display: str) -> dict:
    apex = _APEX_TYPES.get(f.type, "String")
    return _column(
        f.name, display, apex=apex, custom=f.custom,
        insertable=f.createable and not f.calculated, updatable=f.updateable and not f.calculated,
        boolean=f.type == schema.BOOLEAN, number=f.type in _NUMBER_TYPES, text=apex == "String",
    )


def _aggregate_column(key: str, agg: ast.Aggregate, f: schema.FieldSpec | None) -> dict:
    if agg.function in ("COUNT", "COUNT_DISTINCT"):
        apex = "Integer"
    elif agg.function in ("SUM", "AVG"):
        apex = "Double" if f is None or f.type != schema.INT or agg.function == "AVG" else "Integer"
    else:
        apex = _APEX_TYPES.get(f.type, "String") if f else "String"
    return _column(key, agg.text, apex=apex, aggregate=True, number=apex in ("Integer", "Double", "Decimal"),
                   text=apex == "String", boolean=apex == "Boolean")


def _child_column(soql: str, parent: schema.ObjectSpec, sub: ast.SubQuery) -> dict:
    """``{"columnName": "Contacts", "aggregate": true, "apexType": null, "joinColumns": [...]}`` as real orgs
    describe a child relationship sub-select (salesforcecli/plugin-data, queryFields.exemplars.ts)."""
    child, _field, name = resolve_child_relationship(soql, parent, sub.query.object_name, sub.query.object_pos)
    scope = Scope(soql, child, new_aliases())
    out = _column(name, name, aggregate=True)
    for item in sub.query.select:
        if isinstance(item.expr, ast.FieldPath):
            column = scope.column(item.expr)
            out["joinColumns"].append(_field_column(column.field, column.display))
    return out


def column_metadata(soql: str) -> dict:
    """The ``columns=true`` answer for ``soql``; raises the same errors as running it."""
    query = parse(soql)
    spec = resolve_object(soql, query.object_name, query.object_pos)
    scope = Scope(soql, spec, new_aliases())
    aggregate = query.is_aggregate and not query.is_count_only
    columns: list[dict] = []
    relationship_columns: dict[tuple[str, ...], dict] = {}
    id_selected = False
    expr_n = 0
    if not query.is_count_only:
        for item in query.select:
            expr = item.expr
            if isinstance(expr, ast.SubQuery):  # a child relationship: an aggregate column of its fields
                columns.append(_child_column(soql, spec, expr))
                continue
            if isinstance(expr, ast.TypeOf):
                columns.append(_column(expr.relationship, expr.relationship))
                continue
            if isinstance(expr, ast.Aggregate):
                f = scope.column(expr.field).field if expr.field else None
                key = item.alias or f"expr{expr_n}"
                if item.alias is None:
                    expr_n += 1
                columns.append(_aggregate_column(key, expr, f))
                continue
            column = scope.column(expr)
            if aggregate:
                meta = _field_column(column.field, column.display)
                meta["columnName"] = item.alias or column.name
                columns.append(meta)
                continue
            if not column.node.names:
                id_selected = id_selected or column.name == "Id"
                columns.append(_field_column(column.field, column.name))
                continue
            siblings = columns
            for depth in range(1, len(column.node.names) + 1):
                key = tuple(n.lower() for n in column.node.names[:depth])
                rel = relationship_columns.get(key)
                if rel is None:
                    name = column.node.names[depth - 1]
                    rel = _column(name, ".".join(column.node.names[:depth]))
                    relationship_columns[key] = rel
                    siblings.append(rel)
                siblings = rel["joinColumns"]
            siblings.append(_field_column(column.field, column.display))
    return {
        "columnMetadata": columns,
        "entityName": "AggregateResult" if aggregate else spec.name,
        "groupBy": bool(query.group_by),
        "idSelected": id_selected,
        "keyPrefix": None if aggregate else spec.key_prefix,
    }
