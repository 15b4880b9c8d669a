"""``--org sf:ALIAS`` token rules with a stand-in ``sf`` (the real CLI is tested in test_auth_local.py).

The stand-in plays CLIs of other ages: before May 2026 ``org display`` showed the token and
``org auth show-access-token`` did not exist; since then the display redacts it.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from deprovision.errors import InvalidInputError, OrgError
from deprovision.org.sfcli import cli_session, find_sf

DISPLAY = {"status": 0, "result": {"instanceUrl": "https://acme.my.salesforce.com", "username": "a@acme.com",
                                   "accessToken": "ACCESS"}}
NO_COMMAND = {"status": 1, "name": "CommandNotFoundError", "message": "command org:auth:show-access-token not found"}


def fake_sf(tmp_path: Path, display_token: str, show: dict) -> dict[str, str]:
    display = json.dumps({**DISPLAY, "result": {**DISPLAY["result"], "accessToken": display_token}})
    script = tmp_path / "sf"
    script.write_text(f"""#!/bin/sh
case "$1 $2" in
  "org display") echo '{display}' ;;
  "org auth") echo '{json.dumps(show)}'; [ "{show.get('status', 0)}" = "0" ] ;;
  *) echo '{{"status": 1, "name": "Unknown", "message": "unexpected"}}'; exit 1 ;;
esac
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {"SF_CLI": str(script), "PATH": "/usr/bin:/bin"}


def test_the_token_comes_from_show_access_token(tmp_path: Path) -> None:
    env = fake_sf(tmp_path, "[REDACTED] Use 'sf org auth show-access-token' to view",
                  {"status": 0, "result": {"accessToken": "00D000000000001!fresh"}})
    session = cli_session("prod", env)
    assert session.instance_url == "https://acme.my.salesforce.com"
    assert session.access_token == "00D000000000001!fresh"
    assert "fresh" not in repr(session)


def test_an_older_cli_falls_back_to_the_displayed_token(tmp_path: Path) -> None:
    env = fake_sf(tmp_path, "00D000000000001!legacy", NO_COMMAND)
    assert cli_session("prod", env).access_token == "00D000000000001!legacy"


def test_a_redacted_display_is_never_used_as_a_token(tmp_path: Path) -> None:
    env = fake_sf(tmp_path, "[REDACTED] Use 'sf org auth show-access-token' to view", NO_COMMAND)
    with pytest.raises(OrgError) as err:
        cli_session("prod", env)
    assert err.value.message.startswith("the Salesforce CLI gave no access token for 'prod'")
    assert err.value.details == ["sf org auth show-access-token failed: CommandNotFoundError: "
                                 "command org:auth:show-access-token not found"]


def test_no_cli_anywhere_is_invalid_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"PATH": str(tmp_path)}
    if find_sf(env) is not None:  # the repository's own .tools/sf is found next to the package
        pytest.skip("a Salesforce CLI is installed in .tools/sf")
    with pytest.raises(InvalidInputError, match="the Salesforce CLI \\(sf\\) was not found"):
        cli_session("prod", env)


def test_an_empty_alias_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="needs an alias"):
        cli_session("", {})
