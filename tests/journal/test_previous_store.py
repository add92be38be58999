"""A store written by the previous release (0.1.0 as it landed, before the close plan was kept on
the record and before the package moved into its new rooms) keeps working: listed, shown, its
journals verify, an open role incident closes, a closed one is left closed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
import pytest

from tests.conftest import TRUST
from tests.support.role import revoke_policy

FIXTURES = Path(__file__).parents[1] / "fixtures" / "previous-release"
TABLE = "legacy-store"


@pytest.fixture(params=["sqlite", "dynamodb"])
def previous(request, aws, tmp_path, monkeypatch):
    if request.param == "sqlite":
        state = tmp_path / "state" / "breakglass"
        state.mkdir(parents=True, mode=0o700)
        shutil.copy(FIXTURES / "legacy-store.sqlite3", state / "journal.sqlite3")
    else:
        db = boto3.client("dynamodb", region_name="us-east-1")
        from breakglass_aws.journal.dynamodb import create_table

        create_table(db, TABLE)
        for item in json.loads((FIXTURES / "legacy-store.dynamodb.json").read_text()):
            db.put_item(TableName=TABLE, Item=item)
        monkeypatch.setenv("BREAKGLASS_STORE", f"dynamodb://{TABLE}")
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_role(RoleName="BreakGlassAdmin", AssumeRolePolicyDocument=json.dumps(TRUST))
    return iam


def test_a_store_of_the_previous_release_keeps_working(previous, cli):
    listed = cli("list", "--output", "json")
    assert listed.exit_code == 0, listed.stderr
    by_reason = {i["reason"]: i for i in listed.json()}
    assert {r: i["status"] for r, i in by_reason.items()} == {
        "legacy closed": "closed",
        "legacy open": "active",
        "legacy role": "closed",
        "legacy role open": "active",
    }
    for incident in by_reason.values():
        shown = cli("show", incident["incident_id"], "--output", "json")
        assert shown.exit_code == 0 and shown.json()["journal"][0]["kind"] == "opened"
    assert cli("journal", "verify", "--all").exit_code == 0
    open_role = by_reason["legacy role open"]["incident_id"]
    closed = cli("close", open_role, "--yes")
    assert closed.exit_code == 0, closed.stderr
    assert "aws:TokenIssueTime" in json.dumps(revoke_policy(previous))
    assert cli("journal", "verify", open_role).exit_code == 0
    again = cli("close", by_reason["legacy role"]["incident_id"], "--yes")
    assert again.exit_code == 0 and "already closed: nothing to do" in again.stdout
