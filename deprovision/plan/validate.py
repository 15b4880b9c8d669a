"""Validate a plan before apply writes anything: the plan's own shape, then its rules against the org.

A saved plan is a file anyone with access can edit. ``apply`` therefore checks the whole plan first and
refuses it (``PlanInvalid``, exit 2) naming the first problem and how many more, before the first write:

- structure (offline, plus the org's key prefixes from describeGlobal): known apply actions only, each in
  its own phase and object; well-formed ids (15 or 18 characters, checksum) of the right object for each
  action; only the fields the action writes; every change's target among the plan's users; successors
  that are users or queues and not leavers; a fingerprint that is present and covers every change (the
  stale-plan check then proves against the org that the rows it names are the targets' own);
- rules (against the org): the API user and the playbook's protected users (by username, id and profile,
  read from the org now) are never targeted, and ``limits.max_users`` holds.

The protect rules come from the plan (``Plan.rules``, format 2) or, for an older plan, from its playbook
when the file at the recorded path still has the recorded SHA-256.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deprovision.errors import InvalidInputError, OrgError
from deprovision.ids import all_valid, to18
from deprovision.ids import checksum as _checksum
from deprovision.plan.model import ACTIONS, Plan

# Rollback's own actions (it makes its plans itself): never in a plan apply is given.
ROLLBACK_ONLY = frozenset(a for a in ACTIONS if a in ("unfreeze", "reactivate") or a.startswith("restore_"))
APPLY_ACTIONS = frozenset(ACTIONS) - ROLLBACK_ONLY

# The object whose ids an action's record_ids hold (None: the change's own object; "": no ids expected).
RECORD_OBJECT: dict[str, str | None] = {
    "freeze": "UserLogin", "end_sessions": "AuthSession", "revoke_oauth_token": "",
    "reassign_owner": None, "clear_role": "User", "deactivate": "User",
    "repoint_manager": "User", "repoint_delegated_approver": "User", "repoint_hierarchy_field": "User",
}
# Actions whose one record is the target user themself.
SELF_ACTIONS = frozenset({"clear_role", "deactivate"})
# The one field a re-pointing change writes (apply writes ``after`` as it is).
REPOINT_FIELD = {"repoint_manager": "ManagerId", "repoint_delegated_approver": "DelegatedApproverId"}
# Fingerprint sections that name grant rows, by object.
FINGERPRINT_GRANTS = ("PermissionSetAssignment", "PermissionSetLicenseAssign", "GroupMember",
                      "UserPackageLicense", "UserTerritory2Association")
# Rows the fingerprint does not list: their holder is read from the org.
HOLDER_READS = {"AccountTeamMember": "UserId", "OpportunityTeamMember": "UserId"}
SHOWN_PROBLEMS = 10
OWNERSHIP_CHECK_MAX = 20_000  # planned reassigned records up to which each one's owner is read from the org
# User fields no re-pointing change may write, whatever the plan says.
PROTECTED_USER_FIELDS = frozenset({"Id", "IsActive", "ProfileId", "UserRoleId", "Username", "Email",
                                   "FederationIdentifier", "UserType", "ContactId"})




class PlanInvalid(InvalidInputError):
    """A plan apply refuses: the first problem in the message, the rest (a few) in ``details``."""

    def __init__(self, shown_as: str, problems: list[str]) -> None:
        more = len(problems) - 1
        tail = f" (and {more} more problem{'s' if more != 1 else ''})" if more else ""
        super().__init__(f"plan {shown_as} refused: {problems[0]}{tail}; nothing was written",
                         details=problems[1:1 + SHOWN_PROBLEMS])
        self.problems = problems


# --- ids -------------------------------------------------------------------------------------------

def id_problem(value: Any, prefixes: tuple[str, ...] = ()) -> str | None:
    """Why ``value`` is not a Salesforce id (with one of ``prefixes``), or None when it is one."""
    if not isinstance(value, str):
        return f"{value!r} is not an id"
    if len(value) not in (15, 18) or not value.isascii() or not value.isalnum():
        return f"{value!r} is not an id (15 or 18 letters and digits)"
    if len(value) == 18 and _checksum(value[:15]) != value[15:]:
        return f"{value!r} is not an id (checksum {value[15:]} should be {_checksum(value[:15])})"
    if prefixes and value[:3] not in prefixes:
        return f"{value!r} is not an id of {' or '.join(prefixes)}"
    return None


# --- rules -----------------------------------------------------------------------------------------

def rules_of(playbook: Any) -> dict[str, Any]:
    """The guards a plan carries from its playbook: protect rules and limits."""
    protect = playbook.protect
    return {"protect": {"usernames": sorted(protect.usernames), "ids": sorted(to18(i) for i in protect.ids),
                        "profiles": sorted(protect.profiles)},
            "limits": {"max_users": playbook.limits.max_users}}


def attach_rules(plan: Plan, playbook: Any) -> Plan:
    """``plan`` with its playbook's guards recorded (``Plan.rules``), so apply can re-check them."""
    plan.rules = rules_of(playbook)
    return plan


