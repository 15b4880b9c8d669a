"""The diff in every format: same words everywhere, blockers first, one summary line, HTML in Chromium."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from plan_factories import BOSS, NINA, accounts, book, clone, psa, snapshot

from deprovision.plan import compute_plan, render
from deprovision.plan.facts import TokenGroup
from deprovision.plan.render import summary_line

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from browser import dump_dom, is_blank, screenshot  # noqa: E402

T0 = "2026-11-26T10:00:00Z"


@pytest.fixture
def plan(tmp_path):
    snap = snapshot([NINA], owned=[accounts(NINA, 312), accounts(NINA, 2, "Case")],
                    grants=[psa(NINA, "Sales_Extra", 1)], tokens=[TokenGroup(NINA.id, "Mobile <App>", 2)])
    return compute_plan(book(tmp_path), snap, created_at=T0)


def test_text_uses_the_same_words_and_ends_with_one_summary(plan):
    text = render(plan, "text")
    assert "~ freeze login  (active → frozen)" in text
    assert "- remove permission set Sales_Extra  (assigned → removed)" in text
    assert "→ reassign 312 Account → Omar Haddad (manager)" in text
    assert "- revoke OAuth token Mobile <App>  (2 tokens → none)" in text
    assert "~ deactivate user  (active → inactive)" in text
    assert text.rstrip().splitlines()[-1] == "Plan: 1 user, 7 changes (314 records), 0 warnings."
    assert "\x1b[" not in text
    assert "\x1b[" in render(plan, "text", color=True)


def test_blocking_problems_come_first(tmp_path):
    pb = book(tmp_path, actions={"reassign": {"objects": {"Account": {}}}, "freeze": True})
    plan = compute_plan(pb, snapshot([clone(NINA, manager_id=None)], owned=[accounts(NINA, 1)]), created_at=T0)
    text = render(plan, "text")
    assert text.index("Blocking problems") < text.index("Nina Patel <nina.patel@acme.example>")
    assert summary_line(plan) == "Plan: 1 user, 1 change (0 records), 0 warnings, 1 blocking problem."


def test_markdown_has_a_table_per_user(plan):
    md = render(plan, "markdown")
    assert "## Nina Patel (`nina.patel@acme.example`)" in md
    assert "| reassign 312 Account → Omar Haddad (manager) (e.g. Account 0, Account 1, Account 2) | owner " in md
    assert md.rstrip().endswith("**Plan: 1 user, 7 changes (314 records), 0 warnings.**")


def test_json_is_the_plan_and_redacts_secrets(plan):
    data = json.loads(render(plan, "json"))
    assert data == json.loads(json.dumps(plan.to_dict()))
    plan.changes[0].before["DeleteToken"] = "secret-delete-token"
    assert "secret-delete-token" not in render(plan, "json")


def test_html_escapes_and_has_no_external_assets(plan):
    html = render(plan, "html")
    assert "Mobile &lt;App&gt;" in html and "Mobile <App>" not in html
    assert not re.search(r"(src|href)=", html)
    assert "@media print" in html


@pytest.mark.browser
def test_html_diff_renders_in_chromium(plan, tmp_path):
    page = tmp_path / "plan.html"
    page.write_text(render(plan, "html"), encoding="utf-8")
    png = screenshot(page, tmp_path / "plan.png")
    assert not is_blank(png)
    dom = dump_dom(page)
    assert "Nina Patel" in dom and "nina.patel@acme.example" in dom
    assert "reassign 312 Account → Omar Haddad (manager)" in dom
    assert BOSS.name in dom


def test_rollback_actions_read_as_the_reverse(plan):
    from deprovision.plan.model import ACTIONS, Change

    def change(action, **kw):
        return Change(id=action, action=action, phase=ACTIONS[action][0], user_id=NINA.id, username=NINA.username,
                      object=kw.pop("object", "User"), record_ids=kw.pop("record_ids", []),
                      before=kw.pop("before", {}), after=kw.pop("after", {}), **kw)

    plan.changes = [change("unfreeze"), change("restore_assignment", label="Sales_Extra"),
                    change("restore_role", label="Sales Rep"), change("reactivate"),
                    change("restore_owner", object="Account", record_ids=["001a", "001b"],
                           before={"OwnerId": BOSS.id})]
    text = render(plan, "text")
    assert "~ unfreeze login  (frozen → active)" in text
    assert "~ restore Sales_Extra  (removed → assigned)" in text
    assert "~ restore role Sales Rep  (no role → role Sales Rep)" in text
    assert "~ reactivate user  (inactive → active)" in text
    assert f"→ restore owner of 2 Account  (owner {BOSS.id} → owner nina.patel@acme.example)" in text
    assert summary_line(plan).startswith("Plan: 1 user, 5 changes (2 records)")
