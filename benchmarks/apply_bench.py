"""Benchmarks B1 and S60k: plan and apply against a served scale org, final owners checked against the plan.

B1: 1,000 leavers in a 5,000-user, 1,000,000-record org. S60k: 50 leavers whose records go to their
managers (10 distinct successors), 60,000 records over six objects.

The local org is served in a separate process (``deprovision localorg serve --latency-ms 50``); the
``deprovision`` process runs ``plan --out`` and then ``apply PLAN.json --yes``. For each it prints
REST API calls (read from the org's own counter), OAuth revocations (apart), wall time, time until
every login was frozen (from the start of the apply process), and peak memory (ru_maxrss).

    python benchmarks/apply_bench.py                 # B1 and the small scenario
    python benchmarks/apply_bench.py --scenario small
    python benchmarks/apply_bench.py --scenario S60k
    python benchmarks/apply_bench.py --latency-ms 0 --users 5000 --records 1000000 --leavers 1000

Targets for B1: apply within 300 REST API calls, all logins frozen within 5 s, peak memory <= 400 MB.
Targets for S60k: plan + apply <= 80 API calls together, apply < 15 s, peak memory < 150 MB.
After apply every reassigned record's owner is compared with the owner the plan named (row by row).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import requests

SCENARIOS = {
    "small": {"users": 500, "records": 5_000, "leavers": 10},
    "B1": {"users": 5_000, "records": 1_000_000, "leavers": 1_000},
    "S60k": {"users": 500, "records": 60_000, "leavers": 50},  # 500 users: the scale seed's 10 managers
}
TARGETS = {"S60k": {"calls": 80, "apply_seconds": 15.0, "peak_mb": 150}}

PLAYBOOK = """\
version: 1
name: bench-leavers
reason: "BENCH-1: leavers benchmark"
users:
  where: "Department = 'Leavers' AND IsActive = true"
limits:
  max_users: {max_users}
actions:
  freeze: true
  revoke:
    permission_sets: all
    permission_set_groups: all
    permission_set_licenses: all
    public_groups: all
    queues: all
    package_licenses: all
    oauth_tokens: all
    territories: all
    role: true
  reassign:
    default: {{to: manager, fallback: "user:ops@acme.example"}}
    objects:
{objects}
  deactivate: true
"""


def _seed_version() -> str:
    """A digest of what shapes a seeded org (seed code, schema, standard objects): a cached org built by
    other code is not reused."""
    import hashlib

    import deprovision.localorg as localorg

    root = Path(localorg.__file__).parent
    digest = hashlib.sha256()
    for path in sorted([*root.glob("seed/*.py"), root / "schema.py", *root.glob("data/*")]):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:10]


def build_db(folder: Path, users: int, records: int, leavers: int) -> Path:
    """A scale org database (cached per size under ``folder``)."""
    from deprovision.localorg import seed
    from deprovision.localorg.store import Store

    path = folder / f"scale-{users}-{records}-{leavers}-{_seed_version()}.sqlite3"
    if path.exists():
        return path
    t0 = time.monotonic()
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    store = Store.open(tmp)
    seed.build(store, "scale", users=users, records=records, leavers=leavers)
    store.close()
    os.replace(tmp, path)
    print(f"  seeded {path.name} in {time.monotonic() - t0:.0f}s", file=sys.stderr)
    return path


def owned_objects(db: Path) -> list[str]:
    """Objects with records owned by someone in the seeded org (what the playbook reassigns)."""
    import sqlite3

    from deprovision.localorg.schema import OBJECTS

    conn = sqlite3.connect(db)
    out = []
    for spec in OBJECTS:
        if spec.setup or not spec.has_owner or spec.name in ("Report",):
            continue
        try:
            if conn.execute(f'SELECT 1 FROM "{spec.name}" LIMIT 1').fetchone():
                out.append(spec.name)
        except sqlite3.Error:
            continue
    conn.close()
    return out


def check_owners(db: Path, run_dir: Path) -> dict:
    """Every reassigned record's owner in the org's database against the owner the plan named."""
    import sqlite3
    from collections import defaultdict

    from deprovision.apply.runs import RunFolder

    plan = RunFolder(run_dir).read_plan()
    planned: dict[str, dict[str, str]] = defaultdict(dict)
    for c in plan.changes:
        if c.action == "reassign_owner":
            for rid in c.record_ids:
                planned[c.object][rid] = c.after["OwnerId"]
    conn = sqlite3.connect(db)
    wrong = 0
    successors: dict[str, int] = {}
    for obj, want in planned.items():
        now = dict(conn.execute(f'SELECT "Id", "OwnerId" FROM "{obj}"'))
        wrong += sum(1 for rid, owner in want.items() if now.get(rid) != owner)
        successors[obj] = len(set(want.values()))
    conn.close()
    return {"records": sum(len(w) for w in planned.values()), "wrong": wrong, "successors": successors}


class Served:
    """``deprovision localorg serve`` in its own process."""

    def __init__(self, db: Path, latency_ms: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from deprovision.cli import main; main()", "localorg", "serve", "--db", str(db),
             "--latency-ms", str(latency_ms)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        self.info = json.loads(line)
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.verify = self.info["ca_bundle"]

    def api_used(self) -> int:
        """Calls the org has counted so far (the read itself is one more)."""
        r = self.http.get(f"{self.info['instance_url']}/services/data/v62.0/limits",
                          headers={"Authorization": f"Bearer {self.info['access_token']}"})
        daily = r.json()["DailyApiRequests"]
        return daily["Max"] - daily["Remaining"]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def call_kind(method: str, path: str) -> str:
    """A counted call's kind, for ``--calls-by-kind``."""
    rest = re.sub(r"^/services/data/v[\d.]+/", "", path).strip("/")
    parts = rest.split("/")
    if parts[:2] == ["jobs", "ingest"] or parts[:2] == ["jobs", "query"]:
        kind = f"bulk {parts[1]}"
        if len(parts) == 2:
            return f"{kind} create" if method == "POST" else f"{kind} list"
        if len(parts) == 3:
            return {"GET": f"{kind} poll", "PATCH": f"{kind} close/abort", "DELETE": f"{kind} delete"}.get(
                method, f"{kind} {method}")
        return f"{kind} {parts[3]}"
    if parts[0] in ("query", "queryAll"):
        return "query (more)" if len(parts) > 1 else "query"
    if parts[:2] == ["composite", "sobjects"]:
        return f"collections {method}"
    if parts[0] == "composite":
        return f"composite{'/' + parts[1] if len(parts) > 1 else ''}"
    if parts[0] == "sobjects":
        return "describe" if parts[-1] == "describe" or len(parts) == 1 else f"sobject {method}"
    return f"{method} {parts[0]}"


