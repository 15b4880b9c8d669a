"""Benchmark the org export: API calls, wall time and peak memory of `deprovision export`.

Two scenarios, each against a local org served in its own process (``localorg serve --latency-ms``):

- demo: the demo org (every object it describes, its files);
- scale: a 5,000-user org with 1,000,000 owned records (``seed.build(store, "scale", ...)``, as
  ``deprovision localorg reset --seed scale`` builds it).

    python benchmarks/export_bench.py                       # both, 50 ms latency
    python benchmarks/export_bench.py --scenario demo
    python benchmarks/export_bench.py --scenario scale --records 200000 --latency-ms 0

The export runs as ``deprovision export --out DIR --format json`` in a subprocess, then ``export verify``.
API calls: the export's own count of HTTP calls, and the org's count (``/limits`` before and after,
which counts each Composite Batch subrequest). Memory: the child's ru_maxrss.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from apply_bench import Served, build_db, run_measured  # noqa: E402

MEMORY_TARGET_MB = 200


def demo_db(folder: Path) -> Path:
    from deprovision.localorg import seed

    path = folder / "demo.sqlite3"
    shutil.copyfile(seed.template("demo"), path)
    return path


def scenario(name: str, db: Path, latency_ms: int, work: Path, threads: int) -> dict:
    served = Served(db, latency_ms)
    env = {**os.environ, "NO_COLOR": "1", "DEPROVISION_PROFILE": "1",
           "SF_INSTANCE_URL": served.info["instance_url"], "SF_ACCESS_TOKEN": served.info["access_token"],
           "SF_CA_BUNDLE": served.info["ca_bundle"], "DEPROVISION_STATE_DIR": str(work / "state")}
    out = work / f"export-{name}"
    try:
        used0 = served.api_used()
        code, seconds, peak, stdout, stderr = run_measured(
            ["export", "--out", str(out), "--format", "json", "--threads", str(threads)], env, work)
        used1 = served.api_used()
        if code != 0:
            raise SystemExit(f"{name}: export failed ({code}): {stderr[-2000:]}")
        summary = json.loads(stdout)
        vcode, vseconds, vpeak, _, verr = run_measured(["export", "verify", str(out)], env, work)
        if vcode != 0:
            raise SystemExit(f"{name}: verify failed: {verr[-2000:]}")
        rcode, rseconds, _, rout, _ = run_measured(["export", "--out", str(out), "--format", "json"], env, work)
        again = json.loads(rout)
    finally:
        served.stop()
    return {"scenario": name, "latency_ms": latency_ms, "objects": summary["objects"], "rows": summary["rows"],
            "files": summary["files"], "bytes": summary["bytes"], "api_calls": summary["api_calls"],
            "org_counted_calls": used1 - used0 - 1, "seconds": round(seconds, 1), "peak_mb": peak,
            "calls_per_object": round(summary["api_calls"] / max(summary["objects"], 1), 2),
            "verify_seconds": round(vseconds, 1), "verify_peak_mb": vpeak,
            "rerun_seconds": round(rseconds, 1), "rerun_calls": again["api_calls"], "rerun_read": len(again["read"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=["demo", "scale", "both"], default="both")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--leavers", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "deprovision-bench")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="export-bench-") as tmp:
        work = Path(tmp)
        if args.scenario in ("demo", "both"):
            results.append(scenario("demo", demo_db(work), args.latency_ms, work, args.threads))
        if args.scenario in ("scale", "both"):
            db = build_db(args.cache, args.users, args.records, args.leavers)
            copy = work / "scale.sqlite3"
            shutil.copyfile(db, copy)
            results.append(scenario("scale", copy, args.latency_ms, work, args.threads))
    for r in results:
        ok = "ok" if r["peak_mb"] < MEMORY_TARGET_MB else f"OVER {MEMORY_TARGET_MB} MB"
        print(f"{r['scenario']}: {r['objects']} objects, {r['rows']:,} rows, {r['files']:,} files, "
              f"{r['bytes'] / 1e6:,.1f} MB; {r['api_calls']} API calls ({r['calls_per_object']}/object; "
              f"{r['org_counted_calls']} as the org counts), {r['seconds']} s, peak {r['peak_mb']} MB ({ok}); "
              f"verify {r['verify_seconds']} s / {r['verify_peak_mb']} MB; re-run {r['rerun_seconds']} s, "
              f"{r['rerun_calls']} calls, {r['rerun_read']} objects read; latency {r['latency_ms']} ms")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
