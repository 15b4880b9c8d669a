"""``compute_plan``: playbook + snapshot -> Plan. Pure: no I/O, no clock.

The plan lists every change in phase order with stable ids, so two dry runs
of the same playbook against the same org give the same plan (apart from
``created_at``). Problems that stop a plan are blocking warnings; the
command line refuses such a plan with exit 2 after showing it.
"""

from __future__ import annotations

from dataclasses import dataclass

from deprovision.ids import to18
from deprovision.plan.facts import Dependant, Grant, OrgUser, OwnedSet, Snapshot
from deprovision.plan.fingerprint import fingerprint_of
from deprovision.plan.licences import cannot_own
from deprovision.plan.model import ACTIONS, PHASES, Change, Plan, PlanUser, Successor, Warning
from deprovision.playbook.model import Playbook, ReassignRule
from deprovision.playbook.yamldoc import format_path

EXAMPLES_PER_CHANGE = 3

# revoke list key -> remove action
REVOKE_KINDS: dict[str, str] = {
    "permission_sets": "remove_permission_set",
    "permission_set_groups": "remove_permission_set_group",
    "permission_set_licenses": "remove_permission_set_license",
    "public_groups": "remove_public_group",
    "queues": "remove_queue",
    "package_licenses": "remove_package_license",
    "territories": "remove_territory",
}
_KIND_WORDS = {
    "permission_sets": "permission set",
    "permission_set_groups": "permission set group",
    "permission_set_licenses": "permission set licence",
    "public_groups": "public group",
    "queues": "queue",
    "package_licenses": "package licence (namespace)",
    "territories": "territory",
}
# dependant kind -> the User field re-pointed (actions repoint_manager, repoint_delegated_approver)
REPOINT_FIELDS = {"manager": "ManagerId", "delegated_approver": "DelegatedApproverId"}
REPOINT_ACTIONS = {"manager": "repoint_manager", "delegated_approver": "repoint_delegated_approver"}
# revoke list key -> the object that is missing from describeGlobal when the feature is off
FEATURE_OBJECTS = {"territories": "UserTerritory2Association", "package_licenses": "UserPackageLicense",
                   "permission_set_groups": "PermissionSetGroup",
                   "permission_set_licenses": "PermissionSetLicenseAssign"}
_ACTION_ORDER = {name: i for i, name in enumerate(ACTIONS)}
_PHASE_ORDER = {name: i for i, name in enumerate(PHASES)}


@dataclass
class _Resolution:
    successor: Successor | None
    notes: list[str]  # why candidates were passed over
    chain: list[str] | None = None  # usernames followed through leavers
    invalid: bool = False  # the rule itself is wrong (reported as a playbook problem)


