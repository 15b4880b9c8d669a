"""``read_snapshot``: read, for the playbook's targets only, what the planner needs. Only reads.

Reads are chunked ``IN`` queries (``OrgClient.query_in``), relationship
fields instead of extra lookups, aggregate ``COUNT``/``MAX`` per owner for
counts, and Bulk API 2.0 queries when an object's record set is very large.
OAuth ``DeleteToken`` values are never read here: apply reads them by user
and app at execution time, so no plan file ever holds a secret.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from deprovision.errors import DeprovisionError, OrgError
from deprovision.ids import to18
from deprovision.org.bulk import QueryJob
from deprovision.org.check import blind_reason, visibility_from, visibility_read
from deprovision.org.client import COMPOSITE_QUERIES, in_budget, in_soqls
from deprovision.org.soql import MAX_IN_CLAUSE_CHARS, chunked_in, soql_in, soql_literal
from deprovision.plan import queries
from deprovision.plan.discovery import OwnerObject, count_owned, owner_objects
from deprovision.plan.facts import Dependant, Grant, OrgUser, OwnedSet, QueueInfo, Snapshot, TokenGroup
from deprovision.playbook.loader import PlaybookInvalid
from deprovision.playbook.model import Playbook

REST_PAGE = 2000  # records per REST query page ("Execute a SOQL Query", REST API Developer Guide)
BULK_PAGE = 50_000  # records per Bulk API 2.0 results page (maxRecords; parsed as it comes, row by row)
_QUERY_ERRORS = ("INVALID_FIELD", "MALFORMED_QUERY", "INVALID_TYPE")
_UNAVAILABLE = ("INVALID_FIELD", "INVALID_TYPE", "NOT_FOUND")
_NAME_QUERIES = {
    "permission_sets": ("SELECT Name FROM PermissionSet WHERE Name IN {ids}", "Name"),
    "permission_set_groups": ("SELECT DeveloperName FROM PermissionSetGroup WHERE DeveloperName IN {ids}",
                              "DeveloperName"),
    "permission_set_licenses": ("SELECT DeveloperName FROM PermissionSetLicense WHERE DeveloperName IN {ids}",
                                "DeveloperName"),
    "public_groups": ("SELECT DeveloperName FROM Group WHERE Type = 'Regular' AND DeveloperName IN {ids}",
                      "DeveloperName"),
    "queues": ("SELECT DeveloperName FROM Group WHERE Type = 'Queue' AND DeveloperName IN {ids}", "DeveloperName"),
    "package_licenses": ("SELECT NamespacePrefix FROM PackageLicense WHERE NamespacePrefix IN {ids}",
                         "NamespacePrefix"),
    "territories": ("SELECT DeveloperName FROM Territory2 WHERE DeveloperName IN {ids}", "DeveloperName"),
}
# revoke list kind -> the object it needs (an org without it has that feature off)
_KIND_OBJECTS = {"territories": "UserTerritory2Association", "package_licenses": "UserPackageLicense",
                 "permission_set_groups": "PermissionSetGroup", "permission_set_licenses": "PermissionSetLicenseAssign"}
# reads of what points at the targets ({ids}: the targets)
_DEPENDANT_READS = {
    "reports": "SELECT Id, Name, OwnerId FROM Report WHERE OwnerId IN {ids}",
    "private_reports": "SELECT Id, Name, OwnerId FROM Report USING SCOPE allPrivate WHERE OwnerId IN {ids}",
    "dashboards": "SELECT Id, Title, RunningUserId FROM Dashboard WHERE RunningUserId IN {ids}",
    "approvals": "SELECT Id, ActorId FROM ProcessInstanceWorkitem WHERE ActorId IN {ids}",
    "scheduled_jobs": "SELECT Id, OwnerId FROM CronTrigger WHERE OwnerId IN {ids}",
}
# User lookups with their own dependant kind; every other User field referencing User is a hierarchy field
_STANDARD_KINDS = {"ManagerId": "manager", "DelegatedApproverId": "delegated_approver"}


def _user(row: dict[str, Any]) -> OrgUser:
    profile = row.get("Profile") or {}
    return OrgUser(
        id=row["Id"], username=row["Username"], name=row.get("Name") or row["Username"],
        email=row.get("Email") or "", is_active=bool(row.get("IsActive")),
        profile=profile.get("Name") or "", profile_id=row.get("ProfileId"),
        licence=(profile.get("UserLicense") or {}).get("Name") or "",
        role_id=row.get("UserRoleId"), role=(row.get("UserRole") or {}).get("Name"),
        manager_id=row.get("ManagerId"), delegated_approver_id=row.get("DelegatedApproverId"),
        federation_id=row.get("FederationIdentifier"), modstamp=row.get("SystemModstamp") or "",
    )


class _Reader:
    def __init__(self, client: Any, playbook: Playbook) -> None:
        self.client = client
        self.pb = playbook
        self.problems: list[str] = []
        self.start_calls = client.api_calls
        self.schema = client.schema
        self.snap = Snapshot(org_id=client.org_id, instance_url=client.instance_url, api_user=client.api_user)
        self.owner_objects: dict[str, OwnerObject] = {}

    def problem(self, path: tuple[str | int, ...], message: str) -> None:
        self.problems.append(f"{self.pb.locate(*path)}: {message}")

    def users_where(self, condition: str, values: list[str]) -> list[OrgUser]:
        return [_user(r) for r in self.client.query_in(
            f"SELECT {queries.USER_FIELDS} FROM User WHERE {condition} IN {{ids}}", values)]

    # --- who leaves -----------------------------------------------------------------------------
    def select_targets(self) -> None:
        sel = self.pb.users
        found: dict[str, OrgUser] = {}
        matched: dict[str, list] = {}

        def take(user: OrgUser, path: tuple[str | int, ...]) -> None:
            found.setdefault(user.id, user)
            matched.setdefault(user.id, []).append(path)

        # (field, values with their paths, how to compare)
        lookups: dict[str, list[tuple[str, tuple[str | int, ...], str]]] = {
            "Username": [(v, ("users", "usernames", i), f"no user '{v}' in the org")
                         for i, v in enumerate(sel.usernames)],
            "Email": [(v, ("users", "emails", i), f"no user with email '{v}' in the org")
                      for i, v in enumerate(sel.emails)],
            "Id": [(to18(v), ("users", "ids", i), f"no user with id '{v}' in the org") for i, v in enumerate(sel.ids)],
            "FederationIdentifier": [(v, ("users", "federation_ids", i),
                                      f"no user with federation id '{v}' in the org")
                                     for i, v in enumerate(sel.federation_ids)],
        }
        field_of = {"username": "Username", "email": "Email", "id": "Id", "federation_id": "FederationIdentifier"}
        csv_name = sel.csv or ""
        for row in self.pb.csv_rows:
            value = to18(row.value) if row.key == "id" else row.value
            lookups[field_of[row.key]].append(
                (value, ("users", "csv"), f"{csv_name}:{row.line}: no user with {row.column} '{row.value}' in the org"))
        terminated: dict[tuple[str, str], str] = {}
        for row in self.pb.csv_rows:
            if row.terminated_at:
                terminated[(field_of[row.key], row.value.lower())] = row.terminated_at
        attr = {"Username": "username", "Email": "email", "Id": "id", "FederationIdentifier": "federation_id"}
        for field, wanted in lookups.items():
            if not wanted:
                continue
            users = self.users_where(field, [v for v, _, _ in wanted])
            index: dict[str, list[OrgUser]] = {}
            for user in users:
                key = (getattr(user, attr[field]) or "")
                index.setdefault(key.lower(), []).append(user)
            for value, path, missing in wanted:
                hits = index.get(value.lower(), [])
                if not hits:
                    self.snap.missing.append((path, missing))
                for user in hits:
                    take(user, path)
                    stamp = terminated.get((field, value.lower()))
                    if stamp:
                        self.snap.terminated_at[user.id] = stamp
        if sel.where:
            try:
                for row in self.client.query(f"SELECT {queries.USER_FIELDS} FROM User WHERE ({sel.where})"):
                    take(_user(row), ("users", "where"))
            except OrgError as exc:
                if exc.error_code not in _QUERY_ERRORS:
                    raise
                self.problem(("users", "where"), _org_message(exc))
        self.snap.targets = sorted(found.values(), key=lambda u: u.username.lower())
        self.snap.matched_by = matched
        self.snap.people.update(found)

    # --- successors, managers, names --------------------------------------------------------------
    def read_people(self) -> None:
        people = self.snap.people
        specs = self._successor_specs()
        usernames = sorted({s[5:] for s in specs if s.startswith("user:")})
        ids = {to18(s[3:]) for s in specs if s.startswith("id:")}
        if any(s == "manager" for s in specs):
            # a manager who is not a target stays, so reading the targets' managers ends every chain
            ids |= {u.manager_id for u in self.snap.targets if u.manager_id}
        ids -= set(people)
        known = {u.username.lower() for u in people.values()}
        missing_names = [n for n in usernames if n.lower() not in known]
        by_id, by_name = soql_in(sorted(ids)), soql_in(missing_names)
        if ids and missing_names and len(by_id) + len(by_name) < MAX_IN_CLAUSE_CHARS:
            rows = self.client.query(f"SELECT {queries.USER_FIELDS} FROM User "
                                     f"WHERE Id IN {by_id} OR Username IN {by_name}")
            people.update((u.id, u) for u in map(_user, rows))
        else:
            if ids:
                people.update((u.id, u) for u in self.users_where("Id", sorted(ids)))
            if missing_names:
                people.update((u.id, u) for u in self.users_where("Username", missing_names))
        if people:
            for row in self.client.query_in(queries.LOGINS, sorted(people)):
                user = people.get(row["UserId"])
                if user:
                    user.login_id = row["Id"]
                    user.login_modstamp = row.get("SystemModstamp")
                    user.is_frozen = bool(row.get("IsFrozen"))

    def read_names(self) -> None:
        revoke = self.pb.actions.revoke
        if revoke:
            for kind, (template, field) in _NAME_QUERIES.items():
                wanted = getattr(revoke, kind)
                needs = _KIND_OBJECTS.get(kind)
                if needs and not self.schema.has(needs):
                    if wanted:
                        self.snap.unavailable.add(needs)
                    continue
                if isinstance(wanted, list) and wanted:
                    names = self.snap.known_names.setdefault(kind, set())
                    try:
                        names.update(r[field] for r in self.client.query_in(template, wanted) if r.get(field))
                    except OrgError as exc:
                        if exc.error_code not in _UNAVAILABLE:
                            raise
        specs = self._successor_specs()
        queue_names = sorted({s[6:] for s in specs if s and s.startswith("queue:")})
        if queue_names:
            queues: dict[str, QueueInfo] = {}
            for row in self.client.query_in(
                    "SELECT QueueId, Queue.DeveloperName, Queue.Name, SobjectType FROM QueueSobject "
                    "WHERE Queue.DeveloperName IN {ids}", queue_names):
                group = row.get("Queue") or {}
                queue = queues.setdefault(row["QueueId"], QueueInfo(
                    row["QueueId"], group.get("DeveloperName") or "", group.get("Name") or ""))
                queue.sobject_types.append(row["SobjectType"])
            found = {q.developer_name for q in queues.values()}
            if set(queue_names) - found:  # a queue that may own nothing, or no queue at all
                for r in self.client.query_in("SELECT Id, DeveloperName, Name FROM Group WHERE Type = 'Queue' "
                                              "AND DeveloperName IN {ids}", sorted(set(queue_names) - found)):
                    queues[r["Id"]] = QueueInfo(r["Id"], r["DeveloperName"], r.get("Name") or r["DeveloperName"])
            self.snap.queues = {q.developer_name: q for q in queues.values()}

    def _successor_specs(self) -> set[str]:
        """Every successor the playbook names: per object, for ``all``, and the default."""
        reassign = self.pb.actions.reassign
        if not reassign:
            return set()
        rules = [*reassign.objects.values(), reassign.default]
        return {s for r in rules for s in (r.to, r.fallback) if s}

    # --- owned records ------------------------------------------------------------------------------
    def read_owned(self) -> None:
        """Owned records: every object a user can own, counted per leaver (aggregates in Composite Batch
        calls), then the records of the objects the playbook reassigns."""
        ids = [u.id for u in self.snap.targets]
        backup = self.pb.actions.backup
        named: dict[str, list[tuple[str | int, ...]]] = {}
        for obj in self.pb.reassign_rules():
            named.setdefault(obj, []).append(("actions", "reassign", "objects", obj))
        for i, obj in enumerate(backup.named() if backup else []):
            named.setdefault(obj, []).append(("actions", "backup", "objects", i))
        self.owner_objects = owner_objects(self.schema) if (ids or named) else {}
        spelled: dict[str, str] = {}  # playbook spelling -> org spelling
        for obj, paths in named.items():
            why = self._cannot_own(obj)
            if why:
                for path in paths:
                    self.problem(path, why)
            else:
                spelled[obj] = self.owner_objects[self.schema.name_of(obj)].name
        counted = count_owned(self.client, list(self.owner_objects.values()), ids)
        for obj, error in counted.errors.items():
            for path in named.get(obj, []):
                self.problem(path, error)
            if obj not in named:
                self.snap.uncounted[obj] = error
        for obj, owners in counted.counts.items():
            for owner, (n, _stamp) in owners.items():
                self.snap.owned_counts.setdefault(owner, {})[obj] = n
        owned_objects = sorted(o for o, owners in counted.counts.items() if owners)
        self.snap.owner_objects = {o.name: {"queue": o.queue_ownable, "reassignable": o.reassignable}
                                   for o in self.owner_objects.values()}
        if backup:
            chosen = owned_objects if backup.every_object else [spelled[o] for o in backup.named() if o in spelled]
            self.snap.backup_objects = chosen
            for obj in chosen:
                for owner, (n, _stamp) in counted.counts.get(obj, {}).items():
                    self.snap.backup_counts.setdefault(owner, {})[obj] = n
        discovered = [o for o in owned_objects if self.owner_objects[o].reassignable]
        self.snap.discovered = discovered
        rules = self.pb.reassign_rules(discovered)
        wanted: list[tuple[str, str | None, dict[str, tuple[int, str | None]]]] = []
        for obj, rule in sorted(rules.items()):
            if obj not in spelled and obj not in self.owner_objects:
                continue
            org_name = spelled.get(obj, obj)
            self.snap.owned_where[obj] = rule.where
            wanted.append((obj, rule.where, counted.counts.get(org_name, {})))
        found = self._owned_sets(wanted)
        for obj, _, _ in wanted:
            sets = found[obj]
            if isinstance(sets, OrgError):
                if sets.error_code not in _QUERY_ERRORS:
                    raise sets
                self.problem(("actions", "reassign", "objects", obj, "where"), _org_message(sets))
                continue
            self.snap.owned.extend(sets[k] for k in sorted(sets))

    def _cannot_own(self, obj: str) -> str | None:
        """Why records of ``obj`` cannot be owned by a leaver (None when they can)."""
        name = self.schema.name_of(obj)
        if name is None:
            return f"no object '{obj}' in this org"
        if name in self.owner_objects:
            return None
        describe = self.schema.describe(name) or {}
        if not describe.get("queryable", True):
            return f"{name} cannot be queried, so its records cannot be read"
        if self.schema.is_setup(name):
            return f"{name} is a setup object: its rows are not owned records"
        return f"{name} has no OwnerId that can be a user: nobody owns its records"

    def _owned_sets(self, wanted: list[tuple[str, str | None, dict[str, tuple[int, str | None]]]]
                    ) -> dict[str, dict[str, OwnedSet] | OrgError]:
        """The records of each ``(object, where, counts per owner)`` the targets own (matching ``where``),
        ids and examples read; an object whose ``where`` the org refuses answers its OrgError.

        Per object, whichever costs fewer API calls (the counts per owner are known): REST queries, each
        sized to one 2,000-record page and sent five to a Composite call with the other objects' queries, or
        Bulk API 2.0 query jobs (create, poll, one call per 50,000 records), created for every such object
        before any is waited for, so the org runs them side by side while the REST reads go on."""
        out: dict[str, dict[str, OwnedSet] | OrgError] = {}
        reads: dict[str, _Records] = {}
        soqls: list[tuple[str, str]] = []  # (object, "check" | "aggregate" | "records"), with the SOQL
        texts: list[str] = []
        bulk: list[tuple[str, str | None, list[list[str]]]] = []  # object, where, owner groups: a job each
        for obj, where, upper in wanted:
            if not upper:
                out[obj] = {}
                if where:  # nothing owned: still let the org check the condition
                    soqls.append((obj, "check"))
                    texts.append(f"SELECT Id FROM {obj} WHERE ({where}) LIMIT 1")
                continue
            owners = sorted(upper)
            name_field = self.schema.name_field(obj)
            use_bulk = self._bulk_cheaper(obj, where, name_field, owners, upper)
            local_counts = where is not None and not use_bulk
            if where is None:
                sets = {o: OwnedSet(obj, o, [], n, stamp) for o, (n, stamp) in upper.items()}
            elif use_bulk:  # counts and newest SystemModstamp from an aggregate, then the records
                sets = {}
                for soql in in_soqls(queries.owned_aggregate(obj, where), owners):
                    soqls.append((obj, "aggregate"))
                    texts.append(soql)
            else:  # small: count and newest SystemModstamp from the records themselves
                sets = {o: OwnedSet(obj, o, [], 0, None) for o in owners}
            reads[obj] = _Records(sets, name_field, local_counts)
            template = queries.owned_records(obj, where, name_field, local_counts)
            if use_bulk:
                bulk.append((obj, where, _groups(owners, upper, None, MAX_IN_CLAUSE_CHARS)))
                continue
            for group in _groups(owners, upper, REST_PAGE, in_budget(template)):
                soqls.append((obj, "records"))
                texts.append(template.replace("{ids}", soql_in(group)))
        jobs: dict[str, list[QueryJob]] = {}
        for obj, where, groups in bulk:  # without a condition nothing to wait for: started before the REST reads
            if where is None:
                self._start_jobs(obj, where, reads[obj], groups, jobs, out)
        for i, page in self.client.query_pages(texts, refused=_QUERY_ERRORS):
            obj, kind = soqls[i]
            if isinstance(out.get(obj), OrgError):
                continue
            if isinstance(page, OrgError):
                out[obj] = page
            elif kind == "aggregate":
                sets = reads[obj].sets
                sets.update((r["OwnerId"], OwnedSet(obj, r["OwnerId"], [], r["expr0"], r.get("expr1")))
                            for r in page if r.get("expr0"))
            elif kind == "records":
                reads[obj].add(page)
        for obj, where, groups in bulk:  # with a condition: for the owners the aggregate found
            if where is not None and not isinstance(out.get(obj), OrgError):
                owners = set(reads[obj].sets)
                self._start_jobs(obj, where, reads[obj], [[o for o in g if o in owners] for g in groups], jobs, out)
        for obj, started in jobs.items():
            for job in started:
                reads[obj].add(job.rows())
        for obj, read in reads.items():
            if not isinstance(out.get(obj), OrgError):
                out[obj] = read.finish()
        return out

    def _start_jobs(self, obj: str, where: str | None, read: _Records, groups: list[list[str]],
                    jobs: dict[str, list[QueryJob]], out: dict[str, dict[str, OwnedSet] | OrgError]) -> None:
        """Create ``obj``'s query jobs, one per owner group; a condition the org refuses is ``obj``'s error."""
        template = queries.owned_records(obj, where, read.name_field, False)
        try:
            jobs[obj] = [QueryJob(self.client, template.replace("{ids}", soql_in(g)), page=BULK_PAGE).start()
                         for g in groups if g]
        except OrgError as exc:
            if exc.error_code not in _QUERY_ERRORS:
                raise
            out[obj] = exc

    def _bulk_cheaper(self, obj: str, where: str | None, name_field: str | None, owners: list[str],
                      upper: dict[str, tuple[int, str | None]]) -> bool:
        """Whether Bulk API 2.0 reads ``obj``'s owned records in fewer API calls than REST.

        REST: one query page per 2,000 records ("Execute a SOQL Query", REST API Developer Guide), five query
        subrequests per Composite call, which counts as one API call. Bulk API 2.0: per query job a create, at
        least one status poll and one call per results page of ``BULK_PAGE`` records ("Get Results for a
        Query Job", Bulk API 2.0 Developer Guide); with a ``where`` the counts come from an aggregate first.
        """
        template = queries.owned_records(obj, where, name_field, where is not None)
        rest_pages = sum(max(1, -(-_rows(g, upper) // REST_PAGE))
                         for g in _groups(owners, upper, REST_PAGE, in_budget(template)))
        bulk_calls = sum(2 + max(1, -(-_rows(g, upper) // BULK_PAGE))
                         for g in _groups(owners, upper, None, MAX_IN_CLAUSE_CHARS))
        aggregates = len(in_soqls(queries.owned_aggregate(obj, where), owners)) if where else 0
        return bulk_calls * COMPOSITE_QUERIES + aggregates < rest_pages

    def read_links(self) -> None:
        """What the API user can see, the targets' assignments, tokens, sessions and teams, and what points at
        them: independent reads, sent together through Composite (``OrgClient.query_in_many``)."""
        if not self.snap.targets:
            return
        ids = [u.id for u in self.snap.targets]
        reads: dict[str, tuple[str, list[str]]] = {}
        keys = self._visibility_keys()
        seen = visibility_read(self.client, keys) if keys else None
        if seen is not None:
            reads["visibility"] = seen
        for obj, template in queries.GRANTS.items():
            if self._wanted(reads, f"grant:{obj}", template, ids, obj):
                self.snap.grant_objects.append(obj)
        self._wanted(reads, "tokens", "SELECT UserId, AppName FROM OauthToken WHERE UserId IN {ids}", ids)
        self._wanted(reads, "sessions", "SELECT Id, UsersId FROM AuthSession WHERE UsersId IN {ids}", ids)
        removed = self.pb.actions.revoke.team_objects() if self.pb.actions.revoke else []
        for obj in queries.TEAM_PARENT:
            if obj in removed:  # the rows themselves (to remove and back up), counted here
                self._wanted(reads, f"team_rows:{obj}", queries.TEAM_ROWS[obj], ids)
            else:
                self._wanted(reads, f"team_counts:{obj}",
                             f"SELECT UserId, COUNT(Id) FROM {obj} WHERE UserId IN {{ids}} GROUP BY UserId", ids)
        owned = {o.object for o in self.snap.owned if o.count}
        for obj, parent in queries.TEAM_PARENT.items():  # an owner change deletes these unless apply keeps them
            if parent in owned:
                self._wanted(reads, f"colleagues:{obj}",
                             f"SELECT {parent}Id, UserId FROM {obj} WHERE {parent}.OwnerId IN {{ids}}", ids)
        fields = self.schema.user_references("User")  # ManagerId, DelegatedApproverId, custom hierarchy fields
        self.snap.hierarchy_fields = [f for f in fields if f not in _STANDARD_KINDS]
        pointing = _pointing_template(fields) if fields else None
        if pointing and in_budget(pointing) >= 100:
            reads["pointing"] = (pointing, ids)
        for name, template in _DEPENDANT_READS.items():
            self._wanted(reads, name, template, ids)
        got = self.client.query_in_many(reads, refused=_UNAVAILABLE) if reads else {}
        if seen is not None:
            self._check_visibility(keys, visibility_from(self.client, keys, self._rows(got, "visibility")))
        for obj in self.snap.grant_objects:
            for row in self._rows(got, f"grant:{obj}", optional=True):
                grant = _grant(obj, row)
                if grant:
                    self.snap.grants.append(grant)
        self._access(got)
        if pointing and "pointing" not in reads:  # too many hierarchy fields for one Composite subrequest
            got["pointing"] = self._users_pointing_at(fields, ids)
        self._dependants(got, fields, ids)

    def _visibility_keys(self) -> list[str]:
        """What a revoke the playbook asks for must see of every user, or the plan would call a leaver clean."""
        revoke = self.pb.actions.revoke
        if not revoke:
            return []
        return [k for k, wanted in (("oauth_tokens", revoke.oauth_tokens), ("sessions", revoke.sessions)) if wanted]

    def _check_visibility(self, keys: list[str], sees: dict[str, bool | None]) -> None:
        blind = [k for k in keys if sees.get(k) is False]
        if blind:
            who = self.client.api_user.get("username") or "the API user"
            raise DeprovisionError(
                f"{who} {'; '.join(blind_reason(k) for k in blind)}: revoke.{', revoke.'.join(blind)} would find "
                "only part of them (`deprovision org check` shows what the API user can see)")

    def _access(self, got: dict[str, Any]) -> None:
        tokens: Counter[tuple[str, str]] = Counter()
        for row in self._rows(got, "tokens", optional=True):
            tokens[(row["UserId"], row.get("AppName") or "(unnamed app)")] += 1
        self.snap.tokens = [TokenGroup(u, a, n) for (u, a), n in sorted(tokens.items())]
        for row in self._rows(got, "sessions", optional=True):
            self.snap.sessions.setdefault(row["UsersId"], []).append(row["Id"])
        for obj in queries.TEAM_PARENT:
            for row in self._rows(got, f"team_rows:{obj}", optional=True):
                counts = self.snap.team_counts.setdefault(row["UserId"], {})
                counts[obj] = counts.get(obj, 0) + 1
                self.snap.team_rows.append(_team_row(obj, row))
            for row in self._rows(got, f"team_counts:{obj}", optional=True):
                self.snap.team_counts.setdefault(row["UserId"], {})[obj] = row["expr0"]
        self.snap.team_rows.sort(key=lambda g: (g.user_id, g.object, g.label.lower(), g.id))
        for obj, parent in queries.TEAM_PARENT.items():
            for row in self._rows(got, f"colleagues:{obj}", optional=True):
                self.snap.colleague_teams.setdefault(obj, []).append((row[f"{parent}Id"], row["UserId"]))

    def _dependants(self, got: dict[str, Any], fields: list[str], ids: list[str]) -> None:
        deps = self.snap.dependants
        wanted = set(ids)
        rows = list({row["Id"]: row for row in self._rows(got, "pointing")}.values())  # may match in 2 chunks
        for row in rows:
            for field in fields:
                if row.get(field) in wanted:
                    deps.append(Dependant(_STANDARD_KINDS.get(field, "hierarchy"), row["Id"], row["Username"],
                                          row[field], field=field))
        for row in self._rows(got, "reports", optional=True):
            deps.append(Dependant("report", row["Id"], row.get("Name") or row["Id"], row["OwnerId"]))
        # Reports in other users' private folders answer only USING SCOPE allPrivate, with the "Manage All
        # Private Reports and Dashboards" permission (Object Reference, Report, Supported Query Scopes).
        seen = {d.record_id for d in deps if d.kind == "report"}
        for row in self._rows(got, "private_reports", optional=True):
            if row["Id"] not in seen:
                deps.append(Dependant("report", row["Id"], row.get("Name") or row["Id"], row["OwnerId"]))
        for row in self._rows(got, "dashboards", optional=True):
            deps.append(Dependant("dashboard", row["Id"], row.get("Title") or row["Id"], row["RunningUserId"]))
        for row in self._rows(got, "approvals", optional=True):
            deps.append(Dependant("approval", row["Id"], row["Id"], row["ActorId"]))
        for row in self._rows(got, "scheduled_jobs", optional=True):
            deps.append(Dependant("scheduled_job", row["Id"], row["Id"], row["OwnerId"]))
        deps.sort(key=lambda d: (d.user_id, d.kind, d.name, d.record_id))

    def read_schema(self) -> None:
        """Digests of the describes the plan relies on: a schema change makes a saved plan stale."""
        used = {"User", *self.snap.grant_objects, *self.snap.backup_objects,
                *(self.schema.name_of(o) or o for o in self.snap.owned_where)}
        self.snap.schema = {k: v for k, v in self.client.schema.digest(sorted(used)).items() if v}

    def _users_pointing_at(self, fields: list[str], ids: list[str]) -> list[dict]:
        """Active users whose ``fields`` name one of ``ids``: one query per chunk for all fields."""
        budget = (MAX_IN_CLAUSE_CHARS - 200) // len(fields)
        rows: list[dict] = []
        for chunk in chunked_in(ids, max_chars=budget):
            rows.extend(self.client.query(_pointing_template(fields).replace("{ids}", chunk)))
        return rows

    def _wanted(self, reads: dict[str, tuple[str, list[str]]], name: str, template: str, ids: list[str],
                obj: str | None = None) -> bool:
        """Add a read some orgs cannot answer (feature off, field missing); an object missing from the org's
        describeGlobal is recorded as unavailable and not queried (False)."""
        match = re.search(r"\bFROM\s+(\w+)", template)
        obj = obj or (match.group(1) if match else None)
        if obj and not self.schema.has(obj):
            self.snap.unavailable.add(obj)  # the feature is off in this org: nothing to read
            return False
        reads[name] = (template, ids)
        return True

    @staticmethod
    def _rows(got: dict[str, Any], name: str, *, optional: bool = False) -> list[dict]:
        """The rows of read ``name``: none when it was not made, or (``optional``) when the org refused it as
        unavailable (INVALID_FIELD, INVALID_TYPE, NOT_FOUND); any other refusal raises."""
        found = got.get(name, [])
        if isinstance(found, OrgError):
            if optional and found.error_code in _UNAVAILABLE:
                return []
            raise found
        return found


class _Records:
    """One object's owned records as they are read: ids per owner, counts, a few example names."""

    def __init__(self, sets: dict[str, OwnedSet], name_field: str | None, local_counts: bool) -> None:
        self.sets = sets
        self.name_field = name_field  # None: an object without a name field, ids only
        self.local_counts = local_counts
        self.examples: dict[str, set[str]] = {}  # owner -> a few of the alphabetically first distinct names

    def add(self, rows: Iterable[dict]) -> None:
        sets, name_field, examples = self.sets, self.name_field, self.examples
        for row in rows:
            owned = sets.get(row["OwnerId"])
            if owned is None:
                continue
            owned.ids.append(row["Id"])
            if self.local_counts:
                owned.count += 1
                stamp = row.get("SystemModstamp")
                if stamp and (owned.max_modstamp is None or stamp > owned.max_modstamp):
                    owned.max_modstamp = stamp
            if name_field and row.get(name_field):
                names = examples.setdefault(row["OwnerId"], set())
                names.add(str(row[name_field]))
                if len(names) > 60:
                    examples[row["OwnerId"]] = set(sorted(names)[:3])

    def finish(self) -> dict[str, OwnedSet]:
        for owner, names in self.examples.items():
            self.sets[owner].examples = sorted(names)[:3]
        for owned in self.sets.values():
            owned.ids.sort()
        if self.local_counts:
            return {o: s for o, s in self.sets.items() if s.count}
        return self.sets


def _groups(owners: list[str], upper: dict[str, tuple[int, str | None]], max_rows: int | None,
            max_chars: int) -> list[list[str]]:
    """``owners`` in order, cut into groups whose IN list stays under ``max_chars`` and, with ``max_rows``,
    whose records (``upper``) fit one page (an owner with more is a group of its own)."""
    groups: list[list[str]] = []
    size = rows = 0
    for owner in owners:
        lit = len(soql_literal(owner)) + 1
        n = upper[owner][0]
        if not groups or size + lit > max_chars or (max_rows is not None and rows + n > max_rows):
            groups.append([])
            size, rows = 2, 0
        groups[-1].append(owner)
        size += lit
        rows += n
    return groups


def _rows(owners: list[str], upper: dict[str, tuple[int, str | None]]) -> int:
    return sum(upper[o][0] for o in owners)


def _pointing_template(fields: list[str]) -> str:
    """Active users whose ``fields`` (User lookups) name one of the ``{ids}``."""
    condition = " OR ".join(f"{f} IN {{ids}}" for f in fields)
    return f"SELECT Id, Username, {', '.join(fields)} FROM User WHERE IsActive = true AND ({condition})"


def _grant(obj: str, row: dict[str, Any]) -> Grant | None:
    stamp = row.get("SystemModstamp") or ""
    if obj == "PermissionSetAssignment":
        ps = row.get("PermissionSet") or {}
        if row.get("PermissionSetGroupId"):
            psg = row.get("PermissionSetGroup") or {}
            name = psg.get("DeveloperName") or row["PermissionSetGroupId"]
            return Grant(row["Id"], "remove_permission_set_group", row["AssigneeId"], obj, name, name, stamp,
                         fields={"AssigneeId": row["AssigneeId"], "PermissionSetGroupId": row["PermissionSetGroupId"]})
        return Grant(row["Id"], "remove_permission_set", row["AssigneeId"], obj, ps.get("Name") or "",
                     ps.get("Name") or "", stamp, profile_owned=bool(ps.get("IsOwnedByProfile")),
                     fields={"AssigneeId": row["AssigneeId"], "PermissionSetId": row.get("PermissionSetId")})
    if obj == "PermissionSetLicenseAssign":
        lic = row.get("PermissionSetLicense") or {}
        name = lic.get("DeveloperName") or row["PermissionSetLicenseId"]
        return Grant(row["Id"], "remove_permission_set_license", row["AssigneeId"], obj, name, name, stamp,
                     fields={"AssigneeId": row["AssigneeId"], "PermissionSetLicenseId": row["PermissionSetLicenseId"]})
    if obj == "GroupMember":
        group = row.get("Group") or {}
        kind = group.get("Type")
        if kind not in ("Regular", "Queue"):
            return None  # role, territory, organisation groups are maintained by Salesforce
        name = group.get("DeveloperName") or group.get("Name") or row["GroupId"]
        action = "remove_queue" if kind == "Queue" else "remove_public_group"
        return Grant(row["Id"], action, row["UserOrGroupId"], obj, name, name, stamp,
                     fields={"GroupId": row["GroupId"], "UserOrGroupId": row["UserOrGroupId"]})
    if obj == "UserPackageLicense":
        ns = (row.get("PackageLicense") or {}).get("NamespacePrefix") or row["PackageLicenseId"]
        return Grant(row["Id"], "remove_package_license", row["UserId"], obj, ns, ns, stamp,
                     fields={"UserId": row["UserId"], "PackageLicenseId": row["PackageLicenseId"]})
    territory = row.get("Territory2") or {}
    name = territory.get("DeveloperName") or row["Territory2Id"]
    return Grant(row["Id"], "remove_territory", row["UserId"], obj, name, territory.get("Name") or name, stamp,
                 fields={"UserId": row["UserId"], "Territory2Id": row["Territory2Id"],
                         "RoleInTerritory2": row.get("RoleInTerritory2")})


def _team_row(obj: str, row: dict[str, Any]) -> Grant:
    """An AccountTeamMember / OpportunityTeamMember row as a grant: named by its record, restorable."""
    parent = queries.TEAM_PARENT[obj]
    record = row.get(parent) or {}
    name = record.get("Name") or row[f"{parent}Id"]
    role = row.get("TeamMemberRole")
    label = f"{name} ({role})" if role else name
    access = f"{parent}AccessLevel"
    return Grant(row["Id"], queries.TEAM_ACTIONS[obj], row["UserId"], obj, name, label,
                 row.get("SystemModstamp") or "",
                 fields={f"{parent}Id": row[f"{parent}Id"], "UserId": row["UserId"], "TeamMemberRole": role,
                         access: row.get(access)})


def _org_message(exc: OrgError) -> str:
    """Salesforce's own words about a refused query, without the query text and its column."""
    text = " ".join(exc.message.split())
    match = re.search(r"ERROR at Row:\d+:Column:\d+ (.*)$", text)
    if match:
        text = match.group(1)
        first = text.find(". ")
        text = text[: first + 1] if first > 0 else text
    else:
        text = text.removeprefix("query failed: ").removeprefix(f"{exc.error_code}: ")
    return f"{exc.error_code}: {text}" if exc.error_code else text


def read_snapshot(client: Any, playbook: Playbook) -> Snapshot:
    """Read the org for ``playbook``'s targets; raises PlaybookInvalid when the org refuses its SOQL."""
    reader = _Reader(client, playbook)
    reader.select_targets()
    reader.read_people()
    reader.read_names()
    reader.read_owned()
    if reader.problems:
        raise PlaybookInvalid(sorted(set(reader.problems)))
    reader.read_links()
    reader.read_schema()
    reader.snap.api_calls = client.api_calls - reader.start_calls
    return reader.snap
