"""Mangled SOQL never crashes the engine: every failure is a Salesforce error, never a Python or SQLite one."""

from __future__ import annotations

import random
import sqlite3

from test_soql_data import build_small_org

from deprovision.localorg.errors import SalesforceError
from deprovision.localorg.soql import column_metadata, execute

SEEDS = [
    "SELECT Id, Name, Owner.Username, Owner.Manager.Name FROM Account WHERE Name LIKE 'a%' ORDER BY Name DESC "
    "NULLS LAST LIMIT 5 OFFSET 1",
    "SELECT OwnerId, COUNT(Id) n, MAX(AnnualRevenue) FROM Account WHERE CreatedDate = LAST_N_DAYS:30 "
    "GROUP BY OwnerId HAVING COUNT(Id) > 1 ORDER BY COUNT(Id) DESC",
    "SELECT Id FROM User WHERE Id IN (SELECT AssigneeId FROM PermissionSetAssignment WHERE "
    "PermissionSet.IsOwnedByProfile = false) AND (IsActive = true OR Alias NOT IN ('a', 'b'))",
    "SELECT Id, What.Name, Who.Type FROM Task WHERE ActivityDate > 2026-01-01 AND NOT (Subject = 'x\\'y')",
    "SELECT COUNT() FROM Case WHERE Owner.Type = 'Queue' AND CreatedDate < 2026-11-01T00:00:00+02:00",
]
PIECES = ["SELECT", "FROM", "WHERE", "(", ")", ",", "'", "\\", "=", "!=", "<>", "IN", "NOT", "AND", "OR", "LIKE",
          "null", "true", "2026-01-01", "2026-01-01T00:00:00Z", "LAST_N_DAYS:", ":", "COUNT(", "Owner.", ".", "Id",
          "GROUP BY", "HAVING", "ORDER BY", "LIMIT", "-1", "1e9", "'%'", "\\%", "\"", "\u2603", "\x00", ";", "--",
          "99999999999999999999999", "2026-13-45", "2026-02-30T25:00:00Z", "'\\uD800'", "LAST_N_DAYS:2147483647",
          "OFFSET 2001", "\ud800"]


def mangle(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        pos = rng.randrange(len(chars) + 1)
        action = rng.random()
        if action < 0.4 and chars:
            del chars[pos:pos + rng.randint(1, 8)]
        elif action < 0.8:
            chars[pos:pos] = list(" " + rng.choice(PIECES) + " ")
        else:
            start = rng.randrange(len(chars) or 1)
            chars[pos:pos] = chars[start:start + rng.randint(1, 20)]
    return "".join(chars)


def test_mangled_queries_fail_only_with_salesforce_errors():
    conn = sqlite3.connect(":memory:")
    build_small_org(conn)
    rng = random.Random(20261126)
    outcomes = {"ok": 0, "error": 0}
    for i in range(3000):
        soql = mangle(rng, SEEDS[i % len(SEEDS)])
        try:
            execute(conn, soql)
            column_metadata(soql)
            outcomes["ok"] += 1
        except SalesforceError as e:
            assert e.error_code and e.message, soql
            outcomes["error"] += 1
        except Exception as e:  # the point of the test: nothing else may escape
            raise AssertionError(f"{type(e).__name__}: {e} for {soql!r}") from e
    assert outcomes["ok"] > 10 and outcomes["error"] > 1000  # both paths were exercised
