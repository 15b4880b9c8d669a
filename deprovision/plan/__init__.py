"""Snapshot of the org, the pure planner, the plan document and its renderers."""
