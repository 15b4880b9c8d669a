"""The ``demo`` seed: Acme Industries, a believable company of about 330 people.

Deterministic (fixed random seed, fixed dates): the same org every time, so
documentation, example playbooks and tests can name its users and count its
records. docs/demo-org.md describes what is in it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from deprovision.localorg import schema
from deprovision.localorg.seed.common import SEED_TIME, Seeder
from deprovision.localorg.seed.empty import DEMO_PASSWORD, DEMO_SECURITY_TOKEN, OrgBase
from deprovision.localorg.store import Store

RANDOM_SEED = 2026
DOMAIN = "acme.example"

FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy Anthony Betty Mark Sandra Paul Ashley Steven "
    "Kimberly Andrew Emily Joshua Donna Kevin Michelle Brian Carol George Amanda Timothy Melissa Ronald Deborah "
    "Jason Stephanie Ryan Rebecca Jacob Laura Gary Sharon Nicholas Cynthia Eric Kathleen Jonathan Amy Aisha Hiro "
    "Mateo Chloe Lars Ingrid Yuki Arjun Fatima Kwame Elena Tomasz Noor Rafael Mei Oskar Zara Ibrahim Leila"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera "
    "Campbell Mitchell Carter Roberts Okafor Tanaka Novak Lindqvist Schmidt Dubois Rossi Costa Yilmaz Singh "
    "Khan Mensah Kowalski Andersen Fischer Moreau Silva Ito Haddad Chen"
).split()
COMPANY_WORDS = (
    "Globex Initech Umbrella Stark Wayne Wonka Tyrell Cyberdyne Soylent Hooli Vandelay Acorn Pinnacle Summit "
    "Northwind Contoso Fabrikam Litware Proseware Adatum Tailspin Woodgrove Blue Yonder Alpine Coho Lucerne "
    "Fourth Coffee Trey Wingtip Margie Humongous Southridge Lamna Relecloud Bellows Datum Graphic Nod Fernhill"
).split()
COMPANY_SUFFIXES = ("Inc", "Ltd", "GmbH", "Group", "Holdings", "Systems", "Labs", "Partners", "Corp", "AG")
INDUSTRIES = ("Manufacturing", "Technology", "Retail", "Healthcare", "Finance", "Energy", "Education", "Media")
CITIES = (("San Francisco", "USA"), ("New York", "USA"), ("Chicago", "USA"), ("Toronto", "Canada"),
          ("London", "UK"), ("Berlin", "Germany"), ("Paris", "France"), ("Milan", "Italy"), ("Tokyo", "Japan"),
          ("Singapore", "Singapore"), ("Sydney", "Australia"), ("Madrid", "Spain"))
OPEN_STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Proposal/Price Quote", "Negotiation/Review")
PRODUCTS = ("Platform Renewal", "Expansion", "New Logo", "Services", "Analytics Add-on", "Support Upgrade")
TASK_SUBJECTS = ("Call", "Send quote", "Follow up", "Email", "Prepare demo", "Review contract", "Check in")
EVENT_SUBJECTS = ("Customer meeting", "Quarterly business review", "Demo", "Onsite workshop", "Lunch")
CASE_SUBJECTS = ("Cannot log in", "Invoice question", "Feature request", "Data export failing", "Sync error",
                 "Password reset", "Performance issue", "Integration timeout")
PROJECT_NAMES = ("Migration", "Rollout", "Integration", "Data Cleanup", "Onboarding", "Audit", "Upgrade")

DEPARTMENTS = {  # department: (size, head title, team-lead title, member title, role stem, profile)
    "Sales": (90, "VP Sales", "Sales Manager", "Account Executive", "Sales", "Standard User"),
    "Support": (60, "VP Support", "Support Manager", "Support Engineer", "Support", "Standard User"),
    "Marketing": (30, "VP Marketing", "Marketing Manager", "Marketing Specialist", "Marketing", "Standard User"),
    "Engineering": (50, "CTO", "Engineering Manager", "Software Engineer", "Engineering", "Standard User"),
    "Finance": (20, "CFO", "Finance Manager", "Financial Analyst", "Finance", "Standard User"),
    "Operations": (20, "COO", "Operations Manager", "Operations Analyst", "Operations", "Standard User"),
    "Legal": (8, "General Counsel", "Legal Manager", "Legal Counsel", "Legal", "Read Only"),
}
# Mean number of records each kind of owner gets (generated users; fixed users have fixed counts).
RECORD_MIX = {
    "Sales": {"Account": 17, "Contact": 42, "Opportunity": 22, "Lead": 12, "Task": 26, "Event": 7},
    "Support": {"Case": 50, "Task": 12, "Event": 2, "Contact": 3},
    "Marketing": {"Lead": 36, "Task": 10, "Event": 5, "Contact": 5, "Project__c": 1},
    "Field Marketing": {"Lead": 30, "Task": 12, "Event": 8, "Project__c": 1},
    "Engineering": {"Project__c": 4, "Task": 8, "Event": 3, "Case": 2},
    "Finance": {"Task": 8, "Event": 3, "Project__c": 1},
    "Operations": {"Project__c": 4, "Task": 10, "Event": 3},
    "Legal": {"Task": 6, "Event": 2, "Project__c": 1},
    "Contractors": {"Project__c": 4, "Task": 7, "Case": 1},
    "IT": {"Task": 3},
}
# Records of the fixed leavers, exactly.
FIXED_RECORDS = {
    "nina.patel": {"Account": 25, "Contact": 60, "Opportunity": 30, "Lead": 20, "Case": 4, "Task": 40, "Event": 12,
                   "Project__c": 3},
    "diego.ramos": {"Account": 15, "Contact": 35, "Opportunity": 20, "Lead": 25, "Case": 2, "Task": 30, "Event": 8,
                    "Project__c": 2},
    "li.wei": {"Account": 2, "Contact": 5, "Opportunity": 2, "Lead": 3, "Case": 70, "Task": 35, "Event": 6,
               "Project__c": 2},
    "sofia.rossi": {"Account": 3, "Contact": 10, "Opportunity": 3, "Lead": 40, "Case": 1, "Task": 25, "Event": 10,
                    "Project__c": 4},
}
QUEUE_RECORDS = {"Support_Queue": {"Case": 400, "Task": 100}, "Unassigned_Leads": {"Lead": 400},
                 "Project_Queue": {"Project__c": 60}}
PERMISSION_SETS = (  # name, label, description
    ("Sales_Extra", "Sales Extra", "Extra object access for sales"),
    ("Support_Console", "Support Console", "Service console and macros"),
    ("Marketing_Cloud_User", "Marketing Cloud User", "Marketing Cloud connector"),
    ("API_Access", "API Access", "API Enabled"),
    ("Report_Builder", "Report Builder", "Create and customize reports"),
    ("Field_Marketing_Tools", "Field Marketing Tools", "Events and campaign tools"),
    ("Contractor_Access", "Contractor Access", "Project objects for contractors"),
    ("Project_Manager", "Project Manager", "Manage projects"),
)
PERMISSION_SET_GROUPS = {"Sales_Ops_Bundle": ("Sales Ops Bundle", ("Sales_Extra", "Report_Builder", "API_Access")),
                         "Support_Bundle": ("Support Bundle", ("Support_Console", "Report_Builder")),
                         "Marketing_Bundle": ("Marketing Bundle", ("Marketing_Cloud_User", "Report_Builder"))}
PERMISSION_SET_LICENSES = (("SalesConsoleUser", "Sales Console User", 150),
                           ("MarketingUser", "Marketing User", 60), ("CRMAnalyticsPlus", "CRM Analytics Plus", 40))
PACKAGE_LICENSES = (("sbqq", 150), ("dsfs", 120))
PUBLIC_GROUPS = ("Sales_Team", "Support_Team", "Marketing_Team", "Engineering_Team", "All_Managers", "EMEA_Sales",
                 "Contractors_Group")
QUEUES = {"Support_Queue": ("Support Queue", ("Case", "Task")), "Unassigned_Leads": ("Unassigned Leads", ("Lead",)),
          "Project_Queue": ("Project Queue", ("Project__c",))}
TERRITORIES = (("EMEA", "EMEA"), ("NA_West", "North America West"), ("NA_East", "North America East"),
               ("APAC", "Asia Pacific"))
OAUTH_APPS = ("Salesforce for Outlook", "Salesforce Mobile", "Dataloader Partner", "Slack", "Tableau")
TODAY = date(2026, 11, 26)


@dataclass(eq=False)
class Person:
    """One user while the demo is built."""

    id: str
    username: str
    department: str
    first: str
    last: str
    manager: str | None = None
    role: str | None = None
    active: bool = True
    frozen: bool = False
    fixed: bool = False
    extra: dict = field(default_factory=dict)


class DemoBuilder:
    """Builds the demo org into a Seeder."""

    def __init__(self, store: Store, seeder: Seeder, base: OrgBase) -> None:
        self.store, self.s, self.base = store, seeder, base
        self.rng = random.Random(RANDOM_SEED)
        self.people: list[Person] = []
        self.by_username: dict[str, Person] = {}
        self.used_names: set[tuple[str, str]] = set()
        self.roles: dict[str, str] = {}
        self.groups: dict[str, str] = {}
        self.queues: dict[str, str] = {}
        self.permission_sets: dict[str, str] = {}
        self.psgs: dict[str, str] = {}
        self.psls: dict[str, str] = {}
        self.packages: dict[str, str] = {}
        self.territories: dict[str, str] = {}
        self.accounts_by_owner: dict[str, list[str]] = {}
        self.all_accounts: list[str] = []
        self.contacts: list[str] = []
        self.opportunities: list[tuple[str, str]] = []  # (id, owner)
        self.cases: list[str] = []
        self.employee_no = 1000

    # --- helpers -------------------------------------------------------------------------------

    def day(self, start: date, span_days: int) -> date:
        return start + timedelta(days=self.rng.randrange(max(span_days, 1)))

    @staticmethod
    def stamp(d: date, hour: int = 9) -> str:
        return f"{d.isoformat()}T{hour:02d}:00:00.000+0000"

    def created(self) -> str:
        return self.stamp(self.day(date(2025, 1, 6), 640), self.rng.randrange(7, 18))

    def fresh_name(self) -> tuple[str, str]:
        while True:
            name = (self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES))
            if name not in self.used_names:
                self.used_names.add(name)
                return name

    def u(self, username: str) -> str:
        return self.by_username[username].id

    # --- structure -------------------------------------------------------------------------------

    def build_roles(self) -> None:
        s = self.s
        self.roles["CEO"] = s.add("UserRole", {"Name": "CEO", "DeveloperName": "CEO"})
        self.roles["IT"] = s.add("UserRole", {"Name": "IT Administrator", "DeveloperName": "IT_Administrator",
                                              "ParentRoleId": self.roles["CEO"]})
        for dept, (_, head, lead, _member, stem, _) in DEPARTMENTS.items():
            h = s.add("UserRole", {"Name": head, "DeveloperName": head.replace(" ", "_"),
                                   "ParentRoleId": self.roles["CEO"]})
            m = s.add("UserRole", {"Name": lead, "DeveloperName": lead.replace(" ", "_"), "ParentRoleId": h})
            r = s.add("UserRole", {"Name": f"{stem} Team Member", "DeveloperName": f"{stem}_Team_Member",
                                   "ParentRoleId": m})
            self.roles[f"{dept}:head"], self.roles[f"{dept}:lead"], self.roles[f"{dept}:member"] = h, m, r
        fm = s.add("UserRole", {"Name": "Field Marketing Manager", "DeveloperName": "Field_Marketing_Manager",
                                "ParentRoleId": self.roles["Marketing:head"]})
        self.roles["Field Marketing:lead"] = fm
        self.roles["Field Marketing:member"] = s.add("UserRole", {
            "Name": "Field Marketer", "DeveloperName": "Field_Marketer", "ParentRoleId": fm})
        for role in list(s.rows["UserRole"]):  # Salesforce keeps one Role group per role
            s.add("Group", {"Name": role["Name"], "DeveloperName": role["DeveloperName"], "Type": "Role",
                            "RelatedId": role["Id"]})

    def person(self, username: str, first: str, last: str, dept: str, title: str, *, role: str | None,
               manager: str | None, profile: str = "Standard User", active: bool = True, frozen: bool = False,
               fixed: bool = False, **extra: object) -> Person:
        self.used_names.add((first, last))
        self.employee_no += 1
        division = self.rng.choice(("Americas", "Americas", "EMEA", "APAC"))
        tz = {"Americas": "America/New_York", "EMEA": "Europe/London", "APAC": "Asia/Singapore"}[division]
        values = {
            "Username": username, "Email": username, "FirstName": first, "LastName": last,
            "Alias": (first[0] + last).lower()[:8], "CommunityNickname": username.split("@")[0],
            "IsActive": active, "ProfileId": self.base.profiles[profile], "UserRoleId": role, "ManagerId": manager,
            "Department": dept, "Division": division, "Title": title, "CompanyName": "Acme Industries",
            "EmployeeNumber": f"E{self.employee_no}", "FederationIdentifier": f"E{self.employee_no}",
            "Phone": f"+1 415 555 {self.employee_no:04d}", "TimeZoneSidKey": tz,
            "LastLoginDate": self.stamp(self.day(date(2026, 10, 1), 55), 8) if active else "2026-03-02T08:00:00.000+0000",
            **extra,
        }
        uid = self.s.user(values, frozen=frozen, created=self.stamp(self.day(date(2024, 3, 1), 600)))
        p = Person(uid, username, dept, first, last, manager, role, active, frozen, fixed)
        self.people.append(p)
        self.by_username[username] = p
        return p

    def build_users(self) -> None:
        admin = Person(self.base.admin_id, "admin@acme.example", "IT", "Ada", "Admin", role=None, fixed=True)
        self.people.append(admin)
        self.by_username[admin.username] = admin
        self.s.rows["User"][0]["UserRoleId"] = self.roles["IT"]
        ceo = self.person(f"helen.brooks@{DOMAIN}", "Helen", "Brooks", "Executive", "Chief Executive Officer",
                          role=self.roles["CEO"], manager=None)
        self.person(f"ops@{DOMAIN}", "Otto", "Operations", "Operations", "Salesforce Operations",
                    role=self.roles["IT"], manager=ceo.id, profile="System Administrator", fixed=True)
        heads = {}
        for dept, (_, head, _, _, _, _) in DEPARTMENTS.items():
            first, last = self.fresh_name()
            heads[dept] = self.person(f"{first}.{last}@{DOMAIN}".lower(), first, last, dept, head,
                                      role=self.roles[f"{dept}:head"], manager=ceo.id)
        # fixed managers and leavers
        omar = self.person(f"omar.haddad@{DOMAIN}", "Omar", "Haddad", "Sales", "Sales Director",
                           role=self.roles["Sales:lead"], manager=heads["Sales"].id, fixed=True)
        nina = self.person(f"nina.patel@{DOMAIN}", "Nina", "Patel", "Sales", "Sales Manager",
                           role=self.roles["Sales:lead"], manager=omar.id, fixed=True)
        self.person(f"diego.ramos@{DOMAIN}", "Diego", "Ramos", "Sales", "Account Executive",
                    role=self.roles["Sales:member"], manager=nina.id, fixed=True)
        grace = self.person(f"grace.kim@{DOMAIN}", "Grace", "Kim", "Support", "Support Manager",
                            role=self.roles["Support:lead"], manager=heads["Support"].id, fixed=True)
        self.person(f"li.wei@{DOMAIN}", "Li", "Wei", "Support", "Support Engineer",
                    role=self.roles["Support:member"], manager=grace.id, fixed=True)
        self.person(f"sofia.rossi@{DOMAIN}", "Sofia", "Rossi", "Marketing", "Marketing Operations Lead",
                    role=self.roles["Marketing:lead"], manager=None, fixed=True)
        harriet = self.person(f"harriet.cole@{DOMAIN}", "Harriet", "Cole", "Marketing", "Field Marketing Manager",
                              role=self.roles["Field Marketing:lead"], manager=heads["Marketing"].id, fixed=True)
        for n in range(1, 13):
            first, last = self.fresh_name()
            self.person(f"contractor{n:02d}@{DOMAIN}", first, last, "Contractors", "Contractor", role=None,
                        manager=grace.id, profile="Standard Platform User", active=n != 7, frozen=n == 9, fixed=True)
        for _ in range(15):
            first, last = self.fresh_name()
            self.person(f"{first}.{last}@{DOMAIN}".lower(), first, last, "Field Marketing", "Field Marketer",
                        role=self.roles["Field Marketing:member"], manager=harriet.id)
        # everyone else: team leads under the head, members under the leads
        fixed_in_dept = {"Sales": 3, "Support": 2, "Marketing": 2}
        for dept, (size, _, lead_title, member_title, _, profile) in DEPARTMENTS.items():
            leads = [p for p in self.people if p.department == dept and p.role == self.roles[f"{dept}:lead"]]
            remaining = size - 1 - fixed_in_dept.get(dept, 0)
            n_leads = max(1, remaining // 10) - len(leads) if remaining > 12 else max(0, 1 - len(leads))
            for _ in range(n_leads):
                first, last = self.fresh_name()
                leads.append(self.person(f"{first}.{last}@{DOMAIN}".lower(), first, last, dept, lead_title,
                                         role=self.roles[f"{dept}:lead"], manager=heads[dept].id, profile=profile))
                remaining -= 1
            for _ in range(remaining):
                first, last = self.fresh_name()
                self.person(f"{first}.{last}@{DOMAIN}".lower(), first, last, dept, member_title,
                            role=self.roles[f"{dept}:member"], manager=self.rng.choice(leads).id, profile=profile)
        # earlier leavers (inactive) and some frozen accounts among generated users
        generated = [p for p in self.people if not p.fixed and p.department not in ("Executive", "Field Marketing")
                     and p.role not in (self.roles.get(f"{p.department}:head"),)]
        managers = {p.manager for p in self.people}
        candidates = [p for p in generated if p.id not in managers]
        for p in self.rng.sample(candidates, 14):
            p.active = False
        for p in self.rng.sample([p for p in candidates if p.active], 5):
            p.frozen = True
        by_id = {row["Id"]: row for row in self.s.rows["User"]}
        logins = {row["UserId"]: row for row in self.s.rows["UserLogin"]}
        for p in self.people:
            by_id[p.id]["IsActive"] = p.active
            logins[p.id]["IsFrozen"] = p.frozen
        # approvers: sofia is a delegated approver; some users have a backup approver (hierarchy field)
        sales_reps = [p for p in self.people if p.department == "Sales" and not p.fixed and p.active]
        by_id[sales_reps[0].id]["DelegatedApproverId"] = self.u(f"sofia.rossi@{DOMAIN}")
        for p in sales_reps[1:6]:
            by_id[p.id]["Backup_Approver__c"] = omar.id
        support = [p for p in self.people if p.department == "Support" and not p.fixed and p.active]
        for p in support[:4]:
            by_id[p.id]["Backup_Approver__c"] = grace.id

    def build_access(self) -> None:
        s = self.s
        for name, label, description in PERMISSION_SETS:
            self.permission_sets[name] = s.add("PermissionSet", {"Name": name, "Label": label,
                                                                 "Description": description, "Type": "Regular"})
        for dev, (label, members) in PERMISSION_SET_GROUPS.items():
            gid = s.add("PermissionSetGroup", {"DeveloperName": dev, "MasterLabel": label, "Status": "Updated"})
            self.psgs[dev] = gid
            self.permission_sets[f"group:{dev}"] = s.add("PermissionSet", {
                "Name": dev, "Label": label, "PermissionSetGroupId": gid, "Type": "Group", "IsCustom": False})
            for m in members:
                s.add("PermissionSetGroupComponent", {"PermissionSetGroupId": gid,
                                                      "PermissionSetId": self.permission_sets[m]})
        for dev, label, total in PERMISSION_SET_LICENSES:
            self.psls[dev] = s.add("PermissionSetLicense", {"DeveloperName": dev, "MasterLabel": label,
                                                            "TotalLicenses": total, "UsedLicenses": 0})
        for ns, allowed in PACKAGE_LICENSES:
            self.packages[ns] = s.add("PackageLicense", {"NamespacePrefix": ns, "AllowedLicenses": allowed,
                                                         "UsedLicenses": 0, "Status": "Active",
                                                         "IsProvisioned": True})
        for dev in PUBLIC_GROUPS:
            self.groups[dev] = s.add("Group", {"Name": dev.replace("_", " "), "DeveloperName": dev,
                                               "Type": "Regular"})
        for dev, (label, objects) in QUEUES.items():
            qid = s.add("Group", {"Name": label, "DeveloperName": dev, "Type": "Queue",
                                  "Email": f"{dev.lower()}@{DOMAIN}"})
            self.queues[dev] = qid
            for obj in objects:
                s.add("QueueSobject", {"QueueId": qid, "SobjectType": obj})
        if schema.get_object("Territory2") is not None:  # Enterprise Territory Management is on
            model = s.add("Territory2Model", {"Name": "FY2027", "DeveloperName": "FY2027", "State": "Active"})
            region = s.add("Territory2Type", {"MasterLabel": "Region", "DeveloperName": "Region", "Priority": 1})
            for dev, label in TERRITORIES:
                self.territories[dev] = s.add("Territory2", {"Name": label, "DeveloperName": dev,
                                                             "Territory2ModelId": model, "Territory2TypeId": region})

        def psa(p: Person, ps: str) -> None:
            s.add("PermissionSetAssignment", {"AssigneeId": p.id, "PermissionSetId": self.permission_sets[ps],
                                              "PermissionSetGroupId": self.psgs.get(ps.removeprefix("group:"))})

        def member(group: str, p: Person) -> None:
            s.add("GroupMember", {"GroupId": group, "UserOrGroupId": p.id})

        counts = {"psl": {k: 0 for k in self.psls}, "pkg": {k: 0 for k in self.packages}}
        s.add("GroupMember", {"GroupId": self.groups["Sales_Team"], "UserOrGroupId": self.groups["EMEA_Sales"]})
        managers = {p.manager for p in self.people}
        for p in self.people:
            if p.username == "admin@acme.example":
                continue
            dept = p.department
            r = self.rng.random()
            sets = {"Sales": ["Sales_Extra"] + (["group:Sales_Ops_Bundle"] if r < 0.3 else []),
                    "Support": ["Support_Console"] + (["group:Support_Bundle"] if r < 0.3 else []),
                    "Marketing": ["Marketing_Cloud_User"], "Field Marketing": ["Field_Marketing_Tools",
                                                                               "Marketing_Cloud_User"],
                    "Contractors": ["Contractor_Access"], "Engineering": ["API_Access"],
                    "Operations": ["Project_Manager", "Report_Builder"], "Finance": ["Report_Builder"]}.get(dept, [])
            if r > 0.8 and "Report_Builder" not in sets:
                sets.append("Report_Builder")
            for ps in sets:
                psa(p, ps)
            team = {"Sales": "Sales_Team", "Support": "Support_Team", "Marketing": "Marketing_Team",
                    "Field Marketing": "Marketing_Team", "Engineering": "Engineering_Team",
                    "Contractors": "Contractors_Group"}.get(dept)
            if team:
                member(self.groups[team], p)
            if p.id in managers:
                member(self.groups["All_Managers"], p)
            if dept == "Sales" and r < 0.35:
                member(self.groups["EMEA_Sales"], p)
            if dept == "Support" and r < 0.7:
                member(self.queues["Support_Queue"], p)
            if dept in ("Sales", "Marketing") and r < 0.25:
                member(self.queues["Unassigned_Leads"], p)
            if dept in ("Engineering", "Operations", "Contractors") and r < 0.5:
                member(self.queues["Project_Queue"], p)
            if dept in ("Sales", "Support") and r < 0.6:
                s.add("PermissionSetLicenseAssign", {"AssigneeId": p.id, "PermissionSetLicenseId":
                                                     self.psls["SalesConsoleUser"]})
                counts["psl"]["SalesConsoleUser"] += 1
            if dept in ("Marketing", "Field Marketing") and r < 0.8:
                s.add("PermissionSetLicenseAssign", {"AssigneeId": p.id, "PermissionSetLicenseId":
                                                     self.psls["MarketingUser"]})
                counts["psl"]["MarketingUser"] += 1
            if dept == "Sales" and r < 0.9:
                s.add("UserPackageLicense", {"UserId": p.id, "PackageLicenseId": self.packages["sbqq"]})
                counts["pkg"]["sbqq"] += 1
            if dept in ("Sales", "Legal") and r < 0.6:
                s.add("UserPackageLicense", {"UserId": p.id, "PackageLicenseId": self.packages["dsfs"]})
                counts["pkg"]["dsfs"] += 1
            if dept == "Sales" and r < 0.7 and self.territories:
                terr = self.rng.choice(list(self.territories))
                s.add("UserTerritory2Association", {"UserId": p.id, "Territory2Id": self.territories[terr],
                                                    "RoleInTerritory2": "Sales Rep"})
            if p.active and r < 0.3:
                self.oauth_token(p)
            if p.active and not p.frozen and r < 0.2:
                self.auth_session(p)
        self.fixed_access(psa, member, counts)
        for row in s.rows["PermissionSetLicense"]:
            row["UsedLicenses"] = counts["psl"][row["DeveloperName"]]
        for row in s.rows["PackageLicense"]:
            row["UsedLicenses"] = counts["pkg"][row["NamespacePrefix"]]

    def fixed_access(self, psa, member, counts) -> None:
        """Every kind of assignment and membership for the fixed leavers (on top of their department's)."""
        s = self.s
        nina, diego, li, sofia = (self.by_username[f"{n}@{DOMAIN}"] for n in
                                  ("nina.patel", "diego.ramos", "li.wei", "sofia.rossi"))
        existing = {(r["AssigneeId"], r["PermissionSetId"]) for r in s.rows["PermissionSetAssignment"]}
        members = {(r["GroupId"], r["UserOrGroupId"]) for r in s.rows["GroupMember"]}
        plan = {
            nina: (["API_Access", "Report_Builder", "group:Sales_Ops_Bundle"], ["All_Managers", "EMEA_Sales"],
                   ["Unassigned_Leads"], ["SalesConsoleUser", "CRMAnalyticsPlus"], ["sbqq", "dsfs"], ["EMEA", "APAC"]),
            diego: (["API_Access", "group:Sales_Ops_Bundle"], ["EMEA_Sales"], ["Unassigned_Leads"],
                    ["SalesConsoleUser"], ["sbqq", "dsfs"], ["NA_West"]),
            li: (["Report_Builder", "group:Support_Bundle"], ["Engineering_Team"], ["Support_Queue"],
                 ["SalesConsoleUser"], ["dsfs"], ["NA_East"]),
            sofia: (["Report_Builder", "API_Access", "group:Marketing_Bundle"], ["All_Managers"], ["Unassigned_Leads", "Project_Queue"],
                    ["MarketingUser", "CRMAnalyticsPlus"], ["dsfs"], ["EMEA"]),
        }
        for p, (sets, groups, queues, psls, pkgs, terrs) in plan.items():
            for ps in sets:
                if (p.id, self.permission_sets[ps]) not in existing:
                    psa(p, ps)
            for g in groups:
                if (self.groups[g], p.id) not in members:
                    member(self.groups[g], p)
            for q in queues:
                if (self.queues[q], p.id) not in members:
                    member(self.queues[q], p)
            have = {(r["AssigneeId"], r["PermissionSetLicenseId"]) for r in s.rows["PermissionSetLicenseAssign"]}
            for lic in psls:
                if (p.id, self.psls[lic]) not in have:
                    s.add("PermissionSetLicenseAssign", {"AssigneeId": p.id, "PermissionSetLicenseId": self.psls[lic]})
                    counts["psl"][lic] += 1
            have = {(r["UserId"], r["PackageLicenseId"]) for r in s.rows["UserPackageLicense"]}
            for ns in pkgs:
                if (p.id, self.packages[ns]) not in have:
                    s.add("UserPackageLicense", {"UserId": p.id, "PackageLicenseId": self.packages[ns]})
                    counts["pkg"][ns] += 1
            have = {(r["UserId"], r["Territory2Id"]) for r in s.rows["UserTerritory2Association"]}
            for t in terrs if self.territories else ():
                if (p.id, self.territories[t]) not in have:
                    s.add("UserTerritory2Association", {"UserId": p.id, "Territory2Id": self.territories[t],
                                                        "RoleInTerritory2": "Owner"})
            have_tokens = sum(1 for r in s.rows["OauthToken"] if r["UserId"] == p.id)
            for _ in range(3 - have_tokens):
                self.oauth_token(p)
            if not any(r["UsersId"] == p.id for r in s.rows["AuthSession"]):
                self.auth_session(p)
        for n in (1, 2, 3, 5, 8, 9, 11):  # contractors: queue membership, licences, tokens
            c = self.by_username[f"contractor{n:02d}@{DOMAIN}"]
            if (self.queues["Project_Queue"], c.id) not in members:
                member(self.queues["Project_Queue"], c)
            if c.active and not any(r["UserId"] == c.id for r in s.rows["OauthToken"]):
                self.oauth_token(c)

    def oauth_token(self, p: Person) -> None:
        app = self.rng.choice(OAUTH_APPS)
        secret = "".join(self.rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                         for _ in range(40))
        self.s.rows["OauthToken"].append({
            "Id": None, "IsDeleted": 0, "CreatedDate": self.created(), "CreatedById": p.id,
            "LastModifiedDate": SEED_TIME, "LastModifiedById": p.id, "SystemModstamp": SEED_TIME,
            "AppName": app, "AccessToken": "5Aep861" + secret[:24], "DeleteToken": "DT" + secret,
            "LastUsedDate": self.stamp(self.day(date(2026, 10, 1), 50), 10), "UseCount": self.rng.randrange(1, 900),
            "RequestToken": None, "AppMenuItemId": None, "UserId": p.id})

    def auth_session(self, p: Person) -> None:
        self.s.add("AuthSession", {"UsersId": p.id, "SessionType": self.rng.choice(("UI", "Oauth2", "SubstituteUser")),
                                   "LoginType": "Application", "SourceIp": f"10.20.{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}",
                                   "NumSecondsValid": 7200, "UserType": "Standard", "IsCurrent": False,
                                   "SessionSecurityLevel": "STANDARD", "CreatedById": p.id},
                   created=self.stamp(date(2026, 11, 25), self.rng.randrange(7, 20)))

    # --- records -------------------------------------------------------------------------------

    def mix_for(self, p: Person) -> dict[str, int]:
        local = p.username.split("@")[0]
        if local in FIXED_RECORDS:
            return dict(FIXED_RECORDS[local])
        mean = RECORD_MIX.get(p.department, {})
        lead_factor = 0.5 if p.role and p.role == self.roles.get(f"{p.department}:head") else 1.0
        return {obj: max(0, round(m * lead_factor * self.rng.uniform(0.5, 1.5))) for obj, m in mean.items()}

    def build_records(self) -> None:
        owners = [p for p in self.people if p.username != "admin@acme.example"]
        mixes = {p.id: self.mix_for(p) for p in owners}
        for p in owners:  # accounts first: everything else points at them
            for _ in range(mixes[p.id].get("Account", 0)):
                self.account(p.id)
        for q, mix in QUEUE_RECORDS.items():
            mixes[self.queues[q]] = mix
        for owner_id, mix in mixes.items():
            for obj, n in mix.items():
                if obj == "Account":
                    continue
                make = getattr(self, obj.lower().removesuffix("__c"))
                for i in range(n):
                    make(owner_id, i, n)
        self.teams()
        self.reports_and_jobs()

    def account(self, owner: str) -> str:
        rng = self.rng
        city, country = rng.choice(CITIES)
        name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_SUFFIXES)}"
        aid = self.s.add("Account", {
            "Name": name, "OwnerId": owner, "Type": rng.choice(("Customer", "Customer", "Prospect", "Partner")),
            "Industry": rng.choice(INDUSTRIES), "BillingCity": city, "BillingCountry": country,
            "AnnualRevenue": float(rng.randrange(1, 500) * 100_000), "Phone": f"+1 212 555 {rng.randrange(10000):04d}",
            "CreatedById": owner}, created=self.created())
        self.accounts_by_owner.setdefault(owner, []).append(aid)
        self.all_accounts.append(aid)
        return aid

    def some_account(self, owner: str) -> str:
        own = self.accounts_by_owner.get(owner)
        return self.rng.choice(own) if own and self.rng.random() < 0.85 else self.rng.choice(self.all_accounts)

    def contact(self, owner: str, i: int, n: int) -> None:
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        self.contacts.append(self.s.add("Contact", {
            "FirstName": first, "LastName": last, "Email": f"{first}.{last}{self.rng.randrange(100)}@example.com".lower(),
            "Title": self.rng.choice(("CIO", "Buyer", "VP Operations", "IT Manager", "Controller", "Engineer")),
            "AccountId": self.some_account(owner), "OwnerId": owner, "CreatedById": owner}, created=self.created()))

    def opportunity(self, owner: str, i: int, n: int) -> None:
        is_open = i < max(1, round(n * 0.6))
        if is_open:
            stage, close = self.rng.choice(OPEN_STAGES), self.day(date(2026, 12, 1), 200)
        else:
            stage, close = self.rng.choice(("Closed Won", "Closed Lost")), self.day(date(2025, 3, 1), 500)
        oid = self.s.add("Opportunity", {
            "Name": f"{self.rng.choice(COMPANY_WORDS)} - {self.rng.choice(PRODUCTS)}", "AccountId": self.some_account(owner),
            "OwnerId": owner, "StageName": stage, "Amount": float(self.rng.randrange(5, 400) * 1000),
            "CloseDate": close.isoformat(), "CreatedById": owner}, created=self.created())
        self.opportunities.append((oid, owner))

    def lead(self, owner: str, i: int, n: int) -> None:
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        status = self.rng.choice(("Open - Not Contacted", "Working - Contacted", "Working - Contacted",
                                  "Closed - Not Converted"))
        self.s.add("Lead", {"FirstName": first, "LastName": last,
                            "Company": f"{self.rng.choice(COMPANY_WORDS)} {self.rng.choice(COMPANY_SUFFIXES)}",
                            "Email": f"{first}.{last}@lead.example".lower(), "Status": status,
                            "IsConverted": False, "OwnerId": owner}, created=self.created())

    def case(self, owner: str, i: int, n: int) -> None:
        number = self.s.counters.get("CaseNumber", 0) + 1
        self.s.counters["CaseNumber"] = number
        is_open = i < max(1, round(n * 0.65))
        status = self.rng.choice(("New", "Working", "Escalated")) if is_open else "Closed"
        self.cases.append(self.s.add("Case", {
            "CaseNumber": f"{number:08d}", "Subject": self.rng.choice(CASE_SUBJECTS), "Status": status,
            "Priority": self.rng.choice(("Low", "Medium", "High")), "Origin": self.rng.choice(("Email", "Phone", "Web")),
            "AccountId": self.rng.choice(self.all_accounts),
            "ContactId": self.rng.choice(self.contacts) if self.contacts else None, "OwnerId": owner},
            created=self.created()))

    def task(self, owner: str, i: int, n: int) -> None:
        is_open = i < max(1, round(n * 0.55))
        what = self.rng.random()
        if what < 0.5 and self.all_accounts:
            what_id = self.some_account(owner)
        elif what < 0.8 and self.opportunities:
            what_id = self.rng.choice(self.opportunities)[0]
        elif self.cases:
            what_id = self.rng.choice(self.cases)
        else:
            what_id = None
        due = self.day(date(2026, 11, 27), 60) if is_open else self.day(date(2025, 6, 1), 500)
        self.s.add("Task", {"Subject": self.rng.choice(TASK_SUBJECTS),
                            "Status": self.rng.choice(("Not Started", "In Progress")) if is_open else "Completed",
                            "Priority": self.rng.choice(("Normal", "Normal", "High")), "ActivityDate": due.isoformat(),
                            "WhatId": what_id, "OwnerId": owner}, created=self.created())

    def event(self, owner: str, i: int, n: int) -> None:
        future = i < max(1, round(n * 0.5))
        day = self.day(date(2026, 12, 1), 90) if future else self.day(date(2026, 1, 5), 300)
        hour = self.rng.randrange(8, 17)
        start = self.stamp(day, hour)
        self.s.add("Event", {"Subject": self.rng.choice(EVENT_SUBJECTS), "StartDateTime": start,
                             "EndDateTime": self.stamp(day, hour + 1), "ActivityDateTime": start,
                             "DurationInMinutes": 60, "WhatId": self.some_account(owner) if owner.startswith("005")
                             else None, "OwnerId": owner}, created=self.created())

    def project(self, owner: str, i: int, n: int) -> None:
        is_open = i < max(1, round(n * 0.6))
        status = self.rng.choice(("Planned", "In Progress")) if is_open else self.rng.choice(("Completed", "Cancelled"))
        self.s.add("Project__c", {"Name": f"{self.rng.choice(COMPANY_WORDS)} {self.rng.choice(PROJECT_NAMES)}",
                                  "OwnerId": owner, "Status__c": status,
                                  "Account__c": self.rng.choice(self.all_accounts)}, created=self.created())

    def teams(self) -> None:
        sales = [p.id for p in self.people if p.department == "Sales" and p.active]
        fixed = [self.u(f"{n}@{DOMAIN}") for n in ("nina.patel", "diego.ramos", "li.wei", "sofia.rossi")]
        for aid in self.rng.sample(self.all_accounts, 400):
            for uid in self.rng.sample(sales, 2):
                self.s.add("AccountTeamMember", {"AccountId": aid, "UserId": uid, "TeamMemberRole": "Account Manager",
                                                 "AccountAccessLevel": "Edit"})
        for oid, _ in self.rng.sample(self.opportunities, 300):
            self.s.add("OpportunityTeamMember", {"OpportunityId": oid, "UserId": self.rng.choice(sales),
                                                 "TeamMemberRole": "Sales Engineer", "OpportunityAccessLevel": "Read"})
        others = [a for a in self.all_accounts if a not in set(self.accounts_by_owner.get(fixed[0], []))]
        for uid in fixed:  # each fixed leaver sits on other people's account and opportunity teams
            for aid in others[:3]:
                self.s.add("AccountTeamMember", {"AccountId": aid, "UserId": uid, "TeamMemberRole": "Sales Engineer",
                                                 "AccountAccessLevel": "Read"})
            for oid, _ in [o for o in self.opportunities if o[1] != uid][:2]:
                self.s.add("OpportunityTeamMember", {"OpportunityId": oid, "UserId": uid,
                                                     "TeamMemberRole": "Executive Sponsor",
                                                     "OpportunityAccessLevel": "Edit"})
            others = others[3:]
        self.colleagues_on_leaver_records(fixed, [p for p in sales if p not in fixed])

    def colleagues_on_leaver_records(self, fixed: list[str], colleagues: list[str]) -> None:
        """A colleague on each fixed leaver's first account and first (open) opportunity: the rows an API owner
        change deletes unless SOAP OwnerChangeOptions keeps them (KB 000390190)."""
        on_account = {(r["AccountId"], r["UserId"]) for r in self.s.rows["AccountTeamMember"]}
        on_opportunity = {(r["OpportunityId"], r["UserId"]) for r in self.s.rows["OpportunityTeamMember"]}
        for n, uid in enumerate(fixed):
            colleague = colleagues[(7 * n + 3) % len(colleagues)]
            for aid in self.accounts_by_owner.get(uid, [])[:1]:
                if (aid, colleague) not in on_account:
                    self.s.add("AccountTeamMember", {"AccountId": aid, "UserId": colleague,
                                                     "TeamMemberRole": "Customer Success Manager",
                                                     "AccountAccessLevel": "Edit"})
            for oid in [o for o, owner in self.opportunities if owner == uid][:1]:  # an owner's first is open
                if (oid, colleague) not in on_opportunity:
                    self.s.add("OpportunityTeamMember", {"OpportunityId": oid, "UserId": colleague,
                                                         "TeamMemberRole": "Sales Engineer",
                                                         "OpportunityAccessLevel": "Edit"})

    def reports_and_jobs(self) -> None:
        s = self.s
        sofia, nina, diego = (self.u(f"{n}@{DOMAIN}") for n in ("sofia.rossi", "nina.patel", "diego.ramos"))
        s.add("Report", {"Name": "Campaign Influence Q4", "DeveloperName": "Campaign_Influence_Q4", "OwnerId": sofia,
                         "FolderName": "Marketing Reports", "LastRunDate": "2026-11-20T10:00:00.000+0000"})
        s.add("Report", {"Name": "My Open Pipeline", "DeveloperName": "Nina_Open_Pipeline", "OwnerId": nina,
                         "FolderName": "Private Reports", "LastRunDate": "2026-11-24T10:00:00.000+0000"})
        active = [p for p in self.people if p.active and p.department not in ("Contractors",)]
        for n in range(28):
            p = self.rng.choice(active)
            s.add("Report", {"Name": f"{p.department} report {n + 1}", "DeveloperName": f"Report_{n + 1}",
                             "OwnerId": p.id, "FolderName": f"{p.department} Reports",
                             "LastRunDate": self.stamp(self.day(date(2026, 9, 1), 80), 10)})
        s.add("Dashboard", {"Title": "Marketing Pipeline", "DeveloperName": "Marketing_Pipeline", "RunningUserId": sofia,
                            "FolderName": "Marketing Dashboards"})
        s.add("Dashboard", {"Title": "Sales Leaderboard", "DeveloperName": "Sales_Leaderboard", "RunningUserId": nina,
                            "FolderName": "Sales Dashboards"})
        for n, dept in enumerate(("Support", "Finance", "Operations", "Engineering", "Sales", "Marketing")):
            head = next(p for p in self.people if p.role == self.roles[f"{dept}:head"])
            s.add("Dashboard", {"Title": f"{dept} Overview", "DeveloperName": f"{dept}_Overview_{n}",
                                "RunningUserId": head.id, "FolderName": f"{dept} Dashboards"})
        nina_opps = [o for o, owner in self.opportunities if owner == diego][:1] + \
                    [o for o, owner in self.opportunities if owner != nina][:1]
        for n, (target, actor) in enumerate(zip(nina_opps, (nina, sofia), strict=True)):
            s.add("ProcessInstanceWorkitem", {"ActorId": actor, "OriginalActorId": actor,
                                              "ProcessInstanceId": f"04g8d00000000{n + 1:02d}AAA",
                                              "TargetObjectId": target, "ElapsedTimeInDays": 2.5 + n})
        s.add("CronTrigger", {"OwnerId": diego, "CronJobDetailName": "Nightly Lead Scoring", "State": "WAITING",
                              "NextFireTime": "2026-11-27T02:00:00.000+0000", "CronExpression": "0 0 2 * * ?"})
        s.add("CronTrigger", {"OwnerId": self.base.admin_id, "CronJobDetailName": "Weekly Data Cleanup",
                              "State": "WAITING", "NextFireTime": "2026-11-29T03:00:00.000+0000",
                              "CronExpression": "0 0 3 ? * SUN"})


    def build_files_and_contracts(self) -> None:
        """Files (ContentDocument/ContentVersion with small bytes and a link to the record), attachments,
        notes, campaigns, contracts, orders and assets: the fixed leavers own some of each. A random
        sequence of its own, so the other records stay as they were."""
        from deprovision.localorg import files

        if schema.get_object("ContentVersion") is None:
            return
        rng = random.Random(RANDOM_SEED + 7)
        s, conn = self.s, self.store.conn
        owners = [self.u(f"{name}@{DOMAIN}") for name in FIXED_RECORDS]
        marketing = [p.id for p in self.people if p.department == "Marketing" and p.active][:6] or owners
        campaigns = []
        for n, label in enumerate(("Spring Launch", "Partner Summit", "Q4 Webinar Series", "Trade Show Berlin")):
            campaigns.append(s.add("Campaign", {"Name": label, "Type": rng.choice(("Webinar", "Conference", "Email")),
                                                "Status": "Completed" if n < 2 else "In Progress", "IsActive": n >= 2,
                                                "OwnerId": owners[3] if n % 2 else marketing[n % len(marketing)],
                                                "BudgetedCost": 5000.0 * (n + 1)}))
        for owner in owners:
            for k, aid in enumerate(self.accounts_by_owner.get(owner, [])[:4]):
                start = date(2026, 1 + k, 1)
                contract = s.add("Contract", {"AccountId": aid, "OwnerId": owner, "StartDate": start.isoformat(),
                                              "ContractTerm": 12, "Status": "Activated" if k % 2 == 0 else "Draft",
                                              "StatusCode": "Activated" if k % 2 == 0 else "Draft",
                                              "ContractNumber": f"{self.s.counters.get('Contract', 0):08d}"})
                s.add("Order", {"AccountId": aid, "ContractId": contract, "OwnerId": owner, "Status": "Draft",
                                "StatusCode": "Draft", "EffectiveDate": start.isoformat(),
                                "OrderNumber": f"{self.s.counters.get('Order', 0):08d}"})
                s.add("Asset", {"AccountId": aid, "OwnerId": owner, "Name": f"Platform licence {k + 1}",
                                "Status": "Installed", "Quantity": float(rng.randint(5, 50))})
                s.add("Note", {"ParentId": aid, "OwnerId": owner, "Title": f"Call notes {k + 1}",
                               "Body": "Discussed renewal and open support cases."})
                body = f"Quote for account {aid}, revision {k + 1}\n".encode()
                attachment = s.add("Attachment", {"ParentId": aid, "OwnerId": owner, "Name": f"quote-{k + 1}.txt",
                                                  "ContentType": "text/plain", "BodyLength": len(body)})
                s.rows["Attachment"][-1]["Body"] = files.put(conn, "Attachment", attachment, "Body", body)
                data = bytes(rng.randrange(256) for _ in range(64 + 16 * k))
                document = s.new_id("ContentDocument")
                version = s.new_id("ContentVersion")
                facts = files.file_facts(f"proposal-{k + 1}.pdf", data)
                s.add("ContentDocument", {"OwnerId": owner, "Title": f"Proposal {k + 1}", "PublishStatus": "P",
                                          "LatestPublishedVersionId": version, **facts}, record_id=document)
                s.add("ContentVersion", {"ContentDocumentId": document, "OwnerId": owner, "Title": f"Proposal {k + 1}",
                                         "PathOnClient": f"proposal-{k + 1}.pdf", "VersionNumber": "1",
                                         "IsLatest": True, "FirstPublishLocationId": aid,
                                         "VersionData": files.put(conn, "ContentVersion", version, "VersionData", data),
                                         **facts}, record_id=version)
                s.add("ContentDocumentLink", {"ContentDocumentId": document, "LinkedEntityId": aid,
                                              "ShareType": "V", "Visibility": "AllUsers"})
                s.add("ContentDocumentLink", {"ContentDocumentId": document, "LinkedEntityId": owner,
                                              "ShareType": "I", "Visibility": "AllUsers"})


FIXED_PASSWORD_USERS = ("admin", "ops", "nina.patel", "li.wei", "diego.ramos", "sofia.rossi", "omar.haddad",
                        "grace.kim", "harriet.cole", *(f"contractor{n:02d}" for n in range(1, 13)))


def build_demo(store: Store, seeder: Seeder, base: OrgBase) -> None:
    """Queue and write the demo org; set its blockers and credentials."""
    b = DemoBuilder(store, seeder, base)
    b.build_roles()
    b.build_users()
    b.build_access()
    b.build_records()
    b.build_files_and_contracts()
    seeder.flush()
    store.configure(default_case_owner_id=b.u(f"ops@{DOMAIN}"), web_to_lead_creator_id=b.u(f"ops@{DOMAIN}"),
                    default_workflow_user_id=base.admin_id)
    for local in FIXED_PASSWORD_USERS:
        store.set_password(b.u(f"{local}@{DOMAIN}"), DEMO_PASSWORD, DEMO_SECURITY_TOKEN)
