"""A small org in a real SQLite database, shared by the SOQL engine tests (no tests here)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from deprovision.localorg.ids import make_id
from deprovision.localorg.soql import create_tables

ALICE, BOB, CAROL, DAVE = (make_id("005", n) for n in (1, 2, 3, 4))
QUEUE, SALES_GROUP = make_id("00G", 1), make_id("00G", 2)
PROFILE_PS, SALES_PS = make_id("0PS", 1), make_id("0PS", 2)
ACME, GLOBEX, INITECH, UMBRELLA, OREILLY = (make_id("001", n) for n in (1, 2, 3, 4, 5))
CASE_ALICE, CASE_QUEUE, CASE_CAROL = (make_id("500", n) for n in (1, 2, 3))
CONTACT = make_id("003", 1)
LEAD = make_id("00Q", 1)
TASK_ACCOUNT, TASK_CASE, TASK_NONE = (make_id("00T", n) for n in (1, 2, 3))

HOSTILE_NAME = "O'Reilly 100% Ltd_x \\ \"quoted\""


def stamp(moment: datetime) -> str:
    """A datetime in the storage form."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def insert(conn: sqlite3.Connection, table: str, **values: object) -> None:
    values.setdefault("IsDeleted", 0)
    cols = ", ".join(f'"{k}"' for k in values)
    marks = ", ".join("?" for _ in values)
    conn.execute(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', list(values.values()))


def build_small_org(conn: sqlite3.Connection, now: datetime | None = None) -> None:
    """Four users, a queue, permission sets, accounts (one deleted), cases, tasks, a token."""
    now = now or datetime.now(UTC)
    create_tables(conn)
    insert(conn, "User", Id=ALICE, Username="alice@example.com", Email="alice@example.com", FirstName="Alice",
           LastName="Smith", Name="Alice Smith", Alias="asmith", IsActive=1, FederationIdentifier="A-1",
           Department="Sales", CreatedDate=stamp(now - timedelta(days=400)))
    insert(conn, "User", Id=BOB, Username="bob@example.com", Email="bob@example.com", FirstName="Bob",
           LastName="Jones", Name="Bob Jones", Alias="bjones", IsActive=1, ManagerId=ALICE,
           Department="Sales", CreatedDate=stamp(now - timedelta(days=3)))
    insert(conn, "User", Id=CAROL, Username="carol@example.com", Email="carol@example.com", FirstName="Carol",
           LastName="O'Brien", Name="Carol O'Brien", Alias="cobrien", IsActive=0, ManagerId=BOB,
           Department="Support", CreatedDate=stamp(now))
    insert(conn, "User", Id=DAVE, Username="dave@example.com", Email="dave@example.com", LastName="Dave",
           Alias="dave", IsActive=1, ManagerId=BOB, CreatedDate=stamp(now + timedelta(days=2)))
    insert(conn, "Group", Id=QUEUE, Name="Support Queue", DeveloperName="Support_Queue", Type="Queue")
    insert(conn, "Group", Id=SALES_GROUP, Name="All Sales", DeveloperName="All_Sales", Type="Regular")
    insert(conn, "GroupMember", Id=make_id("011", 1), GroupId=SALES_GROUP, UserOrGroupId=ALICE)
    insert(conn, "GroupMember", Id=make_id("011", 2), GroupId=SALES_GROUP, UserOrGroupId=QUEUE)
    insert(conn, "GroupMember", Id=make_id("011", 3), GroupId=QUEUE, UserOrGroupId=BOB)
    insert(conn, "PermissionSet", Id=PROFILE_PS, Name="X00ex00000018ozh_128_09_04_12_1", Label="Profile",
           IsOwnedByProfile=1)
    insert(conn, "PermissionSet", Id=SALES_PS, Name="Sales_Extra", Label="Sales Extra", IsOwnedByProfile=0)
    insert(conn, "PermissionSetAssignment", Id=make_id("0Pa", 1), AssigneeId=ALICE, PermissionSetId=PROFILE_PS)
    insert(conn, "PermissionSetAssignment", Id=make_id("0Pa", 2), AssigneeId=BOB, PermissionSetId=PROFILE_PS)
    insert(conn, "PermissionSetAssignment", Id=make_id("0Pa", 3), AssigneeId=BOB, PermissionSetId=SALES_PS)
    insert(conn, "PermissionSetAssignment", Id=make_id("0Pa", 4), AssigneeId=CAROL, PermissionSetId=SALES_PS)
    insert(conn, "Account", Id=ACME, Name="Acme", OwnerId=ALICE, Industry="Tech", AnnualRevenue=1000.5,
           CreatedDate=stamp(now - timedelta(days=10)))
    insert(conn, "Account", Id=GLOBEX, Name="Globex", OwnerId=BOB, Industry="Energy", AnnualRevenue=2000.0,
           CreatedDate=stamp(now - timedelta(days=1)))
    insert(conn, "Account", Id=INITECH, Name="Initech", OwnerId=BOB, AnnualRevenue=None, ParentId=ACME,
           CreatedDate=stamp(now))
    insert(conn, "Account", Id=UMBRELLA, Name="Umbrella", OwnerId=CAROL, Industry="Tech", IsDeleted=1,
           AnnualRevenue=50.0, CreatedDate=stamp(now - timedelta(days=30)))
    insert(conn, "Account", Id=OREILLY, Name=HOSTILE_NAME, OwnerId=ALICE, Industry="tech", AnnualRevenue=10.0,
           CreatedDate=stamp(now - timedelta(days=100)))
    insert(conn, "Contact", Id=CONTACT, LastName="Doe", FirstName="Jane", AccountId=ACME, OwnerId=ALICE)
    insert(conn, "Lead", Id=LEAD, LastName="Lead", Company="Hooli", OwnerId=QUEUE)
    insert(conn, "Case", Id=CASE_ALICE, Subject="Printer", OwnerId=ALICE, AccountId=ACME, IsClosed=0)
    insert(conn, "Case", Id=CASE_QUEUE, Subject="Login", OwnerId=QUEUE, IsClosed=0, CaseNumber="00001002")
    insert(conn, "Case", Id=CASE_CAROL, Subject="Refund", OwnerId=CAROL, IsClosed=1)
    insert(conn, "Task", Id=TASK_ACCOUNT, Subject="Call", WhatId=ACME, WhoId=CONTACT, OwnerId=ALICE,
           ActivityDate=now.date().isoformat())
    insert(conn, "Task", Id=TASK_CASE, Subject="Email", WhatId=CASE_QUEUE, WhoId=LEAD, OwnerId=QUEUE,
           ActivityDate=(now.date() + timedelta(days=5)).isoformat())
    insert(conn, "Task", Id=TASK_NONE, Subject="Think", OwnerId=BOB)
    insert(conn, "OauthToken", UserId=ALICE, AppName="Data Loader", DeleteToken="del-1", UseCount=3)
    conn.commit()


@pytest.fixture
def org() -> sqlite3.Connection:
    """A fresh small org in an in-memory SQLite database."""
    conn = sqlite3.connect(":memory:")
    build_small_org(conn)
    yield conn
    conn.close()
