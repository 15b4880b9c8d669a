"""Benchmark the dry run: API calls, time and peak memory of `deprovision plan`.

Two scenarios, each against a local org served in its own process:

- demo: ``playbooks/wind-down.yaml`` against the demo org (everyone but the protected admins);
- scale: 1,000 leavers (Department 'Leavers') in a 5,000-user org with 1,000,000 owned records
  (``seed.build(store, "scale", users=5000, records=1_000_000, leavers=1000)``).

    python benchmarks/plan_bench.py                  # both
    python benchmarks/plan_bench.py --scenario demo
    python benchmarks/plan_bench.py --scenario scale --records 200000 --leavers 200

The plan runs as ``deprovision plan PLAYBOOK --format json --out PLAN.json`` in a subprocess;
API calls come from its own count (stderr), memory from the child's ru_maxrss.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from deprovision.cli import main; main()"]

SCALE_PLAYBOOK = """\
version: 1
name: bench-scale-leavers
reason: "BENCH-1: 1,000 leavers"
users:
  where: "Department = 'Leavers' AND IsActive = true"
protect:
  usernames: [admin@acme.example, ops@acme.example]
limits:
  max_users: {leavers}
actions:
  freeze: true
  revoke:
    permission_sets: all
    permission_set_groups: all
    public_groups: all
    queues: all
    package_licenses: all
    oauth_tokens: all
    role: true
  reassign:
    default: {{to: manager, fallback: "user:ops@acme.example"}}
    objects:
      Account: {{}}
      Contact: {{}}
      Opportunity: {{}}
      Case: {{}}
      Task: {{}}
      Lead: {{}}
  deactivate: true
"""


def serve(db: Path, state: Path) -> tuple[subprocess.Popen, dict]:
    """Start ``deprovision localorg serve`` on ``db``; returns the process and its JSON line."""
    env = {**os.environ, "DEPROVISION_STATE_DIR": str(state)}
    proc = subprocess.Popen([*CLI, "localorg", "serve", "--db", str(db), "--port", "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line:
        raise SystemExit(f"localorg serve failed: {proc.stderr.read()}")
    return proc, json.loads(line)


def run_plan(playbook: Path, org: dict, workdir: Path) -> dict:
    env = {**os.environ, "DEPROVISION_STATE_DIR": str(workdir / "state"), "NO_COLOR": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run([*CLI, "plan", str(playbook), "--format", "json", "--out", str(workdir / "plan.json"),
                           "--instance-url", org["instance_url"], "--access-token", org["access_token"],
                           "--ca-bundle", org["ca_bundle"]],
                          env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode not in (0, 3):
        raise SystemExit(f"plan failed ({proc.returncode}): {proc.stderr[-2000:]}")
    calls = next((int(w) for line in proc.stderr.splitlines() if line.startswith("Read the org in")
                  for w in line.split() if w.isdigit()), -1)
    summary = next((line for line in proc.stderr.splitlines() if line.startswith("Plan:")), "")
    sidecar = workdir / "plan.json.records.gz"
    return {"seconds": round(elapsed, 2), "api_calls": calls, "summary": summary,
            "peak_rss_mb": round(max(peak, before) / 1024, 1),
            "plan_json_mb": round((workdir / "plan.json").stat().st_size / 1e6, 2),
            "sidecar_mb": round(sidecar.stat().st_size / 1e6, 2) if sidecar.exists() else 0}


def scenario(kind: str, options: dict, playbook_text: str | None, playbook: Path | None) -> dict:
    from deprovision.localorg import seed

    work = Path(tempfile.mkdtemp(prefix=f"plan-bench-{kind}-"))
    try:
        t0 = time.perf_counter()
        template = seed.template(kind, **options)
        build_s = time.perf_counter() - t0
        db = work / "org.sqlite3"
        shutil.copyfile(template, db)
        server, org = serve(db, work / "server-state")
        try:
            if playbook_text is not None:
                playbook = work / "bench.yaml"
                playbook.write_text(playbook_text, encoding="utf-8")
            assert playbook is not None
            result = run_plan(playbook, org, work)
        finally:
            server.terminate()
            server.wait(timeout=30)
        result["seed_build_seconds"] = round(build_s, 1)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=["demo", "scale", "both"], default="both")
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--leavers", type=int, default=1000)
    args = parser.parse_args()
    if args.scenario in ("demo", "both"):
        result = scenario("demo", {}, None, ROOT / "playbooks" / "wind-down.yaml")
        print(f"demo wind-down: {json.dumps(result)}", flush=True)
    if args.scenario in ("scale", "both"):
        options = {"users": args.users, "records": args.records, "leavers": args.leavers}
        result = scenario("scale", options, SCALE_PLAYBOOK.format(leavers=args.leavers), None)
        print(f"scale {options}: {json.dumps(result)}", flush=True)


if __name__ == "__main__":
    main()
