"""Benchmark of the local org's SOQL engine on a 1,000,000-row Account table.

Run: python benchmarks/soql_bench.py [--rows N] [--owners N]
Prints the time of an indexed IN query, COUNT(), a GROUP BY count, and streaming the whole table
(with the peak Python memory of the stream).
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
import tracemalloc
from pathlib import Path

from deprovision.localorg.ids import make_id
from deprovision.localorg.soql import compile_soql, create_tables, execute, iter_execute
from deprovision.org.soql import soql_in


def build(path: Path, rows: int, owners: int) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    create_tables(conn)
    stamp = "2026-01-01T00:00:00.000+0000"
    conn.executemany(
        'INSERT INTO "User" ("Id", "Username", "LastName", "Alias", "IsActive", "IsDeleted") VALUES (?,?,?,?,1,0)',
        ((make_id("005", n), f"user{n}@example.com", f"User {n}", f"u{n}") for n in range(1, owners + 1)),
    )
    conn.executemany(
        'INSERT INTO "Account" ("Id", "Name", "OwnerId", "Industry", "IsDeleted", "CreatedDate") '
        "VALUES (?, ?, ?, ?, 0, ?)",
        ((make_id("001", n), f"Account {n}", make_id("005", n % owners + 1), ("Tech", "Energy", None)[n % 3],
          stamp) for n in range(1, rows + 1)),
    )
    conn.commit()
    conn.execute("ANALYZE")
    return conn


def timed(label: str, fn, repeat: int = 3) -> object:
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    print(f"{label:<58} {best * 1000:10.1f} ms")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--owners", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        conn = build(Path(tmp) / "bench.db", args.rows, args.owners)
        print(f"built {args.rows:,} accounts, {args.owners:,} owners (with indexes) "
              f"in {time.perf_counter() - start:.1f} s")

        owner_ids = [make_id("005", n) for n in range(1, 11)]
        in_soql = f"SELECT Id, OwnerId FROM Account WHERE OwnerId IN {soql_in(owner_ids)}"
        plan = conn.execute("EXPLAIN QUERY PLAN " + compile_soql(in_soql).sql, compile_soql(in_soql).params)
        print("plan of the IN query:", "; ".join(row[-1] for row in plan))
        result = timed("SELECT Id, OwnerId ... WHERE OwnerId IN (10 owners)", lambda: execute(conn, in_soql))
        print(f"{'':<58} {result.total_size:>10,} records")
        timed("SELECT COUNT() FROM Account", lambda: execute(conn, "SELECT COUNT() FROM Account"))
        timed("SELECT COUNT() FROM Account WHERE OwnerId = one owner",
              lambda: execute(conn, f"SELECT COUNT() FROM Account WHERE OwnerId = '{owner_ids[0]}'"))
        groups = timed("SELECT OwnerId, COUNT(Id) FROM Account GROUP BY OwnerId",
                       lambda: execute(conn, "SELECT OwnerId, COUNT(Id) FROM Account GROUP BY OwnerId"))
        print(f"{'':<58} {groups.total_size:>10,} groups")
        timed("SELECT Id FROM Account WHERE Owner.Username = one user",
              lambda: execute(conn, "SELECT Id FROM Account WHERE Owner.Username = 'USER7@example.com'"))

        def stream() -> int:
            total, records = iter_execute(conn, "SELECT Id, Name, OwnerId FROM Account")
            n = sum(1 for _ in records)
            assert n == total
            return n

        n = timed("stream SELECT Id, Name, OwnerId FROM Account (all rows)", stream, repeat=1)
        tracemalloc.start()
        stream()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"{'':<58} {n:>10,} records, peak Python memory {peak / 1e6:.1f} MB")
        conn.close()


if __name__ == "__main__":
    main()