def plan_rules(plan: Plan, shown_as: str) -> dict[str, Any]:
    """The plan's rules; for a plan without them, its playbook's when that file still has its SHA-256."""
    if plan.rules:
        return plan.rules
    pb = plan.playbook or {}
    path, sha = pb.get("path"), pb.get("sha256")
    if path and sha:
        try:
            raw = Path(path).read_bytes()
        except OSError:
            raw = None
        if raw is not None and hashlib.sha256(raw).hexdigest() == sha:
            from deprovision.playbook import load_playbook

            return rules_of(load_playbook(Path(path), dict(plan.variables or {})))
    raise PlanInvalid(shown_as, [f"the plan carries no protect rules and its playbook {path or '(none)'} is not "
                                 "available with the SHA-256 it records: make the plan again"])


# --- the checks ------------------------------------------------------------------------------------

def key_prefixes(client: Any) -> dict[str, str]:
    """Object name -> key prefix, as the org's describeGlobal reports them (the org layer's schema)."""
    schema = getattr(client, "schema", None)
    if schema is not None:
        objects = schema.objects()
    else:  # a client without the schema service: describeGlobal itself
        try:
            objects = {o["name"]: o for o in (client.sf.describe() or {}).get("sobjects", [])}
        except Exception as exc:
            raise OrgError(f"could not describe the org's objects: {exc}") from None
    return {name: entry["keyPrefix"] for name, entry in objects.items() if entry.get("keyPrefix")}


