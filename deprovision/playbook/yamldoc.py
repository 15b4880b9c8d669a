"""YAML to plain data, remembering where every value came from.

The document is composed into nodes first (``yaml.compose``), so each value
keeps its line and column; mappings with a duplicate key are refused.
Locations are 1-based, like every editor shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Location:
    """Line and column (1-based) of a node in the source file."""

    line: int
    column: int


@dataclass
class Problem:
    """One thing wrong with a playbook, with the place it was found."""

    file: str
    location: Location | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.location.line}:{self.location.column}" if self.location else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


@dataclass
class Document:
    """Plain data of a YAML document plus where each value and mapping key sits."""

    data: Any
    values: dict[Path, Location] = field(default_factory=dict)
    keys: dict[Path, Location] = field(default_factory=dict)

    def locate(self, path: Path, *, key: bool = False) -> Location | None:
        """The location of ``path`` (its key when ``key``), else of its nearest known ancestor."""
        if key and path in self.keys:
            return self.keys[path]
        probe = tuple(path)
        while probe:
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get(())


def format_path(path: Path) -> str:
    """``('users', 'usernames', 2)`` -> ``users.usernames[2]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class DocumentError(Exception):
    """The YAML could not be read; carries the problems found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def _loc(mark: Any) -> Location:
    return Location(mark.line + 1, mark.column + 1)


def parse_document(text: str, file: str) -> Document:
    """Compose ``text`` and convert it to plain data with locations; raises DocumentError."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            context = exc.context
            if exc.context_mark is not None and exc.problem_mark is not None \
                    and exc.context_mark.line != exc.problem_mark.line:
                context += f" started at line {exc.context_mark.line + 1}"
            message = f"{exc.problem} ({context})"
        raise DocumentError([Problem(file, _loc(mark) if mark else None, "", f"invalid YAML: {message}")]) from None
    except yaml.YAMLError as exc:
        raise DocumentError([Problem(file, None, "", f"invalid YAML: {exc}")]) from None
    if root is None:
        raise DocumentError([Problem(file, Location(1, 1), "", "the playbook is empty")])
    doc = Document(data=None)
    problems: list[Problem] = []
    constructor = SafeConstructor()
    doc.data = _convert(root, (), doc, problems, constructor, file)
    if problems:
        raise DocumentError(problems)
    return doc


def _convert(node: yaml.Node, path: Path, doc: Document, problems: list[Problem],
             constructor: SafeConstructor, file: str) -> Any:
    doc.values[path] = _loc(node.start_mark)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem(file, _loc(key_node.start_mark), format_path(path),
                                        "mapping keys must be plain values"))
                continue
            key = _scalar(key_node, constructor, file, problems, path)
            key = key if isinstance(key, str) else str(key)
            child = (*path, key)
            if key in out:
                first = doc.keys[child]
                problems.append(Problem(file, _loc(key_node.start_mark), format_path(child),
                                        f"duplicate key '{key}' (first at line {first.line})"))
                continue
            doc.keys[child] = _loc(key_node.start_mark)
            out[key] = _convert(value_node, child, doc, problems, constructor, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), doc, problems, constructor, file) for i, item in enumerate(node.value)]
    return _scalar(node, constructor, file, problems, path)


def _scalar(node: yaml.Node, constructor: SafeConstructor, file: str, problems: list[Problem],
            path: Path) -> Any:
    if node.tag.endswith(":merge"):
        problems.append(Problem(file, _loc(node.start_mark), format_path(path),
                                "YAML merge keys (<<) are not supported; write the keys out"))
        return None
    try:
        value = constructor.construct_object(node, deep=True)
    except ConstructorError as exc:
        problems.append(Problem(file, _loc(node.start_mark), format_path(path), f"invalid value: {exc.problem}"))
        return None
    # Dates and times stay text: the model decides what they mean.
    if not isinstance(value, str | int | float | bool | type(None)):
        return node.value
    return value
