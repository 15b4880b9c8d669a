"""Snapshot, planner, fingerprint, renderers: from a playbook to a plan anyone can read."""

from deprovision.plan.fingerprint import read_fingerprint, stale_rows
from deprovision.plan.model import Plan
from deprovision.plan.planfile import read_plan, write_plan
from deprovision.plan.planner import compute_plan
from deprovision.plan.render import render
from deprovision.plan.snapshot import read_snapshot

__all__ = ["Plan", "compute_plan", "read_fingerprint", "read_plan", "read_snapshot", "render", "stale_rows",
           "write_plan"]