def calls_by_kind(log: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    if log.exists():
        for line in log.read_text().splitlines():
            n, method, path, _query = (line.split("\t") + [""])[:4]
            kind = call_kind(method, path)
            out[kind] = out.get(kind, 0) + int(n)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def run_measured(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, float, int, str, str]:
    """Run ``deprovision ARGS``; (exit code, seconds, peak RSS in MB, stdout, stderr)."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-c", "from deprovision.cli import main; main()", *args],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=cwd, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - t0
        out.seek(0)
        err.seek(0)
        return proc.returncode, seconds, usage.ru_maxrss // 1024, out.read(), err.read()


def scenario(name: str, users: int, records: int, leavers: int, latency_ms: int, cache: Path,
             keep: bool = False, verbose: bool = False, by_kind: bool = False) -> dict:
    print(f"{name}: {leavers} leavers, {users} users, {records:,} records, latency {latency_ms} ms",
          file=sys.stderr)
    template = build_db(cache, users, records, leavers)
    work = Path(tempfile.mkdtemp(prefix=f"apply-bench-{name}-"))
    db = work / "org.sqlite3"
    shutil.copyfile(template, db)
    objects = owned_objects(db)
    pb = work / "leavers.yaml"
    pb.write_text(PLAYBOOK.format(max_users=leavers + 10,
                                  objects="\n".join(f"      {o}: {{}}" for o in objects)))
    saved_plan = cache / f"plan-{template.stem}.json"
    served = Served(db, latency_ms)
    state = work / "state"
    env = {**os.environ, "NO_COLOR": "1", "SF_INSTANCE_URL": served.info["instance_url"],
           "SF_ACCESS_TOKEN": served.info["access_token"], "SF_CA_BUNDLE": served.info["ca_bundle"],
           "DEPROVISION_STATE_DIR": str(state)}
    logs = {phase: cache / f"calls-{name}-{phase}.log" for phase in ("plan", "apply")}  # kept for reading
    for log in logs.values():
        log.unlink(missing_ok=True)
    result: dict = {"scenario": name, "leavers": leavers, "users": users, "records": records,
                    "latency_ms": latency_ms}
    try:
        used0 = served.api_used()
        if keep and saved_plan.exists():  # --keep: reuse the plan made by an earlier run (same org template)
            for src in cache.glob(saved_plan.name + "*"):
                shutil.copyfile(src, work / src.name.replace(saved_plan.name, "plan.json"))
            code, secs, rss = 0, 0.0, 0
        else:
            code, secs, rss, _out, err = run_measured(
                ["plan", str(pb), "--out", str(work / "plan.json")],
                {**env, "DEPROVISION_CALL_LOG": str(logs["plan"])} if by_kind else env, work)
        used1 = served.api_used()
        if code not in (0, 3):
            raise SystemExit(f"plan failed ({code}): {err[-2000:]}")
        if keep:
            for src in work.glob("plan.json*"):
                shutil.copyfile(src, cache / src.name.replace("plan.json", saved_plan.name))
        plan = json.loads((work / "plan.json").read_text())
        result["plan"] = {"api_calls": used1 - used0 - 1, "seconds": round(secs, 1), "peak_mb": rss,
                          "changes": len(plan["changes"]),
                          "records": sum(c.get("count") or len(c["record_ids"]) for c in plan["changes"]
                                         if c["action"] == "reassign_owner")}
        started = datetime.now().astimezone()
        code, secs, rss, out, err = run_measured(
            ["apply", str(work / "plan.json"), "--yes", "--format", "json"],
            {**env, "DEPROVISION_CALL_LOG": str(logs["apply"])} if by_kind else env, work)
        used2 = served.api_used()
        if verbose:
            print(err[-6000:], file=sys.stderr)
        if code not in (0, 1):
            raise SystemExit(f"apply failed ({code}): {err[-2000:]}")
        run = json.loads(out)
        journal = state / "runs" / run["run_id"] / "journal.jsonl"
        frozen_at = None
        for line in journal.read_text().splitlines():
            entry = json.loads(line)
            if entry.get("k") == "phase_finished" and entry.get("phase") == "freeze":
                frozen_at = datetime.fromisoformat(entry["t"].replace("Z", "+00:00"))
                break
        result["apply"] = {
            "api_calls": used2 - used1 - 1, "api_calls_client": run["api_calls"], "oauth_calls": run["oauth_calls"],
            "seconds": round(secs, 1), "peak_mb": rss, "status": run["status"],
            "time_to_freeze_from_process_start": round((frozen_at - started).total_seconds(), 2) if frozen_at else None,
            "time_to_freeze_from_executor_start": run["time_to_freeze"],
            "changes_applied": run["applied"], "records_applied": run["records_applied"], "failed": run["failed"],
        }
        result["owners"] = check_owners(db, state / "runs" / run["run_id"])
        if by_kind:
            result["plan"]["calls_by_kind"] = calls_by_kind(logs["plan"])
            result["apply"]["calls_by_kind"] = calls_by_kind(logs["apply"])
    finally:
        served.stop()
        shutil.rmtree(work, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=["all", *SCENARIOS], default="all")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--users", type=int)
    parser.add_argument("--records", type=int)
    parser.add_argument("--leavers", type=int)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "deprovision-bench")
    parser.add_argument("--keep", action="store_true", help="reuse (or save) the plan of the cached org")
    parser.add_argument("--verbose", action="store_true", help="show the apply's progress lines")
    parser.add_argument("--calls-by-kind", action="store_true",
                        help="break the API calls of plan and apply down by kind (the client's own log)")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    names = ["small", "B1"] if args.scenario == "all" else [args.scenario]
    results = []
    for name in names:
        size = dict(SCENARIOS[name])
        for key in ("users", "records", "leavers"):
            if getattr(args, key):
                size[key] = getattr(args, key)
        results.append(scenario(name, latency_ms=args.latency_ms, cache=args.cache, keep=args.keep,
                                verbose=args.verbose, by_kind=args.calls_by_kind, **size))
    for r in results:
        p, a = r["plan"], r["apply"]
        print(f"\n{r['scenario']}: {r['leavers']} leavers / {r['users']} users / {r['records']:,} records, "
              f"latency {r['latency_ms']} ms")
        print(f"  plan : {p['api_calls']:>5} API calls  {p['seconds']:>7.1f} s  peak {p['peak_mb']:>4} MB  "
              f"({p['changes']:,} changes, {p['records']:,} records)")
        print(f"  apply: {a['api_calls']:>5} API calls  {a['seconds']:>7.1f} s  peak {a['peak_mb']:>4} MB  "
              f"+ {a['oauth_calls']} OAuth revocations; all logins frozen after "
              f"{a['time_to_freeze_from_process_start']} s (executor: {a['time_to_freeze_from_executor_start']} s); "
              f"status {a['status']}, {a['records_applied']:,} records")
        for phase, figures in (("plan", p), ("apply", a)):
            if "calls_by_kind" in figures:
                print(f"  {phase} calls by kind: " + ", ".join(f"{k} {n}" for k, n in figures["calls_by_kind"].items()))
        o = r["owners"]
        print(f"  owners: {o['records']:,} reassigned records checked against the plan, {o['wrong']} not with "
              f"their planned owner; successors per object {o['successors']}")
        target = TARGETS.get(r["scenario"])
        if target:
            calls = p["api_calls"] + a["api_calls"]
            ok = (calls <= target["calls"] and a["seconds"] < target["apply_seconds"]
                  and max(p["peak_mb"], a["peak_mb"]) < target["peak_mb"] and o["wrong"] == 0)
            print(f"  targets: plan + apply {calls} API calls (<= {target['calls']}), apply {a['seconds']} s "
                  f"(< {target['apply_seconds']}), peak {max(p['peak_mb'], a['peak_mb'])} MB (< {target['peak_mb']}): "
                  f"{'met' if ok else 'NOT met'}")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