def structure_problems(plan: Plan, prefixes: dict[str, str]) -> list[str]:
    """Everything wrong with the plan's own shape (no org reads beyond ``prefixes``)."""
    problems: list[str] = []
    user_prefix = (prefixes.get("User", "005"),)
    owner_prefixes = (prefixes.get("User", "005"), prefixes.get("Group", "00G"))
    users = {}
    for u in plan.users:
        bad = id_problem(u.id, user_prefix)
        if bad:
            problems.append(f"user {u.username}: id {bad}")
            continue
        if to18(u.id) in users:
            problems.append(f"user {u.username} ({u.id}) is listed twice")
        users[to18(u.id)] = u
    if not users and plan.changes:
        problems.append("the plan has changes but no users")
    fp = plan.fingerprint if isinstance(plan.fingerprint, dict) else {}
    if not fp:
        problems.append("the plan has no fingerprint, so apply cannot tell whether it is stale: make the plan again")
    else:
        covered = {to18(u) for u in fp.get("users", {}) if isinstance(u, str) and not id_problem(u)}
        for uid, u in users.items():
            if uid not in covered:
                problems.append(f"fingerprint does not cover user {u.username} ({u.id})")
        for uid in sorted(covered - set(users)):
            problems.append(f"fingerprint names user {uid}, who is not among the plan's users")
    logins = fp.get("logins") or {}
    holders = fp.get("holders") or {}
    grants = fp.get("grants") or {}
    owned = fp.get("owned") or {}
    dependants = fp.get("dependants") or {}
    reassigned: dict[tuple[str, str], int] = defaultdict(int)
    seen_ids: set[str] = set()
    for c in plan.changes:
        where = f"change {c.id!r}"
        if c.id in seen_ids:
            problems.append(f"{where} appears twice")
        seen_ids.add(c.id)
        if c.action not in APPLY_ACTIONS:
            known = "a rollback action, not one" if c.action in ROLLBACK_ONLY else "not an action"
            problems.append(f"{where}: {c.action!r} is {known} apply runs")
            continue
        phase, obj, _, _ = ACTIONS[c.action]
        if c.phase != phase:
            problems.append(f"{where}: action {c.action} runs in phase {phase}, not {c.phase!r}")
        if obj != "*" and c.object != obj:
            problems.append(f"{where}: action {c.action} writes {obj}, not {c.object!r}")
        bad = id_problem(c.user_id, user_prefix)
        if bad:
            problems.append(f"{where}: user_id {bad}")
            continue
        target = users.get(to18(c.user_id))
        if target is None:
            problems.append(f"{where}: its user {c.username or c.user_id} ({c.user_id}) is not among the plan's users")
            continue
        if c.username != target.username:
            problems.append(f"{where}: username {c.username!r} is not {target.username!r}, the user {c.user_id}")
        if not isinstance(c.record_ids, list):
            problems.append(f"{where}: record_ids must be a list")
            continue
        record_obj = RECORD_OBJECT.get(c.action, ACTIONS[c.action][1])
        if record_obj is None:
            record_obj = c.object
        if record_obj == "" and c.record_ids:
            problems.append(f"{where}: {c.action} takes no record ids")
        elif record_obj:
            prefix = prefixes.get(record_obj)
            if prefix is None:
                problems.append(f"{where}: the org has no object {record_obj!r}")
            elif not all_valid(c.record_ids, prefix):  # the million-id case at C speed; else which one
                for rid in c.record_ids:
                    bad = id_problem(rid, (prefix,))
                    if bad:
                        problems.append(f"{where}: record id {bad} ({record_obj})")
                        break
        if c.record_ids_ref and not c.record_ids:
            problems.append(f"{where}: its record-id file holds no ids for it")
        if c.action in SELF_ACTIONS and [to18(r) for r in c.record_ids if isinstance(r, str)] not in \
                ([], [to18(c.user_id)]):
            problems.append(f"{where}: {c.action} writes only its own user {c.user_id}")
        problems += _field_problems(c, where, owner_prefixes, user_prefix, users)
        if not fp:
            continue
        # coverage: what the stale-plan check re-reads must include every row the change writes
        if c.action == "freeze":
            for rid in c.record_ids:
                if rid not in logins or to18(str(holders.get(rid, ""))) != to18(c.user_id):
                    problems.append(f"{where}: fingerprint does not cover login {rid} of {c.username}")
                    break
        elif c.object in FINGERPRINT_GRANTS and c.action.startswith("remove_"):
            rows = grants.get(c.object) or {}
            for rid in c.record_ids:
                if rid not in rows or to18(str(holders.get(rid, ""))) != to18(c.user_id):
                    problems.append(f"{where}: fingerprint does not cover {c.object} {rid} of {c.username}")
                    break
        elif c.action == "reassign_owner":
            owners = (owned.get(c.object) or {}).get("owners") or {}
            if c.user_id not in owners:
                problems.append(f"{where}: fingerprint does not cover {c.object} owned by {c.username}")
            reassigned[(c.object, c.user_id)] += len(c.record_ids)
        elif c.action in REPOINT_FIELD:
            deps = dependants.get(REPOINT_FIELD[c.action]) or {}
            for rid in c.record_ids:
                if to18(str(deps.get(rid, ""))) != to18(c.user_id):
                    problems.append(f"{where}: fingerprint does not cover {REPOINT_FIELD[c.action]} of user {rid}")
                    break
    for (obj, uid), n in sorted(reassigned.items()):
        entry = ((owned.get(obj) or {}).get("owners") or {}).get(uid)
        count = entry[0] if isinstance(entry, list) and entry and isinstance(entry[0], int) else None
        if count is not None and n > count:
            problems.append(f"{n:,} {obj} records of {users[to18(uid)].username} reassigned, but the fingerprint "
                            f"counts {count:,}")
    return problems


