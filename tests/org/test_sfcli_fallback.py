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


def test_the_cli_is_looked_for_in_order(tmp_path: Path) -> None:
    assert find_sf({"PATH": str(tmp_path)}, roots=[tmp_path]) is None
    wrapper = tmp_path / ".tools" / "sf" / "sf"
    wrapper.parent.mkdir(parents=True)
    wrapper.write_text("#!/bin/sh\n")
    wrapper.chmod(0o755)
    assert find_sf({"PATH": str(tmp_path)}, roots=[tmp_path]) == [str(wrapper)]
    on_path = tmp_path / "bin" / "sf"
    on_path.parent.mkdir()
    on_path.write_text("#!/bin/sh\n")
    on_path.chmod(0o755)
    assert find_sf({"PATH": str(on_path.parent)}, roots=[tmp_path]) == [str(on_path)]
    assert find_sf({"PATH": str(on_path.parent), "SF_CLI": "/opt/sf/bin/sf"}, roots=[tmp_path]) == ["/opt/sf/bin/sf"]


def test_a_cli_that_cannot_start_is_an_org_error(tmp_path: Path) -> None:
    with pytest.raises(OrgError, match="sf org display could not be started"):
        cli_session("prod", {"SF_CLI": str(tmp_path / "missing-sf"), "PATH": ""})


def test_an_empty_alias_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="needs an alias"):
        cli_session("", {})
