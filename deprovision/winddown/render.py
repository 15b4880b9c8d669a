"""The wind-down section of a plan in words: contract timeline, export estimate, licences freed."""

from __future__ import annotations

import html
from typing import Any

from deprovision.contract import Timeline, text_lines
from deprovision.export.progress import human_bytes

LICENCE_TITLES = {"UserLicense": "User licences", "PermissionSetLicense": "Permission set licences",
                  "PackageLicense": "Managed package licences"}


def timeline_of(data: dict[str, Any]) -> Timeline:
    return Timeline(**data)


def lines(facts: dict[str, Any], *, done: bool = False) -> list[tuple[str, list[str]]]:
    """(heading, lines) blocks, the same words in every format."""
    blocks: list[tuple[str, list[str]]] = []
    if facts.get("contract"):
        blocks.append(("Contract", text_lines(timeline_of(facts["contract"]))))
    export = facts.get("export")
    if export:
        out = [f"Before anything else, apply exports the whole org ({len(export['objects']):,} objects, "
               f"{export['rows']:,} rows, {export['files']:,} files, about {human_bytes(export['bytes'])}, "
               f"about {export['api_calls']:,} API calls) and verifies it; nothing is revoked or deactivated "
               f"until the export is complete and verified."]
        if export.get("uncounted"):
            out.append(f"Not counted (the org refused a COUNT): {', '.join(export['uncounted'][:10])}.")
        if export.get("skipped"):
            out.append(f"Left out: {', '.join(f'{k} ({v})' for k, v in sorted(export['skipped'].items())[:12])}.")
        blocks.append(("Org export", out))
    licences = facts.get("licences") or {}
    rows = []
    for obj, items in licences.items():
        for item in items:
            if item["total"] or item["used"]:
                verb = "freed" if done else "frees"
                rows.append(f"{LICENCE_TITLES.get(obj, obj)}: {item['name']}: {item['used']:,} of "
                            f"{item['total']:,} used → {item['used_after']:,} ({verb} {item['frees']:,})")
    if rows:
        blocks.append(("Licences (used of total, before → after)", rows))
    return blocks


def as_text(facts: dict[str, Any]) -> str:
    if not facts:
        return ""
    out = ["", "Wind-down:"]
    for heading, items in lines(facts):
        out.append(f"  {heading}:")
        out.extend(f"    {line}" for line in items)
    return "\n".join(out) + "\n"


def as_markdown(facts: dict[str, Any]) -> str:
    if not facts:
        return ""
    out = ["", "## Wind-down", ""]
    for heading, items in lines(facts):
        out.append(f"### {heading}")
        out.append("")
        out.extend(f"- {line}" for line in items)
        out.append("")
    return "\n".join(out)


def as_html(facts: dict[str, Any]) -> str:
    if not facts:
        return ""
    parts = ['<section id="wind-down"><h2>Wind-down</h2>']
    for heading, items in lines(facts):
        parts.append(f"<h3>{html.escape(heading)}</h3><ul>")
        parts.extend(f"<li>{html.escape(line)}</li>" for line in items)
        parts.append("</ul>")
    parts.append("</section>")
    return "".join(parts)


def with_section(rendered: str, facts: dict[str, Any], fmt: str) -> str:
    """A rendered plan with its wind-down section added (json carries it in the document already)."""
    if not facts or fmt == "json":
        return rendered
    if fmt == "html":
        return rendered.replace("</body>", as_html(facts) + "</body>", 1)
    return rendered + (as_markdown(facts) if fmt == "markdown" else as_text(facts))
