"""`check` says what it did not check and why, instead of reading as a clean bill of health."""

from __future__ import annotations

import boto3


def test_an_organization_without_members_says_the_role_was_not_read(aws, cli):
    boto3.client("organizations", region_name="us-east-1").create_organization(FeatureSet="ALL")
    run = cli("check", "--output", "json")
    gaps = run.json()["not_checked"]
    assert any(g.startswith("no member account in the organization: the break-glass role") for g in gaps), gaps
    assert "not checked: no member account in the organization" in cli("check").stdout


def test_an_unset_or_unreadable_restore_function_is_said(org, cli, monkeypatch):
    gaps = cli("check", "--output", "json").json()["not_checked"]
    assert "the restore function: restore_function_arn is not set" in gaps
    arn = "arn:aws:lambda:us-east-1:123456789012:function:breakglass-restore"
    monkeypatch.setenv("BREAKGLASS_RESTORE_FUNCTION_ARN", arn)
    monkeypatch.setenv("BREAKGLASS_SCHEDULER_ROLE_ARN", "arn:aws:iam::123456789012:role/breakglass-scheduler")
    gaps = cli("check", "--output", "json").json()["not_checked"]
    assert any(g.startswith(f"the restore function {arn} could not be read (") for g in gaps), gaps
    assert not any("no member account" in g for g in gaps), "the org fixture has a member account"
