"""Freeze now, deactivate at the leaving date.

A leaver whose ``terminated_at`` is in the future has their plan split (``split.schedule_plan``): the
cut-access changes (freeze, sessions, OAuth tokens) are due now, or at ``cut_access_at``; everything else
at the leaving date (``Change.due_at``). ``run.run_due`` applies what is due and leaves the run
``scheduled``; ``apply --due`` resumes it when more comes due. It stays one run, one plan, in the audit trail.
"""

from deprovision.schedule.split import CUT_ACCESS, schedule_plan

__all__ = ["CUT_ACCESS", "schedule_plan"]
