"""The ``empty`` seed: a new org as Salesforce creates one (no business data)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from deprovision.localorg import ids
from deprovision.localorg.seed.common import Seeder
from deprovision.localorg.store import Store

ADMIN_USERNAME = "admin@acme.example"
# Local-only credentials of the seeded org (documented in docs/demo-org.md).
DEMO_PASSWORD = "LocalOrg-2026!"
DEMO_SECURITY_TOKEN = "LOCALORGTOKEN"
CONSUMER_KEY = "3MVG9LocalOrg.Deprovision.ConnectedApp"
CONSUMER_SECRET = "local-org-consumer-secret"
CONNECTED_APP_NAME = "deprovision"

LICENSES = (  # name, definition key, total
    ("Salesforce", "SFDC", 450),
    ("Salesforce Platform", "AUL", 100),
    ("Chatter Free", "PID_Chatter", 5000),
)
PROFILES = (  # name, licence, user type, manage users, view setup, modify all data
    ("System Administrator", "Salesforce", "Standard", True, True, True),
    ("Standard User", "Salesforce", "Standard", False, False, False),
    ("Read Only", "Salesforce", "Standard", False, False, False),
    ("Minimum Access - Salesforce", "Salesforce", "Standard", False, False, False),
    ("Standard Platform User", "Salesforce Platform", "Standard", False, False, False),
    ("Chatter Free User", "Chatter Free", "CsnOnly", False, False, False),
)


class OrgBase:
    """Ids of the rows every seed starts from."""

    def __init__(self) -> None:
        self.admin_id = ids.make_id("005", 1)
        self.licenses: dict[str, str] = {}
        self.profiles: dict[str, str] = {}
        self.all_internal_users_id = ""


def build_empty(store: Store, seeder: Seeder) -> OrgBase:
    """Queue the rows of a new org; the caller flushes."""
    base = OrgBase()
    seeder.add("Organization", {"Name": "Acme Industries", "InstanceName": "LOCAL1", "IsSandbox": False,
                                "OrganizationType": "Enterprise Edition", "DefaultLocaleSidKey": "en_US",
                                "TimeZoneSidKey": "America/Los_Angeles"}, record_id=store.org_id)
    for name, key, total in LICENSES:
        base.licenses[name] = seeder.add("UserLicense", {"Name": name, "LicenseDefinitionKey": key,
                                                         "TotalLicenses": total, "UsedLicenses": 0,
                                                         "Status": "Active"})
    seeder.profile_ps = {}
    for name, lic, utype, manage, view, modify in PROFILES:
        perms = {"PermissionsManageUsers": manage, "PermissionsViewSetup": view, "PermissionsModifyAllData": modify,
                 "PermissionsViewAllData": modify, "PermissionsFreezeUsers": manage,
                 "PermissionsManageInternalUsers": manage, "PermissionsTransferAnyEntity": modify,
                 "PermissionsCustomizeApplication": modify, "PermissionsManagePvtRptsAndDashbds": modify}
        pid = seeder.add("Profile", {"Name": name, "UserLicenseId": base.licenses[lic], "UserType": utype, **perms})
        base.profiles[name] = pid
        seeder.profile_ps[pid] = seeder.add("PermissionSet", {
            "Name": "X" + "".join(ch for ch in name.title() if ch.isalnum()), "Label": name,
            "IsOwnedByProfile": True, "ProfileId": pid, "Type": "Profile", "IsCustom": False, **perms})
    seeder.counters["User"] = 0
    admin = seeder.user({"Username": ADMIN_USERNAME, "Email": ADMIN_USERNAME, "FirstName": "Ada",
                         "LastName": "Admin", "Alias": "aadmin", "CommunityNickname": "admin", "IsActive": True,
                         "ProfileId": base.profiles["System Administrator"], "Department": "IT",
                         "Title": "Salesforce Administrator", "CompanyName": "Acme Industries",
                         "EmployeeNumber": "E0001", "FederationIdentifier": "E0001"})
    assert admin == base.admin_id
    base.all_internal_users_id = seeder.add("Group", {"Name": "All Internal Users", "DeveloperName": "AllInternalUsers",
                                                      "Type": "Organization"})
    return base


def finish(store: Store, base: OrgBase) -> None:
    """After the rows are written: licence counts, the API user's credentials, the connected app."""
    store.conn.execute(
        'UPDATE "UserLicense" SET "UsedLicenses" = (SELECT COUNT(*) FROM "User" u JOIN "Profile" p '
        'ON p."Id" = u."ProfileId" WHERE p."UserLicenseId" = "UserLicense"."Id" AND u."IsActive" = 1)')
    store.conn.execute('UPDATE "UserLicense" SET "TotalLicenses" = "UsedLicenses" + "UsedLicenses" / 10 + 10 '
                       'WHERE "UsedLicenses" > "TotalLicenses"')
    store.set_api_user(base.admin_id)
    store.set_password(base.admin_id, DEMO_PASSWORD, DEMO_SECURITY_TOKEN)
    cert, key = _self_signed(CONNECTED_APP_NAME)
    store.register_connected_app(CONSUMER_KEY, CONSUMER_SECRET, name=CONNECTED_APP_NAME,
                                 certificate_pem=cert, private_key_pem=key, execution_user_id=base.admin_id)


def _self_signed(common_name: str) -> tuple[str, str]:
    """A certificate and private key (PEM) for the connected app's JWT bearer flow."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650)).sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())