def _field_problems(c: Any, where: str, owner_prefixes: tuple[str, ...], user_prefix: tuple[str, ...],
                    users: dict[str, Any]) -> list[str]:
    """What is wrong with the fields a change writes and its successor."""
    out: list[str] = []
    after = c.after if isinstance(c.after, dict) else None
    if after is None:
        return [f"{where}: after must be an object"]
    if c.action == "reassign_owner":
        owner = after.get("OwnerId") or (c.successor.id if c.successor else None)
        extra = sorted(set(after) - {"OwnerId"})
        if extra:
            out.append(f"{where}: reassign_owner writes only OwnerId, not {', '.join(extra)}")
        bad = id_problem(owner, owner_prefixes)
        if bad:
            out.append(f"{where}: new owner {bad}")
        elif to18(owner) in users:
            out.append(f"{where}: new owner {owner} leaves in this plan")
        if c.successor is not None and owner and c.successor.id != owner:
            out.append(f"{where}: new owner {owner} is not its successor {c.successor.id}")
    elif c.action in REPOINT_FIELD:
        field_name = REPOINT_FIELD[c.action]
        if set(after) != {field_name}:
            out.append(f"{where}: {c.action} writes only {field_name}, not {', '.join(sorted(after)) or 'nothing'}")
        else:
            bad = id_problem(after[field_name], user_prefix)
            if bad:
                out.append(f"{where}: new {field_name} {bad}")
            elif to18(after[field_name]) in users:
                out.append(f"{where}: new {field_name} {after[field_name]} leaves in this plan")
    elif c.action == "repoint_hierarchy_field":  # one User lookup to User, named in after
        names = sorted(after)
        if len(names) != 1 or names[0] in PROTECTED_USER_FIELDS:
            out.append(f"{where}: {c.action} writes one User lookup field, not {', '.join(names) or 'nothing'}")
        else:
            bad = id_problem(after[names[0]], user_prefix)
            if bad:
                out.append(f"{where}: new {names[0]} {bad}")
    if c.successor is not None:
        bad = id_problem(c.successor.id, owner_prefixes)
        if bad:
            out.append(f"{where}: successor {bad}")
    return out


USER_READ = "SELECT Id, Username, Profile.Name FROM User WHERE Id IN {ids}"
LOGIN_READ = "SELECT Id, UserId FROM UserLogin WHERE Id IN {ids}"


def _touched(plan: Plan) -> dict[str, str]:
    """User id -> why the plan touches that user: its users, its changes' users, the users a self action writes."""
    touched: dict[str, str] = {}
    for u in plan.users:
        if not id_problem(u.id):
            touched[to18(u.id)] = f"user {u.username}"
    for c in plan.changes:
        if isinstance(c.user_id, str) and not id_problem(c.user_id):
            touched.setdefault(to18(c.user_id), f"change {c.id!r}")
        if c.action in SELF_ACTIONS:
            for rid in c.record_ids or []:
                if isinstance(rid, str) and not id_problem(rid):
                    touched.setdefault(to18(rid), f"change {c.id!r}")
    return touched


def _holder_wanted(plan: Plan, obj: str) -> dict[str, Any]:
    return {r: c for c in plan.changes if c.object == obj for r in (c.record_ids or [])
            if isinstance(r, str) and not id_problem(r)}


def rule_reads(plan: Plan, objects: set[str] | None = None) -> dict[str, tuple[str, list[str]]]:
    """The org reads ``rule_problems`` makes, none depending on another, so they go out together
    (``read_many``): the planned logins' holders, the users the plan touches, the holders of team rows
    (``HOLDER_READS``) and, when bounded, the records the reassigned users own. Only a login that belongs
    to a user the plan does not name needs a read after these (that user's username and profile)."""
    reads: dict[str, tuple[str, list[str]]] = {}
    login_ids = [r for c in plan.changes if c.action == "freeze" for r in (c.record_ids or [])
                 if isinstance(r, str) and not id_problem(r)]
    if login_ids:
        reads["logins"] = (LOGIN_READ, sorted(set(login_ids)))
    touched = _touched(plan)
    if touched:
        reads["users"] = (USER_READ, sorted(touched))
    for obj, field_name in HOLDER_READS.items():
        wanted = _holder_wanted(plan, obj)
        if wanted:
            reads[f"holders:{obj}"] = (f"SELECT Id, {field_name} FROM {obj} WHERE Id IN {{ids}}", sorted(wanted))
    for obj, group in _owner_groups(plan, objects or set()).items():
        reads[f"owned:{obj}"] = (f"SELECT Id, OwnerId FROM {obj} WHERE OwnerId IN {{ids}}",
                                 sorted({to18(c.user_id) for c in group}))
    return reads


