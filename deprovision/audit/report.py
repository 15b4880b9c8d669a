"""The evidence pack: per leaver, when each step happened, against an SLA, with the log's proof.

``build_report`` reads the log once (the chain check feeds it) and keeps one small
summary per leaver of the selected runs. ``crosscheck`` adds Salesforce's own record of
the same changes; ``render`` writes HTML (one self-contained, printable file), Markdown
or CSV.

SLA clock: from the leaver's termination time when the playbook or CSV gave one
(``terminated_at``; a date alone means 00:00 UTC that day), otherwise from the run's
start. The clock stops at deactivation (or, in playbooks without deactivation, at the
last change) when every change of the leaver succeeded; a leaver with failures is
"incomplete" and is measured until the report's time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deprovision.audit import fields
from deprovision.audit.redact import redact
from deprovision.audit.times import hours_between, parse_ts, short_time
from deprovision.audit.verify import VerifyResult, verify_log
from deprovision.plan.model import ACTIONS

REVOCATION_ACTIONS = (
    "end_sessions", "revoke_oauth_token", "remove_permission_set", "remove_permission_set_group",
    "remove_permission_set_license", "remove_public_group", "remove_queue", "remove_package_license",
    "remove_territory", "clear_role",
)
RUN_START_EVENTS = ("run_started", "rollback_started")
WIND_DOWN_EVENTS = {"export_verified": "export", "export_refused": "export_refused",
                    "wind_down_checked": "finish"}

@dataclass
class Step:
    """When one kind of change was done for a leaver, and to how many records."""

    action: str
    label: str
    at: str | None = None  # ts of the last applied event of this kind
    records: int = 0
    applied: int = 0
    skipped: int = 0
    failed: int = 0


@dataclass
class Leaver:
    """Everything the report says about one target user of one run."""

    run_id: str
    user_id: str | None
    username: str | None
    terminated_at: str | None = None
    full_name: str | None = None
    clock_start: str | None = None
    clock_basis: str = "run start"  # or "termination"
    steps: dict[str, Step] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    leftovers_checked_at: str | None = None
    fresh_leftovers: list[str] | None = None
    transfers: dict[str, int] = field(default_factory=dict)  # object -> records
    completed_at: str | None = None
    elapsed_hours: float | None = None
    hours_to_freeze: float | None = None
    sla_status: str = "incomplete"  # met | breached | incomplete
    sla_breached: bool = False
    trail: list[dict[str, Any]] = field(default_factory=list)  # cross-check rows
    trail_mismatches: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.username or self.user_id or "?"

    def step_at(self, action: str) -> str | None:
        step = self.steps.get(action)
        return step.at if step else None

    @property
    def frozen_at(self) -> str | None:
        return self.step_at("freeze")

    @property
    def deactivated_at(self) -> str | None:
        return self.step_at("deactivate")

    @property
    def transferred_at(self) -> str | None:
        return self.step_at("reassign_owner")

    @property
    def revocations(self) -> list[Step]:
        return [self.steps[a] for a in REVOCATION_ACTIONS if a in self.steps]


@dataclass
class RunReport:
    """One run: who ran it, why, and its leavers."""

    run_id: str
    kind: str = "apply"
    started_at: str | None = None
    finished_at: str | None = None
    status: str | None = None
    actor: dict[str, Any] = field(default_factory=lambda: {"id": None, "username": None})
    reason: str | None = None
    playbook: dict[str, Any] = field(default_factory=lambda: {"name": None, "sha256": None})
    org_id: str | None = None
    instance: str | None = None
    head: str | None = None  # hash of the run's last event
    events: int = 0
    api_calls: int | None = None
    leavers: dict[str, Leaver] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    run_leftovers: list[str] = field(default_factory=list)
    cross_checked: bool = False
    trail_only: list[dict[str, Any]] = field(default_factory=list)  # trail rows naming no leaver
    rollback_of: str | None = None  # for a rollback run: the run it reversed
    plan_sha256: str | None = None  # digest of the executed plan, as logged at run start
    plan_file: str | None = None  # whether the run folder's plan.json matches it
    wind_down: dict[str, Any] = field(default_factory=dict)  # export, finish line (wind-downs)

    @property
    def wind_down_view(self) -> dict[str, Any]:
        from deprovision.winddown.evidence import view

        return view(self.wind_down)


@dataclass
class Report:
    """The whole evidence pack."""

    generated_at: str
    log_path: str
    sla_hours: float
    verification: VerifyResult
    runs: list[RunReport]
    selection: str

    @property
    def leavers(self) -> list[Leaver]:
        """Target users of deprovisioning runs (rollback runs' users are not leavers)."""
        return [leaver for run in self.runs if run.kind != "rollback" for leaver in run.leavers.values()]

    @property
    def breaches(self) -> int:
        return sum(1 for leaver in self.leavers if leaver.sla_breached)


# --- building -----------------------------------------------------------------------------------

def build_report(path: Path, *, run_id: str | None = None, since: str | None = None, sla_hours: float = 24.0,
                 key: bytes | None = None, now: datetime | None = None,
                 state_dir: Path | None = None) -> Report:
    """Read the log at ``path`` for one run (``run_id``) or every run started since ``since``.

    With ``state_dir``, termination times that a run's events do not carry are taken from the
    run's plan file (``runs/<id>/plan.json``).
    """
    now = now or datetime.now(UTC)
    runs: dict[str, RunReport] = {}
    needle = run_id.encode("utf-8") if run_id else None

    def take(event: dict[str, Any], raw: bytes) -> None:
        if needle is None or needle in raw:
            _absorb(runs, redact(event), run_id, since)

    verification = verify_log(path, key=key, observer=take)  # one pass when the log is intact
    if not verification.ok:  # a broken log is still reported in full, past the break
        runs.clear()
        with open(path, "rb") as stream:
            for raw in stream:
                if needle is not None and needle not in raw:
                    continue
                try:
                    event = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(event, dict):
                    take(event, raw)
    plan_users = plan_users_from_runs(state_dir, runs) if state_dir else {}
    for run in runs.values():
        if run.rollback_of in runs:
            runs[run.rollback_of].notes.append(
                f"rolled back by run {run.run_id} (started {short_time(run.started_at)} UTC)")
    for run in runs.values():
        run.leavers = dict(sorted(run.leavers.items(), key=lambda item: item[1].name.lower()))
        for leaver in run.leavers.values():
            extra = plan_users.get(run.run_id, {}).get(leaver.user_id or "", {})
            if not leaver.terminated_at and extra.get("terminated_at"):
                leaver.terminated_at = extra["terminated_at"]
            leaver.full_name = leaver.full_name or extra.get("name")
            _score(run, leaver, sla_hours, now)
    selection = f"run {run_id}" if run_id else (f"runs since {since}" if since else "all runs")
    ordered = sorted(runs.values(), key=lambda r: r.started_at or "")
    return Report(generated_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"), log_path=str(path), sla_hours=sla_hours,
                  verification=verification, runs=ordered, selection=selection)


def _absorb(runs: dict[str, RunReport], event: dict[str, Any], run_id: str | None, since: str | None) -> None:
    name = event.get("event")
    if name == "verify_finished":
        target = next((event.get(k) for k in ("verified_run_id", "verify_of", "of_run", "checked_run_id")
                       if event.get(k)), None) or event.get("run_id")
        if target in runs:
            _absorb_verify(runs[target], event)
        return
    rid = event.get("run_id")
    if not isinstance(rid, str) or (run_id and rid != run_id):
        return
    run = runs.get(rid)
    if run is None:
        # A run enters the report at its start (or, for --run, at its first event of any kind).
        if since and (name not in RUN_START_EVENTS or (event.get("ts") or "") < since):
            return
        if event.get("run_kind") == "verify":
            return
        run = runs[rid] = RunReport(run_id=rid)
    run.events += 1
    run.head = event.get("hash")
    if name in RUN_START_EVENTS:
        run.kind = "rollback" if name == "rollback_started" else "apply"
        run.rollback_of = event.get("rollback_of") or event.get("rolls_back_run_id")
        run.started_at = event.get("ts")
        run.actor = fields.actor(event)
        run.reason = event.get("reason")
        run.playbook = fields.playbook(event)
        run.org_id = event.get("org_id")
        run.instance = event.get("instance") or event.get("instance_url")
        run.plan_sha256 = event.get("plan_sha256")
        for user in event.get("users") if isinstance(event.get("users"), list) else []:
            if isinstance(user, dict):
                leaver = _leaver(run, user)
                leaver.terminated_at = user.get("terminated_at") or leaver.terminated_at
                leaver.full_name = user.get("name") or leaver.full_name
    elif name in fields.CHANGE_EVENTS:
        _absorb_change(run, event)
    elif name == "run_finished":
        run.finished_at = event.get("ts")
        run.status = event.get("status") or event.get("outcome")
        run.api_calls = event.get("api_calls")
    elif name in WIND_DOWN_EVENTS:
        run.wind_down[WIND_DOWN_EVENTS[name]] = event
    elif name == "plan_refused":
        run.notes.append(f"{event.get('ts', '')}: plan refused (stale)")
    if run.started_at is None:
        run.started_at = event.get("ts")
        run.actor = fields.actor(event)
        run.reason = run.reason or event.get("reason")
        run.playbook = fields.playbook(event)
        run.org_id = run.org_id or event.get("org_id")


def _leaver(run: RunReport, user: dict[str, Any]) -> Leaver:
    key = user.get("id") or user.get("username") or "?"
    leaver = run.leavers.get(key)
    if leaver is None:
        leaver = run.leavers[key] = Leaver(run_id=run.run_id, user_id=user.get("id"), username=user.get("username"))
    leaver.username = leaver.username or user.get("username")
    return leaver


def _absorb_change(run: RunReport, event: dict[str, Any]) -> None:
    target = fields.target_user(event)
    if not (target.get("id") or target.get("username")):
        return
    leaver = _leaver(run, target)
    if target.get("terminated_at") and not leaver.terminated_at:
        leaver.terminated_at = target["terminated_at"]
    action = event.get("action") or "?"
    step = leaver.steps.get(action)
    if step is None:
        label = ACTIONS[action][3] if action in ACTIONS else action
        step = leaver.steps[action] = Step(action=action, label=label)
    outcome = fields.outcome(event)
    count = fields.record_count(event)
    partial = event.get("outcome") == "partial"  # some records applied (record_ids), some failed
    if outcome == "applied" or partial:
        step.applied += 0 if partial else 1
        step.records += count
        step.at = max(step.at or "", event.get("ts") or "") or None
        if action == "reassign_owner":
            obj = str(event.get("object") or "?")
            leaver.transfers[obj] = leaver.transfers.get(obj, 0) + count
    if outcome == "applied":
        return
    if outcome == "skipped":
        step.skipped += 1
    else:
        step.failed += 1
        leaver.failures.append({
            "ts": event.get("ts"), "action": action, "object": event.get("object"),
            "label": event.get("label"), "error_code": event.get("error_code"),
            "message": fields.error_message(event),
            "records": event.get("failed_count") or (0 if partial else count),
        })


def _absorb_verify(run: RunReport, event: dict[str, Any]) -> None:
    leftovers = event.get("leftovers")
    if not isinstance(leftovers, list):
        return
    for leaver in run.leavers.values():
        leaver.leftovers = []
        leaver.leftovers_checked_at = event.get("ts")
    run.run_leftovers = []
    for item in leftovers:
        text, who = _leftover_text(item)
        leaver = match_leaver(run, who or text)
        if leaver:
            leaver.leftovers.append(text)
        else:
            run.run_leftovers.append(text)


def _leftover_text(item: Any) -> tuple[str, str | None]:
    if isinstance(item, dict):
        who = item.get("username") or item.get("user_id") or item.get("user")
        text = item.get("message") or json.dumps(item, sort_keys=True)
        return (f"{who}: {text}" if who and str(who) not in text else text), who
    return str(item), None


def match_leaver(run: RunReport, text: str) -> Leaver | None:
    """The leaver a leftover line ("user@x: ...") is about, if any."""
    for leaver in run.leavers.values():
        for name in (leaver.username, leaver.user_id):
            if name and (text == name or text.startswith(f"{name}:") or text.startswith(f"{name} ")):
                return leaver
    return None


def _score(run: RunReport, leaver: Leaver, sla_hours: float, now: datetime) -> None:
    start = parse_ts(leaver.terminated_at)
    if start is not None:
        leaver.clock_basis = "termination"
    else:
        start = parse_ts(run.started_at)
        leaver.clock_basis = "run start"
    leaver.clock_start = start.strftime("%Y-%m-%dT%H:%M:%SZ") if start else None
    leaver.hours_to_freeze = hours_between(start, parse_ts(leaver.frozen_at))
    applied = [s.at for s in leaver.steps.values() if s.at]
    if leaver.failures:
        done = None
    elif "deactivate" in leaver.steps:
        done = leaver.deactivated_at
    else:
        done = max(applied) if applied and run.finished_at else None
    leaver.completed_at = done
    if run.kind == "rollback":  # a reversal has no leaver SLA
        leaver.sla_status, leaver.sla_breached = "n/a", False
        leaver.elapsed_hours = hours_between(parse_ts(run.started_at), parse_ts(max(applied)) if applied else None)
        return
    end = parse_ts(done) if done else now
    leaver.elapsed_hours = hours_between(start, end)
    over = leaver.elapsed_hours is not None and leaver.elapsed_hours > sla_hours
    leaver.sla_breached = over
    if done is None:
        leaver.sla_status = "incomplete"
    else:
        leaver.sla_status = "breached" if over else "met"


def _plan_digest(plan_path: Path, data: dict[str, Any]) -> str | None:
    """The plan's digest as the apply package computes it (``plan_hash`` of the loaded plan)."""
    try:
        from deprovision.apply.runs import plan_hash
        from deprovision.plan.planfile import read_plan

        return plan_hash(read_plan(plan_path))
    except ImportError:
        return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
                              .encode()).hexdigest()
    except Exception:  # an unreadable plan file cannot vouch for anything
        return None


def plan_users_from_runs(state_dir: Path, runs: dict[str, RunReport]) -> dict[str, dict[str, dict[str, Any]]]:
    """Termination times from the runs' plan files (``runs/<id>/plan.json``), for logs that lack them.

    A plan file is used only when its SHA-256 (of its canonical JSON) equals the ``plan_sha256``
    the run logged, or when the run logged none; ``run.plan_file`` says which.
    """
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for rid, run in runs.items():
        plan_path = Path(state_dir) / "runs" / rid / "plan.json"
        try:
            data = json.loads(plan_path.read_text())
        except (OSError, ValueError):
            continue
        digest = _plan_digest(plan_path, data)
        if run.plan_sha256 and digest != run.plan_sha256:
            run.plan_file = f"{plan_path} does not match the plan digest in the log (or cannot be read): not used"
            continue
        run.plan_file = (f"{plan_path} (matches the plan digest in the log)" if run.plan_sha256
                         else f"{plan_path} (no plan digest in the log to check it against)")
        out[rid] = {u.get("id"): {"username": u.get("username"), "name": u.get("name"),
                                  "terminated_at": u.get("terminated_at")}
                    for u in data.get("users", []) if isinstance(u, dict)}
    return out
