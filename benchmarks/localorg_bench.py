"""Benchmarks of the local org server: start-up, one query page, a Bulk API 2.0 owner update.

    python benchmarks/localorg_bench.py [--bulk-rows 100000] [--skip-bulk]

Prints one line per figure. The bulk part builds a scale org (600,000 records) first.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

SERVE = [sys.executable, "-c", "from deprovision.cli import main; main()", "localorg", "serve"]


def _serve_once(state_dir: Path) -> float:
    """Seconds from launching ``deprovision localorg serve`` to its JSON line."""
    env = {**os.environ, "DEPROVISION_STATE_DIR": str(state_dir)}
    started = time.perf_counter()
    proc = subprocess.Popen(SERVE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - started
    json.loads(line)
    proc.terminate()
    proc.wait(timeout=30)
    return elapsed


def bench_startup(runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder)
        fresh = _serve_once(state)
        existing = [_serve_once(state) for _ in range(runs)]
    print(f"serve start-up, demo seed, new database (includes seeding): {fresh:.2f} s")
    print(f"serve start-up, existing database: median {statistics.median(existing):.2f} s over {runs} runs")


def bench_query_page(runs: int) -> None:
    from conftest import connect

    from deprovision.localorg import seed
    from deprovision.localorg.server import LocalOrgServer

    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "demo.sqlite3"
        shutil.copyfile(seed.template("demo"), db)
        with LocalOrgServer(db) as org:
            sf = connect(org)
            soql = "SELECT Id, FirstName, LastName, Email, OwnerId, Owner.Username, AccountId FROM Contact"
            firsts, mores = [], []
            for _ in range(runs):
                started = time.perf_counter()
                page = sf.query(soql)
                firsts.append(time.perf_counter() - started)
                assert len(page["records"]) == 2000
                started = time.perf_counter()
                more = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
                mores.append(time.perf_counter() - started)
                assert len(more["records"]) == 2000
    print(f"query, first page of 2,000 rows (7 fields, one relationship): median "
          f"{statistics.median(firsts) * 1000:.0f} ms over {runs} runs")
    print(f"query, next page of 2,000 rows (nextRecordsUrl): median {statistics.median(mores) * 1000:.0f} ms")


def bench_bulk_update(rows: int) -> None:
    from conftest import connect

    from deprovision.localorg import seed
    from deprovision.localorg.server import LocalOrgServer

    started = time.perf_counter()
    template = seed.template("scale", users=500, records=600_000, leavers=100)
    print(f"scale org (500 users, 600,000 records) built in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "scale.sqlite3"
        shutil.copyfile(template, db)
        with LocalOrgServer(db) as org:
            sf = connect(org)
            target = sf.query("SELECT Id FROM User WHERE Username LIKE 'ops@%'")["records"][0]["Id"]
            ids = [r["Id"] for r in sf.query_all_iter(f"SELECT Id FROM Contact ORDER BY Id LIMIT {rows}")]
            path = Path(folder) / "owners.csv"
            with path.open("w", newline="") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(["Id", "OwnerId"])
                writer.writerows([record_id, target] for record_id in ids)
            started = time.perf_counter()
            result = sf.bulk2.Contact.update(csv_file=str(path), wait=0)
            elapsed = time.perf_counter() - started
            moved = sf.query(f"SELECT COUNT() FROM Contact WHERE OwnerId = '{target}'")["totalSize"]
    processed = sum(r["numberRecordsProcessed"] for r in result)
    failed = sum(r["numberRecordsFailed"] for r in result)
    print(f"Bulk API 2.0 owner update of {rows:,} Contacts: {elapsed:.1f} s "
          f"({processed / elapsed:,.0f} rows/s), processed {processed:,}, failed {failed:,}, "
          f"now owned by the target: {moved:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bulk-rows", type=int, default=100_000)
    parser.add_argument("--skip-bulk", action="store_true")
    args = parser.parse_args()
    bench_startup(args.runs)
    bench_query_page(args.runs)
    if not args.skip_bulk:
        bench_bulk_update(args.bulk_rows)


if __name__ == "__main__":
    main()
