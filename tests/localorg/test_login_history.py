"""LoginHistory: every successful login through the token endpoint or SOAP leaves one row."""

from __future__ import annotations

from localorg_support import connect
from simple_salesforce import Salesforce
from test_server_oauth import login_session

from deprovision.localorg.seed.empty import (
    ADMIN_USERNAME,
    CONSUMER_KEY,
    CONSUMER_SECRET,
    DEMO_PASSWORD,
    DEMO_SECURITY_TOKEN,
)


def _rows(org) -> list[dict]:
    return connect(org).query_all("SELECT UserId, LoginTime, LoginType, Status FROM LoginHistory "
                                  "ORDER BY LoginTime")["records"]


def test_logins_are_recorded_and_query_only(empty_org):
    before = len(_rows(empty_org))
    Salesforce(username=ADMIN_USERNAME, password=DEMO_PASSWORD + DEMO_SECURITY_TOKEN, consumer_key=CONSUMER_KEY,
               consumer_secret=CONSUMER_SECRET, session=login_session(empty_org))
    Salesforce(username=ADMIN_USERNAME, password=DEMO_PASSWORD, security_token=DEMO_SECURITY_TOKEN,
               session=login_session(empty_org))
    rows = _rows(empty_org)[before:]
    assert [(r["LoginType"], r["Status"]) for r in rows] == [("Remote Access 2.0", "Success"), ("SOAP", "Success")]
    assert all(r["LoginTime"] and r["UserId"].startswith("005") for r in rows)
    describe = connect(empty_org).LoginHistory.describe()
    assert not describe["createable"] and not describe["deletable"] and not describe["updateable"]


def test_a_refused_login_leaves_no_success_row(empty_org):
    before = len(_rows(empty_org))
    try:
        Salesforce(username=ADMIN_USERNAME, password="wrong", security_token=DEMO_SECURITY_TOKEN,
                   session=login_session(empty_org))
    except Exception:  # noqa: BLE001 - the refusal itself is tested elsewhere
        pass
    assert len(_rows(empty_org)) == before
