"""Helpers shared by tests (importable by name: ``from localorg_support import connect``)."""

from __future__ import annotations

import os

import pytest
import requests

API_VERSION = "62.0"


def trusting_session(ca_bundle: str) -> requests.Session:
    """A ``requests.Session`` that trusts the local org's certificate and ignores REQUESTS_CA_BUNDLE."""
    session = requests.Session()
    session.verify = ca_bundle
    session.trust_env = False
    return session


def connect(server, version: str = API_VERSION):
    """A simple-salesforce client on a served local org, as its admin (API) user."""
    from simple_salesforce import Salesforce

    return Salesforce(instance_url=server.instance_url, session_id=server.access_token,
                      session=trusting_session(server.ca_bundle), version=version)


def sf_or_skip() -> list[str]:
    """The real Salesforce CLI's command line; skips when it is not installed, fails under CI."""
    from deprovision.org.sfcli import find_sf

    command = find_sf()
    if command is None:
        if os.environ.get("CI"):
            pytest.fail("the Salesforce CLI is not installed (scripts/install-sf-cli.sh)")
        pytest.skip("the Salesforce CLI is not installed (scripts/install-sf-cli.sh)")
    return command
