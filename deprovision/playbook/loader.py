"""``load_playbook``: file -> checked ``Playbook``, every problem with file:line:column."""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from deprovision.errors import PlaybookError
from deprovision.playbook.csvsource import CsvProblems, read_csv
from deprovision.playbook.model import Playbook, ReassignRule
from deprovision.playbook.variables import render_strings
from deprovision.playbook.yamldoc import Document, DocumentError, Problem, format_path, parse_document

SUPPORTED_VERSION = 1


class PlaybookInvalid(PlaybookError):
    """A playbook with one or more problems; ``lines`` has one ``file:line:col: path: message`` each."""

    def __init__(self, lines: list[str]) -> None:
        message = lines[0] if len(lines) == 1 else f"{len(lines)} problems in the playbook"
        super().__init__(message, details=lines if len(lines) > 1 else [])
        self.lines = lines


def load_playbook(path: Path, variables: dict[str, str] | None = None) -> Playbook:
    """Read, render and check the playbook at ``path``; raises PlaybookInvalid listing every problem."""
    shown = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise PlaybookInvalid([f"{shown}: no such file"]) from None
    except IsADirectoryError:
        raise PlaybookInvalid([f"{shown}: is a folder, not a playbook file"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PlaybookInvalid([f"{shown}: not UTF-8 text (byte {exc.start})"]) from None
    try:
        doc = parse_document(text, shown)
    except DocumentError as exc:
        raise PlaybookInvalid([str(p) for p in exc.problems]) from None

    problems: list[Problem] = []
    data = doc.data
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        raise PlaybookInvalid([str(Problem(shown, doc.locate(()), "",
                                           f"the playbook must be a mapping (version, name, users, ...), "
                                           f"not {kind}"))])
    version = data.get("version")
    if "version" in data and (version != SUPPORTED_VERSION or isinstance(version, bool)):
        raise PlaybookInvalid([str(Problem(shown, doc.locate(("version",)), "version",
                                           f"unsupported playbook version {version!r}; "
                                           f"this deprovision reads version {SUPPORTED_VERSION}"))])

    effective = _effective_variables(data, variables or {})

    def report(p: tuple[str | int, ...], message: str) -> None:
        problems.append(Problem(shown, doc.locate(p), format_path(p), message))

    data = render_strings(data, effective, report)
    playbook: Playbook | None = None
    try:
        playbook = Playbook.model_validate(data)
    except ValidationError as exc:
        problems.extend(_problems_from(exc, doc, data, shown))
    if playbook is not None and playbook.users.csv:
        csv_path = Path(path).parent / playbook.users.csv
        try:
            playbook._csv_rows = read_csv(csv_path, str(csv_path))
        except CsvProblems as exc:
            loc = doc.locate(("users", "csv"))
            where = f"{shown}:{loc.line}:{loc.column}" if loc else shown
            lines = [f"{where}: users.csv: {line}" if line.startswith(f"{csv_path}: ") else line
                     for line in exc.lines]
            _raise_if([str(p) for p in _sorted(problems)] + lines)
    _raise_if([str(p) for p in _sorted(problems)])
    assert playbook is not None
    playbook._path = Path(path)
    playbook._sha256 = hashlib.sha256(raw).hexdigest()
    playbook._variables = effective
    playbook._document = doc
    from deprovision.multiorg.mapping import for_current_org

    return for_current_org(playbook)  # as one org of several reads it (itself otherwise)


def _raise_if(lines: list[str]) -> None:
    if lines:
        raise PlaybookInvalid(list(dict.fromkeys(lines)))


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.location.line, p.location.column) if p.location else (0, 0))


def _effective_variables(data: dict[str, Any], given: dict[str, str]) -> dict[str, str]:
    defaults = data.get("vars")
    merged: dict[str, str] = {}
    if isinstance(defaults, dict):
        merged.update({str(k): "" if v is None else str(v) for k, v in defaults.items()
                       if not isinstance(v, dict | list)})
    merged.update(given)
    return merged


def _model_at(path: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The pydantic model describing the mapping at ``path`` (for 'did you mean')."""
    if len(path) == 4 and path[:3] == ("actions", "reassign", "objects"):
        return ReassignRule
    model: Any = Playbook
    for part in path:
        if isinstance(part, int) or model is None:
            return None
        info = model.model_fields.get(part)
        if info is None:
            # a dict of rules (reassign.objects.<Object>)
            return None
        model = _model_of(info.annotation)
    return model


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found:
            return found
    return None


def _real_path(loc: tuple[Any, ...], data: Any) -> tuple[tuple[str | int, ...], bool]:
    """Map a pydantic error location onto the data (skipping union/validator tags); True if it exists."""
    path: list[str | int] = []
    node = data
    exists = True
    for part in loc:
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and not _is_tag(part):
            path.append(part)
            exists = False
            node = None
        else:
            continue
    return tuple(path), exists


def _is_tag(part: str) -> bool:
    return "[" in part or part.startswith(("function-", "literal", "list", "str", "dict", "int", "bool"))


def _problems_from(exc: ValidationError, doc: Document, data: Any, file: str) -> list[Problem]:
    out: list[Problem] = []
    for err in exc.errors(include_url=False):
        path, exists = _real_path(tuple(err["loc"]), data)
        kind = err["type"]
        if kind == "extra_forbidden":
            key = path[-1]
            model = _model_at(path[:-1])
            message = f"unknown key '{key}'"
            if model is not None:
                allowed = [k for k in model.model_fields if not k.startswith("_")]
                close = difflib.get_close_matches(str(key), allowed, n=1)
                message += f" (did you mean '{close[0]}'?)" if close else f"; expected one of: {', '.join(allowed)}"
            out.append(Problem(file, doc.locate(path, key=True), format_path(path), message))
            continue
        if kind == "missing":
            message = "required, but missing"
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            message = f"expected a mapping, got {_describe(err.get('input'))}"
        elif kind == "list_type":
            message = f"expected a list, got {_describe(err.get('input'))}"
        elif kind == "string_type":
            message = f"expected text, got {_describe(err.get('input'))}"
        elif kind in ("bool_type", "bool_parsing"):
            message = f"expected true or false, got {_describe(err.get('input'))}"
        elif kind in ("int_type", "int_parsing", "int_from_float"):
            message = f"expected a whole number, got {_describe(err.get('input'))}"
        else:
            message = err["msg"].removeprefix("Value error, ")
        location = doc.locate(path) if exists else doc.locate(path[:-1])
        out.append(Problem(file, location, format_path(path), message))
    return out


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"'{value}'"
    return repr(value)