def read_many(client: Any, reads: dict[str, tuple[str, list[str]]]) -> dict[str, list[dict]]:
    """The rows of independent ``query_in`` reads, by name: through Composite (``query_in_many``, up to 5
    queries per API call) where the client has it, otherwise one read after another."""
    reads = {name: (template, list(values)) for name, (template, values) in reads.items() if values}
    if not reads:
        return {}
    if hasattr(client, "query_in_many"):
        return client.query_in_many(reads)
    return {name: list(client.query_in(template, values)) for name, (template, values) in reads.items()}


def rule_problems(client: Any, plan: Plan, rules: dict[str, Any], objects: set[str] | None = None,
                  rows: dict[str, list[dict]] | None = None) -> tuple[list[str], list[str]]:
    """The API user and protected users the plan would touch, read from the org now, and limits.max_users;
    then (apart) rows the plan writes under one user's name that belong to another.

    ``rows``: the answers of ``rule_reads(plan, objects)`` when the caller read them (with other reads);
    otherwise they are read here, together.
    """
    problems: list[str] = []
    protect = rules.get("protect") or {}
    names = {str(u).lower() for u in protect.get("usernames") or []}
    ids = {to18(str(i)) for i in protect.get("ids") or [] if not id_problem(i)}
    profiles = {str(p).lower() for p in protect.get("profiles") or []}
    limit = (rules.get("limits") or {}).get("max_users")
    if isinstance(limit, int) and len(plan.users) > limit:
        problems.append(f"{len(plan.users)} users, more than limits.max_users ({limit})")
    api = client.api_user
    api_id = to18(api.get("id") or "") if api.get("id") else ""
    if rows is None:
        rows = read_many(client, rule_reads(plan, objects))
    ownership: list[str] = []  # rows that are not their change's user's
    touched = _touched(plan)  # user id -> why it is touched
    known = set(touched)  # read with the others; a login's unexpected holder is read afterwards
    login_owner = {r["Id"]: r["UserId"] for r in rows.get("logins", [])}
    for c in plan.changes:
        if c.action != "freeze":
            continue
        for rid in c.record_ids or []:
            holder = login_owner.get(to18(rid)) or login_owner.get(rid)
            if holder is None:
                ownership.append(f"change {c.id!r}: login {rid} is not in the org")
            elif to18(holder) != to18(c.user_id):
                ownership.append(f"change {c.id!r}: login {rid} belongs to user {holder}, not to {c.username}")
                touched.setdefault(to18(holder), f"change {c.id!r}")
    ownership += _owner_problems(plan, objects or set(), rows)
    for obj, field_name in HOLDER_READS.items():
        wanted = _holder_wanted(plan, obj)
        if not wanted:
            continue
        found = {r["Id"]: r[field_name] for r in rows.get(f"holders:{obj}", [])}
        for rid, c in wanted.items():
            holder = found.get(to18(rid)) or found.get(rid)
            if holder is not None and to18(holder) != to18(c.user_id):
                ownership.append(f"change {c.id!r}: {obj} {rid} belongs to user {holder}, not to {c.username}")
    if api_id and api_id in touched:
        problems.append(f"{touched[api_id]} targets the API user {api.get('username') or api_id}, "
                        "who is always protected")
    if touched:
        user_rows = list(rows.get("users", []))
        extra = sorted(set(touched) - known)
        if extra:
            user_rows += list(client.query_in(USER_READ, extra))
        found_users = {to18(r["Id"]): r for r in user_rows}
        plan_names = {to18(u.id): u.username for u in plan.users if not id_problem(u.id)}
        for uid, why in touched.items():
            row = found_users.get(uid)
            if row is None:
                problems.append(f"{why}: user {uid} is not in the org")
                continue
            username = row.get("Username") or ""
            profile = (row.get("Profile") or {}).get("Name") or ""
            if uid in plan_names and plan_names[uid].lower() != username.lower():
                problems.append(f"{why}: user {uid} is {username} in the org, not {plan_names[uid]}")
            if uid == api_id:
                continue
            if username.lower() in names:
                problems.append(f"{why}: {username} is protected by protect.usernames")
            elif uid in ids:
                problems.append(f"{why}: {username} is protected by protect.ids")
            elif profile.lower() in profiles:
                problems.append(f"{why}: {username} is protected by protect.profiles ({profile})")
    return problems, ownership