class _Planner:
    def __init__(self, playbook: Playbook, snapshot: Snapshot) -> None:
        self.pb = playbook
        self.snap = snapshot
        self.warnings: list[Warning] = []
        self.changes: list[Change] = []
        self.leaving: set[str] = set()
        self.notes: dict[tuple[str, str, str, str], list[str]] = {}
        self.protected_profiles = {p.lower() for p in playbook.protect.profiles}
        self.protected_usernames = {u.lower() for u in playbook.protect.usernames}
        self.protected_ids = {to18(i) for i in playbook.protect.ids}
        self.moved: dict[tuple[str, str], int] = {}  # (leaver, object lower-case) -> records reassigned

    # --- warnings ---------------------------------------------------------------------------
    def warn(self, code: str, message: str, user_id: str | None = None, *, blocking: bool = False) -> None:
        self.warnings.append(Warning(code=code, message=message, user_id=user_id, blocking=blocking))

    def note(self, user: OrgUser, code: str, obj: str, text: str) -> None:
        """A per-object remark, merged across objects into one warning per user."""
        self.notes.setdefault((user.id, user.username, code, text), []).append(obj)

    def flush_notes(self) -> None:
        for (user_id, username, code, text), objects in self.notes.items():
            self.warn(code, f"{username}: {', '.join(objects)} records {text}", user_id)
        self.notes.clear()

    def playbook_problem(self, path: tuple[str | int, ...], message: str) -> None:
        self.warn("playbook", f"{self.pb.locate(*path)}: {message}", blocking=True)

    # --- selection ----------------------------------------------------------------------------
    def _protection(self, user: OrgUser) -> str | None:
        if user.id == self.snap.api_user.get("id"):
            return "is the API user running this plan"
        if user.username.lower() in self.protected_usernames:
            return "is protected by protect.usernames"
        if user.id in self.protected_ids:
            return "is protected by protect.ids"
        if user.profile.lower() in self.protected_profiles:
            return f"is protected by protect.profiles ({user.profile})"
        return None

    def select(self) -> list[OrgUser]:
        for path, value in self.snap.missing:
            message = value
            if self.pb.users.on_missing == "warn":
                self.warn("user_not_found", f"{format_path(path)}: {message}")
            else:
                self.playbook_problem(path, message)
        chosen: list[OrgUser] = []
        excluded = []
        for user in sorted(self.snap.targets, key=lambda u: u.username.lower()):
            why = self._protection(user)
            if why is None:
                chosen.append(user)
                continue
            paths = self.snap.matched_by.get(user.id, [])
            named = [p for p in paths if p[:2] != ("users", "where")]
            if named:
                code = "api_user_selected" if "API user" in why else "protected_user"
                self.warn(code, f"protected user selected: {user.username} {why} "
                                f"(selected by {format_path(named[0])})", user.id, blocking=True)
            else:
                excluded.append(user.username)
        if excluded:
            self.warn("protected_excluded", f"{len(excluded)} protected user(s) matched users.where and are "
                                            f"left alone: {_short_list(excluded)}")
        limit = self.pb.limits.max_users
        if len(chosen) > limit:
            self.warn("max_users", f"{len(chosen)} users selected, more than limits.max_users ({limit})",
                      blocking=True)
        self.leaving = {u.id for u in chosen}
        return chosen

    # --- successors ---------------------------------------------------------------------------
    def _usable(self, user: OrgUser, obj: str | None = None) -> str | None:
        """Why ``user`` cannot take ``obj`` records (None: they can). ``obj`` None: only active and staying."""
        if not user.is_active:
            return "is inactive"
        if user.is_frozen:
            return "is frozen"
        if user.id in self.leaving:
            return "leaves in this plan"
        # Salesforce refuses an owner change to a user who cannot read the object: TRANSFER_REQUIRES_READ
        # "The new owner must have read permission" (Salesforce Help, "Transfer Records"; SOAP API Developer
        # Guide, OwnerChangeOptions EnforceNewOwnerHasReadAccess), and the licence caps that access (Salesforce
        # Help, "User Licenses"): checked here, at plan time, so the fallback takes what they cannot own.
        if obj is not None:
            return cannot_own(user.licence, obj)
        return None

    def _find_user(self, spec: str, path: tuple[str | int, ...]) -> OrgUser | None:
        if spec.startswith("user:"):
            user = self.snap.user_by_username(spec[5:])
            if user is None:
                self._unknown(path, f"unknown successor user '{spec[5:]}'")
            return user
        user = self.snap.people.get(to18(spec[3:]))
        if user is None:
            self._unknown(path, f"unknown successor user id '{spec[3:]}'")
        return user

    def _unknown(self, path: tuple[str | int, ...], message: str) -> None:
        text = f"{self.pb.locate(*path)}: {message}"
        if not any(w.message == text for w in self.warnings):
            self.warn("playbook", text, blocking=True)

    def _resolve_one(self, spec: str, rule: str, leaver: OrgUser, obj: str,
                     path: tuple[str | int, ...], *, owning: bool = True) -> _Resolution:
        if spec.startswith("queue:"):
            queue = self.snap.queues.get(spec[6:])
            if queue is None:
                self._unknown(path, f"unknown queue '{spec[6:]}'")
                return _Resolution(None, [f"queue '{spec[6:]}' does not exist"], invalid=True)
            ownable = self.snap.owner_objects.get(obj, {}).get("queue", True)
            if obj not in queue.sobject_types or not ownable:
                why = (f"{obj} records cannot be owned by a queue in this org" if not ownable else
                       f"queue '{queue.developer_name}' cannot own {obj} "
                       f"(it may own {', '.join(sorted(queue.sobject_types)) or 'nothing'})")
                if self._by_all(obj):  # an object found by `all`: the fallback takes it, or the plan says why not
                    return _Resolution(None, [why])
                self._unknown(path, why)
                return _Resolution(None, [f"queue '{queue.developer_name}' cannot own {obj}"], invalid=True)
            return _Resolution(Successor(queue.id, queue.name, "queue", rule), [])
        if spec == "manager":
            return self._follow_managers(leaver, rule, obj if owning else None)
        user = self._find_user(spec, path)
        if user is None:
            return _Resolution(None, [f"{spec} does not exist"], invalid=True)
        why = self._usable(user, obj if owning else None)
        if why:
            return _Resolution(None, [f"{user.username} {why}"])
        return _Resolution(Successor(user.id, user.name, "user", rule), [])

    def _follow_managers(self, leaver: OrgUser, rule: str, obj: str | None) -> _Resolution:
        chain = [leaver.username]
        seen = {leaver.id}
        current = leaver
        while True:
            if not current.manager_id:
                note = f"{current.username} has no manager"
                return _Resolution(None, [note], chain if len(chain) > 1 else None)
            manager = self.snap.people.get(current.manager_id)
            if manager is None:
                return _Resolution(None, [f"manager of {current.username} was not found"],
                                   chain if len(chain) > 1 else None)
            if manager.id in seen:
                chain.append(manager.username)
                return _Resolution(None, ["the managers form a loop"], chain)
            seen.add(manager.id)
            chain.append(manager.username)
            why = self._usable(manager, obj)
            if why is None:
                return _Resolution(Successor(manager.id, manager.name, "user", rule), [],
                                   chain if len(chain) > 2 else None)
            if why != "leaves in this plan":
                return _Resolution(None, [f"manager {manager.username} {why}"],
                                   chain if len(chain) > 2 else None)
            current = manager

    def _by_all(self, obj: str) -> bool:
        """Whether ``obj`` is reassigned because of ``objects: all`` (not named in the playbook)."""
        reassign = self.pb.actions.reassign
        return bool(reassign and reassign.every_object and obj not in reassign.named())

    def resolve(self, leaver: OrgUser, obj: str, rule: ReassignRule) -> Successor | None:
        base = ("actions", "reassign", "objects", "all" if self._by_all(obj) else obj)
        explicit = self.pb.actions.reassign.objects.get(base[-1]) if self.pb.actions.reassign else None
        to_path = (*base, "to") if explicit and explicit.to else ("actions", "reassign", "default", "to")
        fb_path = (*base, "fallback") if explicit and explicit.fallback else ("actions", "reassign", "default",
                                                                            "fallback")
        assert rule.to is not None
        first = self._resolve_one(rule.to, rule.to.split(":")[0], leaver, obj, to_path)
        if first.successor:
            if first.chain:
                self.note(leaver, "successor_chain", obj, f"follow the manager chain {' → '.join(first.chain)} "
                                                          "(the managers in between leave too)")
            return first.successor
        if first.invalid:
            return None
        notes = list(first.notes)
        if rule.fallback:
            second = self._resolve_one(rule.fallback, "fallback", leaver, obj, fb_path)
            if second.invalid:
                return None
            if second.successor:
                self.note(leaver, "fallback_successor", obj, f"go to the fallback {second.successor.name} "
                                                             f"because {'; '.join(notes)}")
                return second.successor
            notes += [f"fallback {n}" for n in second.notes]
        else:
            notes.append("there is no fallback")
        if first.chain:
            self.warn("successor_chain", f"{leaver.username}: no successor for {obj}: the manager chain "
                                         f"{' → '.join(first.chain)} ends without a retained user and "
                                         f"{'; '.join(notes[len(first.notes):]) or 'no fallback'}",
                      leaver.id, blocking=True)
        else:
            self.warn("no_successor", f"{leaver.username}: no successor for {obj}: {'; '.join(notes)}",
                      leaver.id, blocking=True)
        return None

    # --- names in revoke lists ------------------------------------------------------------------
    def check_revoke_names(self) -> None:
        revoke = self.pb.actions.revoke
        if not revoke:
            return
        for kind in REVOKE_KINDS:
            wanted = getattr(revoke, kind)
            if not isinstance(wanted, list) or FEATURE_OBJECTS.get(kind) in self.snap.unavailable:
                continue
            known = {n.lower() for n in self.snap.known_names.get(kind, set())}
            for i, name in enumerate(wanted):
                if name.lower() not in known:
                    self.playbook_problem(("actions", "revoke", kind, i), f"unknown {_KIND_WORDS[kind]} '{name}'")

    def features(self) -> None:
        """A revoke the playbook asks for whose feature the org does not have: a note, not a failure."""
        revoke = self.pb.actions.revoke
        if not revoke:
            return
        for kind, obj in FEATURE_OBJECTS.items():
            if getattr(revoke, kind) and obj in self.snap.unavailable:
                self.warn("feature_not_enabled", f"{kind.replace('_', ' ')}: not enabled in this org "
                                                 f"(describeGlobal lists no {obj}); nothing to revoke")

    def uncounted(self) -> None:
        """Objects whose owned records the org refused to count: the plan cannot say they are moved."""
        for obj, why in sorted(self.snap.uncounted.items()):
            self.warn("owned_records_unknown", f"{obj}: the leavers' records could not be counted ({why})")

    def left_behind(self, user: OrgUser) -> None:
        """Records the plan leaves on ``user`` (not reassigned, or outside a rule's where), with counts."""
        parts = []
        for obj, n in sorted(self.snap.owned_counts.get(user.id, {}).items()):
            left = n - self.moved.get((user.id, obj.lower()), 0)
            if left > 0:
                parts.append(f"{left:,} {obj}")
        if parts:
            self.warn("owned_records_left", f"{user.username} keeps owning {', '.join(parts)} records "
                                            "(not reassigned by this playbook)", user.id)

    # --- changes ------------------------------------------------------------------------------
    def add(self, user: OrgUser, action: str, key: str, object_: str, record_ids: list[str],
            before: dict, after: dict, label: str = "", **extra) -> None:
        self.changes.append(Change(
            id=f"{user.id}:{action}:{key}", action=action, phase=ACTIONS[action][0], user_id=user.id,
            username=user.username, object=object_, record_ids=record_ids, before=before, after=after,
            label=label, **extra))

    def plan_user(self, user: OrgUser, grants: list[Grant], owned: list[OwnedSet]) -> None:
        actions = self.pb.actions
        if actions.freeze and user.is_active and not user.is_frozen:
            if user.login_id:
                self.add(user, "freeze", user.login_id, "UserLogin", [user.login_id],
                         {"IsFrozen": False}, {"IsFrozen": True}, "login")
            else:
                self.warn("no_login_row", f"{user.username}: no UserLogin row, the login cannot be frozen", user.id)
        revoke = actions.revoke
        if revoke:
            sessions = sorted(self.snap.sessions.get(user.id, []))
            if revoke.sessions and sessions:
                self.add(user, "end_sessions", "sessions", "AuthSession", sessions,
                         {"sessions": len(sessions)}, {"sessions": 0}, f"{len(sessions)} sessions",
                         count=len(sessions))
            if revoke.oauth_tokens:
                for group in sorted((t for t in self.snap.tokens if t.user_id == user.id),
                                    key=lambda t: t.app_name.lower()):
                    if _wanted(revoke.oauth_tokens, group.app_name):
                        self.add(user, "revoke_oauth_token", group.app_name, "OauthToken", [],
                                 {"AppName": group.app_name, "tokens": group.count},
                                 {"AppName": group.app_name, "tokens": 0}, group.app_name, count=group.count)
            for grant in grants:
                kind = next(k for k, a in REVOKE_KINDS.items() if a == grant.action)
                if grant.profile_owned or not _wanted(getattr(revoke, kind), grant.name):
                    continue
                self.add(user, grant.action, grant.id, grant.object, [grant.id], dict(grant.fields), {},
                         grant.label or grant.name)
            teams = revoke.team_objects()
            for row in self.snap.team_rows:
                if row.user_id == user.id and row.object in teams:
                    self.add(user, row.action, row.id, row.object, [row.id], dict(row.fields), {}, row.label)
            if revoke.role and user.role_id:
                self.add(user, "clear_role", "role", "User", [user.id],
                         {"UserRoleId": user.role_id, "role": user.role}, {"UserRoleId": None}, user.role or "")
        rules = self.pb.reassign_rules(self.snap.discovered)
        for owned_set in owned:
            rule = rules.get(owned_set.object)
            if rule is None or owned_set.count == 0:
                continue
            successor = self.resolve(user, owned_set.object, rule)
            if successor is None:
                continue
            ids = sorted(owned_set.ids)
            self.moved[(user.id, owned_set.object.lower())] = owned_set.count
            self.add(user, "reassign_owner", f"{owned_set.object}:{successor.id}", owned_set.object, ids,
                     {"OwnerId": user.id}, {"OwnerId": successor.id}, f"{owned_set.count} {owned_set.object}",
                     successor=successor, count=owned_set.count,
                     examples=owned_set.examples[:EXAMPLES_PER_CHANGE])
        if actions.deactivate and user.is_active:
            self.add(user, "deactivate", "user", "User", [user.id], {"IsActive": True}, {"IsActive": False},
                     "user")

    def default_successor(self, leaver: OrgUser) -> Successor | None:
        """The user ``reassign.default`` gives ``leaver`` (None for a queue, no rule or nobody usable)."""
        reassign = self.pb.actions.reassign
        if reassign is None:
            return None
        path = ("actions", "reassign", "default")
        for spec, rule in ((reassign.default.to, None), (reassign.default.fallback, "fallback")):
            if not spec or spec.startswith("queue:"):
                return None  # a queue cannot be anyone's manager: the dependants stay a warning
            found = self._resolve_one(spec, rule or spec.split(":")[0], leaver, "User",
                                      (*path, "fallback" if rule else "to"), owning=False)
            if found.successor or found.invalid:
                return found.successor
        return None

    def repoint(self, leaver: OrgUser, kind: str, field: str, deps: list[Dependant]) -> list[str]:
        """Re-point ``deps`` (users whose ``field`` is ``leaver``) to the successor; names left over."""
        successor = self.default_successor(leaver)
        if successor is None or successor.kind != "user":
            return [d.name for d in deps]
        moved = sorted((d for d in deps if d.record_id != successor.id), key=lambda d: d.record_id)
        if moved:
            n = len(moved)
            action = REPOINT_ACTIONS.get(kind, "repoint_hierarchy_field")
            self.add(leaver, action, field if action == "repoint_hierarchy_field" else kind, "User",
                     [d.record_id for d in moved], {field: leaver.id}, {field: successor.id},
                     f"{n} user{'s' if n != 1 else ''} → {successor.name}" + (
                         f" ({field})" if action == "repoint_hierarchy_field" else ""),
                     successor=successor, count=n, examples=sorted(d.name for d in moved)[:EXAMPLES_PER_CHANGE])
        return [d.name for d in deps if d.record_id == successor.id]

    def dependants(self) -> None:
        by_kind: dict[tuple[str, str, str], list[str]] = {}
        to_repoint: dict[tuple[str, str, str], list[Dependant]] = {}
        for dep in self.snap.dependants:
            if dep.user_id not in self.leaving:
                continue
            if dep.kind in REPOINT_FIELDS and dep.record_id in self.leaving:
                continue  # a hierarchy field still blocks the deactivation when the user pointing leaves too
            field = dep.field or REPOINT_FIELDS.get(dep.kind, "")
            key = (dep.user_id, dep.kind, field)
            wanted = "other_fields" if dep.kind == "hierarchy" else dep.kind
            if field and dep.kind in (*REPOINT_FIELDS, "hierarchy") and self.pb.actions.repoints(wanted):
                to_repoint.setdefault(key, []).append(dep)
                continue
            by_kind.setdefault(key, []).append(dep.name)
        for (user_id, kind, field), deps in sorted(to_repoint.items()):
            left = self.repoint(self.snap.people[user_id], kind, field, deps)
            if left:
                by_kind.setdefault((user_id, kind, field), []).extend(left)
        words = {
            "manager": ("dependant_manager", "is the manager of {n} user(s) who stay: {names}"),
            "delegated_approver": ("dependant_delegated_approver",
                                   "is the delegated approver of {n} user(s): {names}"),
            "hierarchy": ("dependant_hierarchy_field", "is the {field} of {n} user(s): {names}"),
            "report": ("dependant_report", "owns {n} report(s): {names}"),
            "dashboard": ("dependant_dashboard", "is the running user of {n} dashboard(s): {names}"),
            "approval": ("dependant_approval", "has {n} pending approval request(s): {names}"),
            "scheduled_job": ("dependant_scheduled_job", "owns {n} scheduled job(s) that will fail: {names}"),
        }
        people = self.snap.people
        for (user_id, kind, field), names in sorted(by_kind.items(),
                                                    key=lambda kv: (people[kv[0][0]].username, kv[0][1:])):
            code, text = words[kind]
            message = f"{people[user_id].username} " + text.format(n=len(names), field=field, names=_short_list(
                sorted(names)))
            # Salesforce refuses to deactivate a user that is the value of a hierarchy field (KB 000386275)
            blocking = kind == "hierarchy" and bool(self.pb.actions.deactivate)
            if blocking:
                message += ("; Salesforce refuses to deactivate the value of a hierarchy field: set "
                            "repoint_dependants (other_fields) with a user successor, or clear the field")
            self.warn(code, message, user_id, blocking=blocking)
        removed = set(self.pb.actions.revoke.team_objects()) if self.pb.actions.revoke else set()
        for user_id in sorted(self.leaving, key=lambda i: people[i].username):
            teams = self.snap.team_counts.get(user_id, {})
            parts = [f"{n} {obj}" for obj, n in sorted(teams.items()) if n and obj not in removed]
            if parts:
                self.warn("team_member", f"{people[user_id].username} is on {', '.join(parts)} rows; "
                                         "they stay until removed by hand", user_id)


    def kept_teams(self) -> None:
        """A note per reassigned Account / Opportunity change whose records carry colleagues' team rows: apply
        keeps them (SOAP owner change with KeepAccountTeam / KeepSalesTeam; rows still dropped are re-created)."""
        removed = set(self.pb.actions.revoke.team_objects()) if self.pb.actions.revoke else set()
        for obj, parent in (("AccountTeamMember", "Account"), ("OpportunityTeamMember", "Opportunity")):
            rows = self.snap.colleague_teams.get(obj, [])
            if not rows:
                continue
            for change in self.changes:
                if change.action != "reassign_owner" or change.object != parent:
                    continue
                ids = set(change.record_ids)
                kept = [(rid, uid) for rid, uid in rows if rid in ids and not (obj in removed and uid in self.leaving)]
                if not kept:
                    continue
                records = len({rid for rid, _ in kept})
                option = "KeepAccountTeam" if parent == "Account" else "KeepSalesTeam"
                successor = change.successor.name if change.successor else "the successor"
                self.warn("team_kept", f"{change.username}: {len(kept)} {obj} row{'s' if len(kept) != 1 else ''} of "
                                       f"colleagues on {records} of the {change.count} {parent} records going to "
                                       f"{successor} are kept (owner changed through SOAP with {option}; any row "
                                       "Salesforce still drops is re-created from the backup)", change.user_id)


