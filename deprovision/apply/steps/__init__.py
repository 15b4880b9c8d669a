"""The steps of a run, one module each, behind one interface (``Step``: ``name`` and ``run(ctx, changes)``).

| step | module | what it writes |
| --- | --- | --- |
| ``freeze`` / ``unfreeze`` | ``freeze.py`` | ``UserLogin.IsFrozen`` |
| ``backup`` | ``backup.py`` | CSV files in the run folder (nothing in the org) |
| ``revoke_sessions`` | ``sessions.py`` | ``AuthSession`` deletes, OAuth revocations |
| ``reassign`` / ``restore_owner`` | ``reassign.py`` | ``OwnerId`` of owned records |
| ``remove_access`` | ``remove_access.py`` | assignment deletes, role, dependants' lookups |
| ``export`` | ``export.py`` | a wind-down's org export, verified first (nothing in the org) |
| ``deactivate`` | ``deactivate.py`` | ``User.IsActive`` (only users whose earlier work succeeded) |
| ``wind_down_check`` | ``wind_down.py`` | nothing: reads a wind-down's finish line into the audit log |
| ``reactivate``, ``restore_role``, ``restore_access`` | ``base.py`` (``WriteStep``) | rollback's plain writes |
"""

from __future__ import annotations

from deprovision.apply.steps.backup import BackupStep
from deprovision.apply.steps.base import Step, WriteStep
from deprovision.apply.steps.deactivate import DeactivateStep
from deprovision.apply.steps.export import ExportStep
from deprovision.apply.steps.freeze import FreezeStep
from deprovision.apply.steps.reassign import ReassignStep
from deprovision.apply.steps.remove_access import RemoveAccessStep
from deprovision.apply.steps.sessions import SessionsStep
from deprovision.apply.steps.wind_down import WindDownCheck

STEPS: dict[str, Step] = {step.name: step for step in (
    ExportStep(),
    WindDownCheck(),
    FreezeStep("freeze", parallel=True),
    BackupStep(),
    SessionsStep(),
    ReassignStep("reassign"),
    RemoveAccessStep(),
    DeactivateStep(),
    WriteStep("reactivate"),
    WriteStep("restore_role"),
    WriteStep("restore_access"),
    ReassignStep("restore_owner"),
    FreezeStep("unfreeze", parallel=False),
)}

__all__ = ["STEPS", "Step"]
