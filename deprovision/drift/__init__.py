"""Drift after a run: re-read the users past runs deprovisioned and find what came back.

``past_runs`` reads what each run did (plan, journal, summary); ``read_org`` re-reads those users in a
few chunked queries; ``find_drift`` turns the difference into findings (run, user, what, when, by whom);
``fix_plan`` makes an ordinary plan that removes again what came back.
"""

from deprovision.drift.detect import Finding, find_drift
from deprovision.drift.fix import fix_plan
from deprovision.drift.history import RunHistory, past_runs
from deprovision.drift.read import OrgView, read_org

__all__ = ["Finding", "OrgView", "RunHistory", "find_drift", "fix_plan", "past_runs", "read_org"]
