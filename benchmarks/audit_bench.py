"""Benchmark of the audit log: a one-million-event log, `audit verify` and `audit show --user` on it.

Run: python benchmarks/audit_bench.py [--events N] [--keep DIR] [--hmac]

1. Measures the writer itself (structlog processors, redaction, flock, write + fsync per event)
   on a small sample.
2. Generates a log of N events (default 1,000,000) in the writer's exact format (the same
   ``seal`` function, without fsync so generation takes seconds): runs of 40 leavers, each with
   freeze, OAuth revocation, ownership transfer, two permission-set removals and deactivation.
3. Times ``deprovision audit verify`` and ``deprovision audit show --user`` (one leaver, and one
   run's leavers by action) as separate processes, with their peak memory (ru_maxrss).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from deprovision.audit.chain import GENESIS, seal

USERS_PER_RUN = 40
ACTIONS = [
    ("freeze", "UserLogin", {"IsFrozen": False}, {"IsFrozen": True}),
    ("revoke_oauth_token", "OauthToken", {"AppName": "Dataloader"}, {}),
    ("reassign_owner", "Account", {"OwnerId": "005000000000777AAA"}, {"OwnerId": "005000000000002AAA"}),
    ("remove_permission_set", "PermissionSetAssignment", {"PermissionSet": "Sales_Extra"}, {}),
    ("remove_permission_set", "PermissionSetAssignment", {"PermissionSet": "API_Access"}, {}),
    ("deactivate", "User", {"IsActive": True}, {"IsActive": False}),
]


def generate(path: Path, count: int, key: bytes | None) -> dict:
    """Write ``count`` sealed events; returns facts about the log (a user to look for, its run)."""
    seq, prev, user_n = 0, GENESIS, 0
    run_n = 0
    second = 1_700_000_000
    sample_user = None
    with open(path, "w", encoding="utf-8") as out:
        while seq < count:
            run_n += 1
            run_id = f"20261126T{run_n:06d}Z-{run_n % 65536:04x}"
            context = {"run_id": run_id, "actor": {"id": "005000000000001AAA", "username": "admin@acme.example"},
                       "org_id": "00D000000000001AAA", "instance": "https://acme.my.salesforce.com",
                       "playbook": {"name": "monthly-leavers", "sha256": "ab" * 32},
                       "reason": f"HR-{4000 + run_n}: leavers", "variables": {}}
            users = []
            for _ in range(USERS_PER_RUN):
                user_n += 1
                users.append({"id": f"005{user_n:012d}AAA", "username": f"user{user_n:07d}@acme.example"})
            batch = [{"event": "run_started", "users": users, **context}]
            for user in users:
                for action, obj, before, after in ACTIONS:
                    batch.append({"event": "change_applied", **context, "target_user": user, "action": action,
                                  "object": obj, "record_ids": [f"0Pa{seq % 10**12:012d}AAA"], "record_count": 1,
                                  "before": before, "after": after, "outcome": "applied", "api_calls": 1})
            batch.append({"event": "run_finished", **context, "status": "succeeded"})
            for event in batch:
                if seq >= count:
                    break
                seq += 1
                second += 1
                event["ts"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)) + ".000000Z"
                event["seq"], event["prev"] = seq, prev
                line, prev = seal(event, key)
                out.write(line)
            if sample_user is None and run_n == 3:
                sample_user = users[17]["username"]
    return {"events": seq, "runs": run_n, "head": prev, "user": sample_user or "user0000001@acme.example",
            "run": "20261126T000002Z-0002"}


def time_cli(args: list[str], env: dict[str, str]) -> tuple[float, int, int, str]:
    """Wall seconds, exit code, peak RSS (MB) of ``deprovision ARGS``, and its last stderr line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", "from deprovision.cli import main; main()", *args],
                          capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    tail = (proc.stderr.strip().splitlines() or [""])[-1] or (proc.stdout.strip().splitlines() or [""])[-1]
    return seconds, proc.returncode, max(peak, before) // 1024, tail[:160]


def writer_rate(folder: Path, count: int = 2000) -> float:
    """Events per second through the real writer (processors, flock, write, fsync)."""
    from deprovision.audit import bind_run, configure_audit, get_logger, reset_audit

    configure_audit(folder / "writer.jsonl")
    bind_run(run_id="bench", actor={"id": "005000000000001AAA", "username": "admin@acme.example"}, reason="x")
    log = get_logger()
    start = time.perf_counter()
    for n in range(count):
        log.info("change_applied", target_user={"id": f"005{n:015d}", "username": f"u{n}@acme.example"},
                 action="freeze", object="UserLogin", record_ids=[f"0Yw{n:015d}"], before={"IsFrozen": False},
                 after={"IsFrozen": True}, outcome="applied", api_calls=1)
    rate = count / (time.perf_counter() - start)
    reset_audit()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="Write the log into this folder and keep it.")
    parser.add_argument("--hmac", action="store_true", help="Seal with an HMAC key and verify with it.")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="audit-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    key = b"bench-audit-key" if args.hmac else None
    env = {**os.environ, "DEPROVISION_STATE_DIR": str(folder)}
    env.pop("DEPROVISION_AUDIT_KEY", None)
    if key:
        env["DEPROVISION_AUDIT_KEY"] = key.decode()

    print(f"writer (processors + flock + write + fsync): {writer_rate(folder):,.0f} events/s")
    log = folder / "audit.jsonl"
    start = time.perf_counter()
    facts = generate(log, args.events, key)
    size_mb = log.stat().st_size / 1e6
    print(f"generated {facts['events']:,} events in {facts['runs']:,} runs, {size_mb:,.0f} MB, "
          f"in {time.perf_counter() - start:.1f}s")

    results = {}
    for name, cli_args in (
        ("audit verify", ["audit", "verify", str(log), "--expect-head", facts["head"]]),
        ("audit show --user", ["audit", "show", "--audit-log", str(log), "--user", facts["user"]]),
        ("audit show --user --format json", ["audit", "show", "--audit-log", str(log), "--user", facts["user"],
                                             "--format", "json"]),
        ("audit show --run --action deactivate", ["audit", "show", "--audit-log", str(log), "--run", facts["run"],
                                                  "--action", "deactivate"]),
        ("audit report --run (csv)", ["audit", "report", "--audit-log", str(log), "--run", facts["run"],
                                      "--format", "csv", "--out", str(folder / "report.csv")]),
    ):
        seconds, code, peak_mb, tail = time_cli(cli_args, env)
        results[name] = {"seconds": round(seconds, 2), "exit": code, "peak_rss_mb_so_far": peak_mb}
        print(f"{name:40s} {seconds:7.2f}s  exit {code}  peak RSS (children, cumulative max) {peak_mb} MB  | {tail}")
    print(json.dumps({"events": facts["events"], "log_mb": round(size_mb), **results}, indent=2))
    if not args.keep:
        for child in folder.rglob("*"):
            if child.is_file():
                child.unlink()


if __name__ == "__main__":
    main()
