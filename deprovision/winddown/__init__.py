"""Winding down a whole org: what a plan adds (contract timeline, export estimate, licences) and the
finish line a run is checked against."""

from deprovision.winddown.facts import is_wind_down, plan_facts, read_facts
from deprovision.winddown.render import with_section

__all__ = ["is_wind_down", "plan_facts", "read_facts", "with_section"]
