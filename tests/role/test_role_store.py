"""The shared store stays in its own region whatever --region says; a missing table is a
configuration error that names the table and the region."""

from __future__ import annotations

import boto3

from tests.conftest import ACCOUNT
from tests.support.store import TABLE, make_table


def assume(cli, *extra):
    return cli("role", "assume", "--account", ACCOUNT, "--reason", "IdP down", "--format", "json", *extra)


def test_region_flag_does_not_move_the_store(iam, cli, monkeypatch):
    make_table("us-east-1")
    monkeypatch.setenv("BREAKGLASS_STORE", f"dynamodb://{TABLE}")
    run = assume(cli, "--region", "eu-west-1")
    assert run.exit_code == 0, run.stderr
    incident_id = run.json()["incident_id"]
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=TABLE)["Items"]
    assert any(item["pk"]["S"] == f"INC#{incident_id}" for item in items)
    shown = cli("show", incident_id, "--output", "json")
    assert shown.exit_code == 0 and shown.json()["role"]["region"] == "eu-west-1"


def test_store_region_in_the_url(iam, cli, monkeypatch):
    make_table("ap-southeast-2")
    monkeypatch.setenv("BREAKGLASS_STORE", f"dynamodb://{TABLE}?region=ap-southeast-2")
    run = assume(cli, "--region", "eu-west-1")
    assert run.exit_code == 0, run.stderr
    items = boto3.client("dynamodb", region_name="ap-southeast-2").scan(TableName=TABLE)["Items"]
    assert any(item["pk"]["S"] == f"INC#{run.json()['incident_id']}" for item in items)


def test_store_region_setting(iam, cli, monkeypatch):
    make_table("eu-central-1")
    monkeypatch.setenv("BREAKGLASS_STORE", f"dynamodb://{TABLE}")
    monkeypatch.setenv("BREAKGLASS_STORE_REGION", "eu-central-1")
    run = assume(cli)
    assert run.exit_code == 0, run.stderr
    assert boto3.client("dynamodb", region_name="eu-central-1").scan(TableName=TABLE)["Count"] > 0


def test_missing_table_is_a_configuration_error(iam, cli, monkeypatch):
    make_table("eu-west-1")  # in the wrong region
    monkeypatch.setenv("BREAKGLASS_STORE", f"dynamodb://{TABLE}")
    run = assume(cli, "--region", "eu-west-1")
    assert run.exit_code == 5, run.stderr
    (line,) = [line for line in run.stderr.splitlines() if line.strip()]
    assert f"'{TABLE}' does not exist in us-east-1" in line and "hint:" in line
    assert "resumes" not in line
    assert boto3.client("dynamodb", region_name="eu-west-1").scan(TableName=TABLE)["Count"] == 0


def test_bad_store_region_is_refused(cli, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_STORE", f"dynamodb://{TABLE}?region=mars")
    run = cli("list")
    assert run.exit_code == 5 and "invalid store region 'mars'" in run.stderr
