"""What an org describes as exportable, for the export and wind-down tests."""

from __future__ import annotations


def exportable(sf) -> dict[str, list[str]]:
    """Objects the org describes as exportable, with their base64 fields."""
    out = {}
    for entry in sf.describe()["sobjects"]:
        if not entry.get("queryable") or not entry.get("replicateable", entry.get("retrieveable")):
            continue
        if entry["name"] in ("OauthToken", "AuthSession"):
            continue
        fields = getattr(sf, entry["name"]).describe()["fields"]
        out[entry["name"]] = [f["name"] for f in fields if f["type"] == "base64"]
    return out


def skip_unless_every_object_reads(sf) -> None:
    """Skip (naming the objects) when the org refuses a plain ``SELECT Id FROM X`` of an object it describes
    as queryable: a whole-org export of such an org cannot complete, whatever the export does."""
    import pytest
    from simple_salesforce.exceptions import SalesforceMalformedRequest

    refused = []
    for name in exportable(sf):
        try:
            sf.query(f"SELECT Id FROM {name} LIMIT 1")
        except SalesforceMalformedRequest:
            refused.append(name)
    if refused:
        pytest.skip(f"the local org refuses SELECT Id FROM {', '.join(refused)} (its SOQL parser; Salesforce "
                    f"accepts it), so no whole-org export of it can complete")
