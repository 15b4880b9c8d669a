"""``wind_down_check``: after the last step of a wind-down, read the finish line from the org (users left
active or unfrozen outside ``protect``, tokens, scheduled jobs, dashboards, licence seats) into the audit
log, where the evidence report finds it. Only reads."""

from __future__ import annotations

import json

from deprovision.apply import audit_events
from deprovision.apply.context import RunContext
from deprovision.plan.model import Change


class WindDownCheck:
    name = "wind_down_check"

    def run(self, ctx: RunContext, changes: list[Change]) -> None:
        facts = ctx.plan.wind_down or {}
        if not facts:
            return
        from deprovision.winddown.finish import read_finish_line

        ctx.progress.start_phase(self.name, 0)
        finish = read_finish_line(ctx.client, ctx.plan)
        (ctx.folder.path / "wind_down.json").write_text(json.dumps(finish, indent=2) + "\n", encoding="utf-8")
        audit_events.event("wind_down_checked", contract=facts.get("contract"), licences_before=facts.get("licences"),
                           **finish)
        ctx.progress.end_phase(self.name, f"{finish['still_active']} still active outside protect, "
                                          f"{finish['scheduled_jobs_count']} scheduled jobs left")
