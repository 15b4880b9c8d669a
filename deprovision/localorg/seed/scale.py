"""The ``scale`` seed: many users and a million records, built in seconds, for benchmarks.

``build(store, "scale", users=5000, records=1_000_000, leavers=1000)``: ``leavers``
users in Department 'Leavers' (usernames ``leaver0001@acme.example`` ...), each
with 5 permission-set assignments, 3 group or queue memberships, 1 package
licence, 2 OAuth tokens and a manager outside the leavers; ``records`` owned
records over Account, Contact, Opportunity, Case, Task and Lead, spread evenly
over the leavers. Data rows go in with ``executemany`` before their indexes
are built.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from deprovision.localorg import schema
from deprovision.localorg.seed.common import SEED_TIME, Seeder
from deprovision.localorg.seed.empty import OrgBase
from deprovision.localorg.seed.fastids import id_range
from deprovision.localorg.store import Store, create_indexes

RANDOM_SEED = 5000
DOMAIN = "acme.example"
SHARES = {"Account": 0.15, "Contact": 0.25, "Opportunity": 0.15, "Case": 0.15, "Task": 0.20, "Lead": 0.10}
DEPARTMENTS = ("Sales", "Support", "Marketing", "Engineering", "Finance", "Operations")
PERMISSION_SETS = ("Sales_Extra", "Support_Console", "Marketing_Cloud_User", "API_Access", "Report_Builder",
                   "Field_Marketing_Tools", "Contractor_Access", "Project_Manager", "Data_Export", "Knowledge_User")
PUBLIC_GROUPS = ("Sales_Team", "Support_Team", "Marketing_Team", "Engineering_Team", "All_Managers")
QUEUES = {"Support_Queue": ("Case", "Task"), "Unassigned_Leads": ("Lead",)}
SYSTEM = ("Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp")
COLUMNS = {
    "Account": ("Name", "OwnerId", "Type"),
    "Contact": ("FirstName", "LastName", "Name", "AccountId", "OwnerId"),
    "Opportunity": ("Name", "AccountId", "OwnerId", "StageName", "CloseDate", "IsClosed", "IsWon"),
    "Case": ("CaseNumber", "Subject", "Status", "IsClosed", "OwnerId"),
    "Task": ("Subject", "Status", "Priority", "IsClosed", "ActivityDate", "OwnerId"),
    "Lead": ("LastName", "Name", "Company", "Status", "IsConverted", "OwnerId"),
}


def build_scale(store: Store, seeder: Seeder, base: OrgBase, *, users: int = 5000, records: int = 1_000_000,
                leavers: int = 1000) -> None:
    """Queue the users and their access, write them, then bulk-insert the records."""
    if not 0 < leavers < users - 2:
        raise ValueError("scale seed: need 0 < leavers < users - 2")
    rng = random.Random(RANDOM_SEED)
    standard = base.profiles["Standard User"]
    ops = seeder.user({"Username": f"ops@{DOMAIN}", "Email": f"ops@{DOMAIN}", "FirstName": "Otto",
                       "LastName": "Operations", "Alias": "ops", "ProfileId": base.profiles["System Administrator"],
                       "Department": "Operations", "IsActive": True})
    staff_count = users - leavers - 2
    managers: list[str] = []
    for n in range(1, staff_count + 1):
        values = {"Username": f"user{n:05d}@{DOMAIN}", "Email": f"user{n:05d}@{DOMAIN}", "FirstName": "User",
                  "LastName": f"{n:05d}", "Alias": f"u{n:05d}", "ProfileId": standard, "IsActive": True,
                  "Department": DEPARTMENTS[n % len(DEPARTMENTS)], "EmployeeNumber": f"S{n:05d}",
                  "FederationIdentifier": f"S{n:05d}", "ManagerId": rng.choice(managers) if managers else ops}
        uid = seeder.user(values)
        if n <= max(10, staff_count // 50):
            managers.append(uid)
    ps_ids = [seeder.add("PermissionSet", {"Name": name, "Label": name.replace("_", " "), "Type": "Regular"})
              for name in PERMISSION_SETS]
    groups = [seeder.add("Group", {"Name": g.replace("_", " "), "DeveloperName": g, "Type": "Regular"})
              for g in PUBLIC_GROUPS]
    for dev, objects in QUEUES.items():
        qid = seeder.add("Group", {"Name": dev.replace("_", " "), "DeveloperName": dev, "Type": "Queue"})
        groups.append(qid)
        for obj in objects:
            seeder.add("QueueSobject", {"QueueId": qid, "SobjectType": obj})
    packages = [seeder.add("PackageLicense", {"NamespacePrefix": ns, "AllowedLicenses": leavers, "UsedLicenses": 0,
                                              "Status": "Active"}) for ns in ("sbqq", "dsfs")]
    leaver_ids: list[str] = []
    used = [0, 0]
    for n in range(1, leavers + 1):
        local = f"leaver{n:04d}"
        uid = seeder.user({"Username": f"{local}@{DOMAIN}", "Email": f"{local}@{DOMAIN}", "FirstName": "Leaver",
                           "LastName": f"{n:04d}", "Alias": f"l{n:04d}", "ProfileId": standard, "IsActive": True,
                           "Department": "Leavers", "EmployeeNumber": f"L{n:04d}", "FederationIdentifier": f"L{n:04d}",
                           "ManagerId": rng.choice(managers)})
        leaver_ids.append(uid)
        for ps in rng.sample(ps_ids, 5):
            seeder.add("PermissionSetAssignment", {"AssigneeId": uid, "PermissionSetId": ps})
        for g in rng.sample(groups, 3):
            seeder.add("GroupMember", {"GroupId": g, "UserOrGroupId": uid})
        k = n % 2
        used[k] += 1
        seeder.add("UserPackageLicense", {"UserId": uid, "PackageLicenseId": packages[k]})
        for t in range(2):
            seeder.rows["OauthToken"].append({
                "Id": None, "IsDeleted": 0, "CreatedDate": SEED_TIME, "CreatedById": uid,
                "LastModifiedDate": SEED_TIME, "LastModifiedById": uid, "SystemModstamp": SEED_TIME,
                "AppName": ("Salesforce Mobile", "Dataloader Partner")[t], "DeleteToken": f"DT-{local}-{t}",
                "AccessToken": f"RT-{local}-{t}", "UseCount": 1, "UserId": uid})
    for row, n in zip(seeder.rows["PackageLicense"], used, strict=True):
        row["UsedLicenses"] = n
    seeder.flush()
    bulk_records(store, leaver_ids, records, base.admin_id)


def _drop_indexes(store: Store, objects) -> None:
    marks = ",".join("?" for _ in objects)
    names = [r["name"] for r in store.select(
        f"SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ({marks}) AND sql IS NOT NULL",
        list(objects))]
    for name in names:
        store.conn.execute(f'DROP INDEX "{name}"')


def bulk_records(store: Store, owners: list[str], total: int, actor: str) -> None:
    """Insert ``total`` records over the six objects, owners round-robin, then (re)build the indexes."""
    counts = {obj: int(total * share) for obj, share in SHARES.items()}
    counts["Account"] += total - sum(counts.values())
    # A new database being seeded needs no rollback journal: writing without one is about a third faster.
    journal = store.conn.execute("PRAGMA journal_mode").fetchone()[0]
    if journal != "memory":
        store.conn.execute("PRAGMA journal_mode=OFF")
    try:
        _insert_all(store, counts, owners, actor)
    finally:
        if journal != "memory":
            store.conn.execute(f"PRAGMA journal_mode={journal}")


def _insert_all(store: Store, counts: dict[str, int], owners: list[str], actor: str) -> None:
    with store.transaction():
        _drop_indexes(store, SHARES)
        accounts = counts["Account"]
        for obj, n in counts.items():
            if n == 0:
                continue
            spec = schema.get_object(obj)
            start = store.next_number(obj)  # the first id; counter moved past the block below
            store.set_counter(obj, start + n - 1)
            cols = SYSTEM + COLUMNS[obj]
            sql = f'INSERT INTO "{obj}" ({", ".join(chr(34) + c + chr(34) for c in cols)}) ' \
                  f'VALUES ({", ".join("?" for _ in cols)})'
            store.conn.executemany(sql, _rows(obj, spec.key_prefix, start, n, owners, actor, accounts, store))
        create_indexes(store.conn)


def _rows(obj: str, prefix: str, start: int, n: int, owners: list[str], actor: str, accounts: int,
          store: Store) -> Iterator[tuple]:
    k = len(owners)
    sys = (0, SEED_TIME, actor, SEED_TIME, actor, SEED_TIME)
    account_ids = list(id_range("001", 1, accounts)) if obj in ("Contact", "Opportunity") else []
    case_start = store.next_number("CaseNumber") if obj == "Case" else 0
    if obj == "Case":
        store.set_counter("CaseNumber", case_start + n - 1)
    for i, rid in enumerate(id_range(prefix, start, n)):
        owner = owners[i % k]
        closed = i % 3 == 0
        if obj == "Account":
            extra = (f"Account {i:07d}", owner, "Customer")
        elif obj == "Contact":
            extra = ("Contact", f"{i:07d}", f"Contact {i:07d}", account_ids[i % accounts], owner)
        elif obj == "Opportunity":
            extra = (f"Deal {i:07d}", account_ids[i % accounts], owner, "Closed Won" if closed else "Prospecting",
                     "2026-12-31", int(closed), int(closed))
        elif obj == "Case":
            extra = (f"{case_start + i:08d}", f"Case {i}", "Closed" if closed else "New", int(closed), owner)
        elif obj == "Task":
            extra = (f"Task {i}", "Completed" if closed else "Not Started", "Normal", int(closed), "2026-12-15",
                     owner)
        else:
            extra = (f"{i:07d}", f"{i:07d}", "Scale Prospects", "Open - Not Contacted", 0, owner)
        yield (rid, *sys, *extra)
