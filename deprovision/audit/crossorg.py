"""A leaver's runs across orgs: one playbook applied to production and its sandboxes is one leaver with a
run per org. Sandbox copies suffix usernames (``nina@acme.example.uat``), so a leaver is the shortest
username the others extend with ``.something``, within one playbook."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from deprovision.audit.report import Leaver, Report, RunReport


@dataclass
class CrossOrgLeaver:
    """One person, the runs that took them out of each org."""

    username: str
    playbook: str | None
    runs: list[tuple[RunReport, Leaver]] = field(default_factory=list)

    @property
    def orgs(self) -> list[str]:
        return list(dict.fromkeys(run.org_id or "?" for run, _ in self.runs))

    @property
    def all_deactivated(self) -> bool:
        return all(leaver.deactivated_at for _, leaver in self.runs)


def _base(name: str, names: list[str]) -> str:
    for other in sorted(names, key=len):
        if name == other or name.startswith(other + "."):
            return other
    return name


def leavers_across_orgs(report: Report) -> list[CrossOrgLeaver]:
    """Leavers with runs in more than one org, grouped per playbook and person."""
    by_playbook: dict[str | None, list[tuple[RunReport, Leaver]]] = {}
    for run in report.runs:
        if run.kind == "rollback":
            continue
        for leaver in run.leavers.values():
            by_playbook.setdefault((run.playbook or {}).get("name"), []).append((run, leaver))
    out = []
    for playbook, items in by_playbook.items():
        names = sorted({leaver.username for _, leaver in items if leaver.username})
        groups: dict[str, CrossOrgLeaver] = {}
        for run, leaver in items:
            if not leaver.username:
                continue
            base = _base(leaver.username, names)
            groups.setdefault(base, CrossOrgLeaver(base, playbook)).runs.append((run, leaver))
        out += [g for g in groups.values() if len(g.orgs) > 1]
    return sorted(out, key=lambda g: (g.playbook or "", g.username))


def _cells(group: CrossOrgLeaver) -> list[str]:
    runs = "; ".join(f"{run.org_id or '?'}: run {run.run_id} ({run.status or 'unfinished'}"
                     f"{', deactivated ' + leaver.deactivated_at[:19] if leaver.deactivated_at else ''})"
                     for run, leaver in group.runs)
    return [group.username, group.playbook or "", str(len(group.orgs)), runs,
            "yes" if group.all_deactivated else "no"]


HEADER = ["Leaver", "Playbook", "Orgs", "Runs (org: run, status)", "Deactivated everywhere"]


def section(report: Report, fmt: str) -> str:
    """The "Leavers across orgs" section in ``markdown`` or ``html`` (empty when every leaver has one org)."""
    groups = leavers_across_orgs(report)
    if not groups:
        return ""
    if fmt == "markdown":
        lines = ["", "## Leavers across orgs", "", "| " + " | ".join(HEADER) + " |",
                 "|" + " --- |" * len(HEADER)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in _cells(g)) + " |" for g in groups]
        return "\n".join(lines) + "\n"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADER)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(g)) + "</tr>" for g in groups)
    return (f'<section id="across-orgs"><h2>Leavers across orgs</h2><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></section>\n")


def with_section(text: str, report: Report, fmt: str) -> str:
    """``text`` (a rendered report) with the cross-org section added at its end."""
    extra = section(report, fmt)
    if not extra:
        return text
    if fmt == "html" and "</body>" in text:
        return text.replace("</body>", extra + "</body>", 1)
    return text.rstrip("\n") + "\n" + extra
