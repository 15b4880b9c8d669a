"""``OrgClient.query_in_many`` / ``query_pages``: independent reads five to a Composite call, templates with
several ``{ids}`` slots, refusals answered per read or raised as ``query`` raises them."""

from __future__ import annotations

import pytest

from deprovision.errors import OrgError
from deprovision.org.client import OrgClient, in_soqls

from .conftest import ACCOUNTS


def _names(client: OrgClient, n: int) -> list[str]:
    return [f"Acct {i:03d}" for i in range(n)]


def test_reads_go_five_to_a_call_and_keep_their_rows(client: OrgClient) -> None:
    reads = {f"r{n}": ("SELECT Id, Name FROM Account WHERE Name IN {ids}", [f"Acct {n:03d}", f"Acct {n + 100:03d}"])
             for n in range(7)}
    before = client.api_calls
    got = client.query_in_many(reads)
    assert client.api_calls - before == 2  # 7 queries: 5 + 2
    assert {name: sorted(r["Name"] for r in rows) for name, rows in got.items()} == {
        name: sorted(values) for name, (_, values) in reads.items()}


def test_every_slot_of_a_template_receives_the_same_chunk(client: OrgClient) -> None:
    names = _names(client, ACCOUNTS)
    template = "SELECT Id, Name FROM Account WHERE Name IN {ids} OR Site IN {ids}"
    soqls = in_soqls(template, names)
    assert len(soqls) > 1 and all(s.count("'Acct 000'") in (0, 2) for s in soqls)
    got = client.query_in_many({"both": (template, names)})
    assert sorted(r["Name"] for r in got["both"]) == names


def test_a_refused_read_answers_its_error_without_a_second_call(client: OrgClient) -> None:
    before = client.api_calls
    got = client.query_in_many({"bad": ("SELECT NoSuchField__c FROM Account WHERE Name IN {ids}", ["Acct 001"]),
                                "good": ("SELECT Id FROM Account WHERE Name IN {ids}", ["Acct 001"])},
                               refused=("INVALID_FIELD",))
    assert client.api_calls - before == 1
    assert isinstance(got["bad"], OrgError) and got["bad"].error_code == "INVALID_FIELD"
    assert got["bad"].message.startswith("query failed: INVALID_FIELD: ")
    assert len(got["good"]) == 1


def test_any_other_refusal_is_read_again_alone_and_raised(client: OrgClient) -> None:
    before = client.api_calls
    with pytest.raises(OrgError) as err:
        client.query_in_many({"bad": ("SELECT NoSuchField__c FROM Account WHERE Name IN {ids}", ["Acct 001"])},
                             refused=("NOT_FOUND",))
    assert err.value.error_code == "INVALID_FIELD" and client.api_calls - before == 2
