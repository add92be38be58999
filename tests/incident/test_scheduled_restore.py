"""The dead-man switch (one-time schedules), the restore function called directly, its zip, and
`restore --expired` under a rate limit."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from datetime import timedelta

import pytest

from breakglass_aws.clock import utcnow
from breakglass_aws.lambda_handler import handler
from breakglass_aws.lambda_package import build_lambda_zip
from breakglass_aws.models import FULL_AWS_ACCESS
from tests.support.deadman import FUNCTION, SCHED_ROLE, scheduler  # noqa: F401 - fixture
from tests.support.store import TABLE, make_table


def test_schedule_armed_on_activation_and_removed_on_close(org, scheduler, cli):  # noqa: F811
    org.attach(org.new_policy("Deny"), org.account)
    opened = cli(
        "scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--ttl", "2h", "--output", "json"
    ).json()
    name = f"breakglass-restore-{opened['incident_id']}"
    schedule = scheduler.get_schedule(Name=name, GroupName="breakglass")
    expires = opened["expires_at"].replace("Z", "")
    assert schedule["ScheduleExpression"] == f"at({expires})"
    assert schedule["Target"]["Arn"] == FUNCTION and schedule["Target"]["RoleArn"] == SCHED_ROLE
    assert json.loads(schedule["Target"]["Input"]) == {"incident_id": opened["incident_id"]}
    assert cli("scp", "restore", opened["incident_id"]).exit_code == 0
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.get_schedule(Name=name, GroupName="breakglass")


def test_schedule_failure_never_blocks(org, cli, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_RESTORE_FUNCTION_ARN", FUNCTION)
    monkeypatch.setenv("BREAKGLASS_SCHEDULER_ROLE_ARN", SCHED_ROLE)
    monkeypatch.setenv("BREAKGLASS_SCHEDULE_GROUP", "missing-group")
    org.attach(org.new_policy("Deny"), org.account)
    run = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json")
    assert run.exit_code == 0, run.stderr
    assert "warning: could not create-schedule" in run.stderr
    assert org.scps(org.account) == {FULL_AWS_ACCESS}
    journal = cli("show", run.json()["incident_id"], "--output", "json").json()["journal"]
    assert any(e["kind"] == "outcome" and not e["data"]["ok"] for e in journal)


@pytest.fixture
def shared(org, monkeypatch):
    make_table()
    monkeypatch.setenv("BREAKGLASS_STORE", f"dynamodb://{TABLE}")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return org


def expired_incident(cli, org, target, hours_ago=2, ttl="1h"):
    past = utcnow() - timedelta(hours=hours_ago)
    run = cli(
        "scp",
        "detach",
        "--target",
        target,
        "--reason",
        "x",
        "--yes",
        "--ttl",
        ttl,
        "--output",
        "json",
        clock=lambda: past,
    )
    assert run.exit_code == 0, run.stderr
    return run.json()["incident_id"]


def accounts(org, n):
    made = []
    for k in range(n):
        account = org.client.create_account(Email=f"a{k}@example.com", AccountName=f"a{k}")
        made.append(account["CreateAccountStatus"]["AccountId"])
    return made


def test_handler_restores_expired_only_and_is_idempotent(shared, cli):
    org = shared
    first, second, third = accounts(org, 3)
    policies = {}
    for account in (first, second, third):
        policies[account] = org.new_policy(f"Deny{account}")
        org.attach(policies[account], account)
    before = org.snapshot() | {a: org.scps(a) for a in (first, second, third)}
    old = [expired_incident(cli, org, first), expired_incident(cli, org, second)]
    fresh = expired_incident(cli, org, third, hours_ago=0, ttl="3h")
    summary = handler({}, None)
    assert sorted(summary["restored"]) == sorted(old) and summary["failed"] == []
    assert org.scps(first) == before[first] and org.scps(second) == before[second]
    assert org.scps(third) == {FULL_AWS_ACCESS}
    again = handler({}, None)
    assert again["restored"] == [] and again["failed"] == []
    statuses = {i["incident_id"]: i["status"] for i in cli("list", "--output", "json").json()}
    assert statuses == {old[0]: "closed", old[1]: "closed", fresh: "active"}
    one = handler({"incident_id": fresh}, None)
    assert one["restored"] == [fresh] and org.scps(third) == before[third]


def test_handler_survives_one_failing_incident(shared, cli):
    org = shared
    good, bad = accounts(org, 2)
    keep, lose = org.new_policy("Keep"), org.new_policy("Lose")
    org.attach(keep, good)
    org.attach(lose, bad)
    ok_id, bad_id = expired_incident(cli, org, good), expired_incident(cli, org, bad)
    org.client.delete_policy(PolicyId=lose)
    summary = handler({}, None)
    assert summary["restored"] == [ok_id]
    assert [f["incident_id"] for f in summary["failed"]] == [bad_id]
    assert summary["failed"][0]["status"] == "needs-attention"
    assert keep in org.scps(good)


def test_lambda_zip_imports_without_the_cli(tmp_path):
    path = build_lambda_zip(tmp_path / "dist")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "unzipped")
    assert "breakglass_aws/lambda_handler.py" in names and "pydantic/__init__.py" in names
    assert not any(n.startswith(("breakglass_aws/cli/", "typer/", "boto3/")) for n in names)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import breakglass_aws.lambda_handler as h; "
        "print(h.__file__); print('typer' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "unzipped")], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0].startswith(str(tmp_path / "unzipped")) and out[1] == "False"


def test_package_lambda_command(cli, tmp_path):
    run = cli("package-lambda", "--out", str(tmp_path), "--output", "json")
    assert run.exit_code == 0 and run.json()["handler"] == "breakglass_aws.lambda_handler.handler"
    assert zipfile.is_zipfile(run.json()["zip"])


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["restore", "--expired", "--max-rps", "0"], "--max-rps"),
        (["restore", "--expired", "--workers", "99"], "--workers"),
    ],
)
def test_restore_expired_bad_input(aws, cli, argv, fragment):
    run = cli(*argv)
    assert run.exit_code == 2 and fragment in run.stderr
