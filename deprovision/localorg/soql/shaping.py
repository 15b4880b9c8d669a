"""SQLite rows to records in the REST shape Salesforce answers with."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

from deprovision.localorg import schema


def _to_bool(value: object) -> object:
    return None if value is None else bool(value)


def _to_int(value: object) -> object:
    return None if value is None else int(value)  # type: ignore[call-overload]


def _to_float(value: object) -> object:
    return None if value is None else float(value)  # type: ignore[arg-type]


def converter(f: schema.FieldSpec) -> Callable[[object], object] | None:
    """How a stored value of ``f`` becomes its JSON value (None: unchanged)."""
    if f.type == schema.BOOLEAN:
        return _to_bool
    if f.type in (schema.INT, schema.LONG):
        return _to_int
    if f.type in (schema.DOUBLE, schema.CURRENCY, schema.PERCENT):
        return _to_float
    return None


def _nullable(conv: Callable[[object], object] | None) -> Callable[[object], object] | None:
    if conv in (int, float):
        return _to_int if conv is int else _to_float
    return conv


def record_url(api_version: str, object_name: str, record_id: str | None) -> str:
    """``attributes.url`` of a record (without an id for objects whose Id is always null)."""
    base = f"/services/data/v{api_version}/sobjects/{object_name}"
    return f"{base}/{record_id}" if record_id else base


@dataclass
class _OutNode:
    id_index: int
    static_type: str | None
    entries: list[tuple[str, int, Callable | None, _OutNode | None]] = field(default_factory=list)


def _getter(indices: list[int]) -> Callable[[Sequence], Sequence]:
    if not indices:
        return lambda row: ()
    if len(indices) == 1:
        only = indices[0]
        return lambda row: (row[only],)
    return itemgetter(*indices)


class _RowValue:
    """Marks an entry computed from the whole row rather than one column."""

    def __init__(self, value: Callable[[Sequence], object]) -> None:
        self.value = value


def _value_fixup(index: int, conv: Callable) -> Callable[[Sequence], object]:
    if isinstance(conv, _RowValue):
        return conv.value
    return lambda row: conv(row[index])


class RecordShaper:
    """Builds ``{"attributes": {...}, "Field": v, "Parent": {...} | None}`` from a row."""

    def __init__(self, object_name: str, id_index: int, api_version: str) -> None:
        self.api_version = api_version
        self.root = _OutNode(id_index, object_name)
        self.nodes: dict[tuple[str, ...], _OutNode] = {(): self.root}
        self._shape: Callable[[Sequence], dict | None] | None = None

    def node_id_index(self, names: tuple[str, ...]) -> int | None:
        node = self.nodes.get(tuple(n.lower() for n in names))
        return node.id_index if node else None

    def add_node(self, names: tuple[str, ...], id_index: int, static_type: str | None) -> None:
        parent = self.nodes[tuple(n.lower() for n in names[:-1])]
        node = _OutNode(id_index, static_type)
        parent.entries.append((names[-1], id_index, None, node))
        self.nodes[tuple(n.lower() for n in names)] = node

    def add_field(self, key: tuple[str, ...], index: int, conv: Callable | None) -> None:
        parent = self.nodes[tuple(n.lower() for n in key[:-1])]
        parent.entries.append((key[-1], index, conv, None))

    def add_row_value(self, key: tuple[str, ...], index: int, value: Callable[[Sequence], object]) -> None:
        """A key whose value ``value(row)`` builds from the whole row (TYPEOF); ``index`` is a placeholder."""
        parent = self.nodes[tuple(n.lower() for n in key[:-1])]
        parent.entries.append((key[-1], index, _RowValue(value), None))

    def _build(self, node: _OutNode, *, root: bool) -> Callable[[Sequence], dict | None]:
        """A function filling one node: every key at once in select order, then converted values."""
        keys = tuple(key for key, _, _, _ in node.entries)
        getter = _getter([index for _, index, _, _ in node.entries])
        fixups = [(key, self._build(child, root=False) if child is not None else _value_fixup(index, conv))
                  for key, index, conv, child in node.entries if conv is not None or child is not None]
        id_index, static_type, version = node.id_index, node.static_type, self.api_version

        def shape(row: Sequence) -> dict | None:
            record_id = row[id_index]
            if record_id is None and not root:
                return None
            type_name = static_type
            if type_name is None:
                spec = schema.object_for_id(record_id)
                type_name = spec.name if spec else "Name"
            out: dict = {"attributes": {"type": type_name, "url": record_url(version, type_name, record_id)}}
            out.update(zip(keys, getter(row), strict=True))  # a key keeps its first position when overwritten below
            for key, fixup in fixups:
                out[key] = fixup(row)
            return out

        return shape

    def __call__(self, row: Sequence) -> dict:
        if self._shape is None:
            self._shape = self._build(self.root, root=True)
        return self._shape(row)  # type: ignore[return-value]


class AggregateShaper:
    """Builds ``{"attributes": {"type": "AggregateResult"}, "expr0": n, ...}`` from a row."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, int, Callable | None]] = []

    def add(self, key: str, index: int, conv: Callable | None) -> None:
        self.entries.append((key, index, _nullable(conv)))

    def __call__(self, row: Sequence) -> dict:
        out: dict = {"attributes": {"type": "AggregateResult"}}
        for key, index, conv in self.entries:
            value = row[index]
            out[key] = conv(value) if conv is not None else value
        return out
