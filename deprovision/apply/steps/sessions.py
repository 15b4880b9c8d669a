"""End sessions (delete ``AuthSession`` rows) and revoke OAuth tokens (``/services/oauth2/revoke`` with each
token's ``DeleteToken``, eight at a time). Both are read at execution time: sessions and tokens come and go."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from deprovision.apply.context import RunContext
from deprovision.apply.operations import Op
from deprovision.apply.writes import write
from deprovision.errors import OrgError
from deprovision.plan.model import Change

OAUTH_THREADS = 8


def token_key(delete_token: str) -> str:
    """The journal key of a token (a digest: the token itself never reaches the journal)."""
    return "token:" + hashlib.sha256(delete_token.encode()).hexdigest()[:24]


def _users_with(changes: list[Change], action: str) -> dict[str, list[Change]]:
    out: dict[str, list[Change]] = defaultdict(list)
    for c in changes:
        if c.action == action:
            out[c.user_id].append(c)
    return out


class SessionsStep:
    """``revoke_sessions``: AuthSession deletes, then OAuth revocations."""

    name = "revoke_sessions"

    def run(self, ctx: RunContext, changes: list[Change]) -> None:
        session_users = _users_with(changes, "end_sessions")
        token_users = _users_with(changes, "revoke_oauth_token")
        # keys handled by an earlier attempt (revoked tokens no longer show up in the org)
        for change in changes:
            for key in ctx.state.keys_of(change.id):
                if key != change.id and key not in ctx.keys.get(change.id, []):
                    ctx.keys.setdefault(change.id, []).append(key)
        sessions = []
        if session_users:
            sessions = list(ctx.reader.query_in(
                "SELECT Id, UsersId FROM AuthSession WHERE UsersId IN {ids}", sorted(session_users)))
        tokens = []
        if token_users:
            tokens = list(ctx.reader.query_in(
                "SELECT UserId, AppName, DeleteToken FROM OauthToken WHERE UserId IN {ids}", sorted(token_users)))
        ctx.progress.start_phase(self.name, len(sessions) + len(tokens))
        ops = []
        for s in sessions:
            change = session_users[s["UsersId"]][0]
            ops.append(Op(change, s["Id"], "AuthSession", "delete"))
            if s["Id"] not in ctx.keys.get(change.id, []):
                ctx.keys.setdefault(change.id, []).append(s["Id"])
        write(ctx, self.name, ctx.pending(ops))
        self._revoke_tokens(ctx, token_users, tokens)
        # a planned change with nothing left to do at execution time is skipped, with the reason
        batch = ctx.journal.next_batch_name(self.name, "nothing-left")
        for users, what in ((session_users, "no open sessions left"), (token_users, "token no longer present")):
            for user_changes in users.values():
                for change in user_changes:
                    if not ctx.keys.get(change.id):
                        ctx.keys[change.id] = [change.id]
                        if not ctx.state.is_done(change.id, change.id):
                            ctx.outcome(batch, change, change.id, "skipped", message=what)
        ctx.journal.sync()
        ctx.progress.end_phase(self.name, f"{ctx.oauth_calls} OAuth revocations")

    def _revoke_tokens(self, ctx: RunContext, token_users: dict[str, list[Change]],
                       tokens: list[dict[str, Any]]) -> None:
        work: list[tuple[Change, str, str]] = []
        for tok in tokens:
            delete_token = tok.get("DeleteToken")
            if not delete_token:
                continue
            user_changes = token_users.get(tok["UserId"], [])
            change = next((c for c in user_changes if tok.get("AppName") and
                           tok["AppName"] in (c.label, (c.before or {}).get("AppName"))), None)
            change = change or (user_changes[0] if user_changes else None)
            if change is None:
                continue
            key = token_key(delete_token)
            if key not in ctx.keys.get(change.id, []):
                ctx.keys.setdefault(change.id, []).append(key)
            if not ctx.state.is_done(change.id, key):
                work.append((change, key, delete_token))
        if not work:
            return
        batch = ctx.journal.next_batch_name(self.name, "oauth-revoke")
        ctx.journal.batch_started(batch, self.name, [(c.id, k) for c, k, _ in work], kind="revoke")

        def revoke(item: tuple[Change, str, str]):
            change, key, token = item
            try:
                return item, ctx.client.revoke_token(token)
            except OrgError as exc:
                return item, exc

        with ThreadPoolExecutor(max_workers=OAUTH_THREADS) as pool:
            for (change, key, _token), res in pool.map(revoke, work):
                ctx.oauth_calls += 1
                if isinstance(res, OrgError):
                    ctx.outcome(batch, change, key, "failed", res.error_code or "REVOKE_FAILED", res.message)
                elif res.success:
                    ctx.outcome(batch, change, key, "success")
                else:
                    ctx.outcome(batch, change, key, "failed", res.error_code, res.message)
                ctx.progress.advance(1)
        ctx.journal.batch_finished(batch)
        ctx.batches_in_step += 1
        ctx.maybe_crash(self.name)