def _wanted(selection, name: str) -> bool:
    if selection == "all":
        return True
    if not selection:
        return False
    return name.lower() in {n.lower() for n in selection}


def _short_list(names: list[str], limit: int = 5) -> str:
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"


def _repointed(changes: list[Change]) -> dict[str, dict[str, str]]:
    """User field -> {dependant id: leaver id} of the plan's re-points (part of the stale check)."""
    out: dict[str, dict[str, str]] = {}
    for c in changes:
        if c.action.startswith("repoint_"):
            for field, leaver in c.before.items():
                out.setdefault(field, {}).update(dict.fromkeys(c.record_ids, leaver))
    return out


def compute_plan(playbook: Playbook, snapshot: Snapshot, *, created_at: str) -> Plan:
    """The changes ``playbook`` makes to the org described by ``snapshot``; no I/O, no clock."""
    planner = _Planner(playbook, snapshot)
    planner.check_revoke_names()
    chosen = planner.select()
    grants_by_user: dict[str, list[Grant]] = {}
    for grant in sorted(snapshot.grants, key=lambda g: (_ACTION_ORDER[g.action], g.name.lower(), g.id)):
        grants_by_user.setdefault(grant.user_id, []).append(grant)
    owned_by_user: dict[str, list[OwnedSet]] = {}
    for owned in sorted(snapshot.owned, key=lambda o: o.object):
        owned_by_user.setdefault(owned.owner_id, []).append(owned)
    for user in chosen:
        planner.plan_user(user, grants_by_user.get(user.id, []), owned_by_user.get(user.id, []))
        planner.flush_notes()
        planner.left_behind(user)
    planner.features()
    planner.uncounted()
    planner.dependants()
    planner.kept_teams()
    if not any(vars(playbook.actions).values()):
        planner.warn("no_actions", "the playbook has no actions: nothing would change")
    user_rank = {u.id: i for i, u in enumerate(chosen)}
    changes = sorted(planner.changes, key=lambda c: (
        _PHASE_ORDER[c.phase], user_rank[c.user_id], _ACTION_ORDER[c.action],
        c.object if c.action == "reassign_owner" else "", c.label.lower(), c.id))
    warnings = sorted(planner.warnings, key=lambda w: (not w.blocking,))
    users = [PlanUser(id=u.id, username=u.username, name=u.name, email=u.email, is_active=u.is_active,
                      is_frozen=u.is_frozen, profile=u.profile, role=u.role, manager_id=u.manager_id,
                      terminated_at=snapshot.terminated_at.get(u.id)) for u in chosen]
    backup = playbook.actions.backup
    backup_objects = (list(snapshot.backup_objects) if snapshot.backup_objects or backup.every_object
                      else backup.named()) if backup else []
    path = playbook.path
    plan = Plan(
        org_id=snapshot.org_id,
        instance_url=snapshot.instance_url,
        api_user={"id": snapshot.api_user.get("id", ""), "username": snapshot.api_user.get("username", "")},
        playbook={"name": playbook.name, "path": str(path) if path else "", "sha256": playbook.sha256,
                  "reason": playbook.reason},
        variables=dict(sorted(playbook.variables.items())),
        created_at=created_at,
        users=users,
        changes=changes,
        warnings=warnings,
        fingerprint=fingerprint_of(snapshot, [u.id for u in chosen], _repointed(changes)),
        backup_objects=backup_objects,
        backup_files=bool(backup and backup.files),
        backup_counts={u.id: dict(sorted(snapshot.backup_counts.get(u.id, {}).items())) for u in chosen
                       if snapshot.backup_counts.get(u.id)},
    )
    from deprovision.clock import now, parse
    from deprovision.schedule.split import schedule_plan  # future leavers: cut access now, the rest later

    return schedule_plan(plan, playbook, now=parse(created_at) or now())
