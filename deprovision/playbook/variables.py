"""Template variables in playbook strings: ``reason: "{{ ticket }}: leavers"``.

Values are rendered one string at a time after the YAML is parsed, so a
variable can never inject YAML. Undefined variables are errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from deprovision.errors import InvalidInputError

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)

# Keys whose values are never rendered (the defaults themselves).
_RAW_KEYS = {"vars"}


def parse_var_options(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``["ticket=HR-1"]`` -> ``{"ticket": "HR-1"}``; raises InvalidInputError on a malformed pair."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise InvalidInputError(f"--var expects NAME=VALUE with NAME a plain identifier, got '{pair}'")
        out[name] = value
    return out


def read_vars_file(path: Path) -> dict[str, str]:
    """Variables from a YAML mapping of names to plain values."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(f"vars file {path} not found") from None
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"vars file {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise InvalidInputError(f"vars file {path} must be a mapping of names to values")
    bad = [k for k, v in data.items() if isinstance(v, dict | list)]
    if bad:
        raise InvalidInputError(f"vars file {path}: '{bad[0]}' must be a plain value, not a list or mapping")
    return {k: "" if v is None else str(v) for k, v in data.items()}


def render_strings(data: Any, variables: dict[str, str],
                   report: Callable[[tuple[str | int, ...], str], None],
                   path: tuple[str | int, ...] = ()) -> Any:
    """Render every string value of ``data`` holding ``{{``/``{%``; ``report(path, message)`` on errors."""
    if isinstance(data, dict):
        return {k: (v if (not path and k in _RAW_KEYS) else render_strings(v, variables, report, (*path, k)))
                for k, v in data.items()}
    if isinstance(data, list):
        return [render_strings(v, variables, report, (*path, i)) for i, v in enumerate(data)]
    if isinstance(data, str) and ("{{" in data or "{%" in data):
        try:
            return _ENV.from_string(data).render(**variables)
        except UndefinedError as exc:
            match = re.match(r"^'([^']+)' is undefined$", exc.message or "")
            name = match.group(1) if match else None
            if name:
                report(path, f"undefined variable '{name}' (give it with --var {name}=VALUE or under vars:)")
            else:
                report(path, f"undefined variable: {exc.message}")
        except TemplateError as exc:
            report(path, f"template error: {exc.message}")
    return data