def _owner_groups(plan: Plan, objects: set[str]) -> dict[str, list[Any]]:
    """The reassignments whose records are read by owner, by object (none above ``OWNERSHIP_CHECK_MAX``)."""
    changes = [c for c in plan.changes if c.action == "reassign_owner" and c.record_ids and c.object in objects
               and not id_problem(c.user_id)]
    if not changes or sum(len(c.record_ids) for c in changes) > OWNERSHIP_CHECK_MAX:
        return {}
    by_object: dict[str, list[Any]] = defaultdict(list)
    for c in changes:
        by_object[c.object].append(c)
    return dict(sorted(by_object.items()))


def _owner_problems(plan: Plan, objects: set[str], rows: dict[str, list[dict]]) -> list[str]:
    """Records a reassignment lists that its user does not own now (read from the org by owner).

    Bounded: above ``OWNERSHIP_CHECK_MAX`` planned records the check is left to the fingerprint's counts
    and to the plan's digest or HMAC (reading a million owners would cost hundreds of calls).
    """
    out: list[str] = []
    for obj, group in _owner_groups(plan, objects).items():
        owner_of = {to18(r["Id"]): to18(r["OwnerId"] or "") for r in rows.get(f"owned:{obj}", [])}
        for c in group:
            for rid in c.record_ids:
                if isinstance(rid, str) and not id_problem(rid) and owner_of.get(to18(rid)) != to18(c.user_id):
                    out.append(f"change {c.id!r}: {obj} {rid} is not owned by {c.username}")
                    break
    return out


def validate_plan(client: Any, plan: Plan, shown_as: str, *,
                  also: Callable[[], dict[str, tuple[str, list[str]]]] | None = None) -> dict[str, list[dict]]:
    """Refuse (PlanInvalid, exit 2) a plan with any problem; only reads the org (describeGlobal, users).

    ``also``: more independent reads (name -> ``query_in`` template and values), made once describeGlobal
    is read, sent in the same Composite calls as the rules' reads when the plan's shape is sound (the
    stale-plan check's, so that check costs no calls of its own); their rows are returned, by name.
    """
    prefixes = key_prefixes(client)
    shape = structure_problems(plan, prefixes)
    try:
        rules = plan_rules(plan, shown_as)
        missing = []
    except PlanInvalid as exc:
        missing, rules = exc.problems, {}
    reads = {("rule", name): read for name, read in rule_reads(plan, set(prefixes)).items()}
    if also is not None and not shape and not missing:
        try:
            more = also()
        except (AttributeError, KeyError, TypeError, ValueError):  # an odd plan: its own check reads for itself
            more = {}
        reads.update({("also", name): read for name, read in more.items()})
    keyed = dict(enumerate(reads))
    found = read_many(client, {f"r{i}": reads[key] for i, key in keyed.items()})
    rows: dict[str, dict[str, list[dict]]] = {"rule": {}, "also": {}}
    for i, (kind, name) in keyed.items():
        rows[kind][name] = found.get(f"r{i}", [])
    protected, ownership = rule_problems(client, plan, rules, set(prefixes), rows=rows["rule"])
    problems = protected + missing + shape + ownership  # protected users first
    if problems:
        raise PlanInvalid(shown_as, problems)
    return rows["also"]
