"""Snapshot, planner, fingerprint, renderers: from a playbook to a plan anyone can read.

The names below are imported when first used, so a command that only reads a saved plan (``apply``) does
not load the playbook model and the planner.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from deprovision.plan.render import render  # eager: the name is also a submodule (planfile imports it)

_WHERE = {"read_fingerprint": "fingerprint", "stale_rows": "fingerprint", "Plan": "model", "read_plan": "planfile",
          "write_plan": "planfile", "compute_plan": "planner", "read_snapshot": "snapshot"}

__all__ = ["Plan", "compute_plan", "read_fingerprint", "read_plan", "read_snapshot", "render", "stale_rows",
           "write_plan"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'deprovision.plan' has no attribute {name!r}")
    value = getattr(import_module(f"deprovision.plan.{_WHERE[name]}"), name)
    globals()[name] = value
    return value
