"""Apply a plan to an org (the only writer), verify a run, roll a run back, list runs.

```python
apply_plan(client, plan, run_dir, *, progress) -> RunResult
verify_run(client, run_dir) -> list[str]
plan_rollback(client, run_dir) -> Plan
```
"""
