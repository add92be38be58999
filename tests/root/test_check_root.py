"""`check` says whether root-task mode is ready and, once it is, which SCPs or RCPs on a member
account's path would still refuse the root session its task."""

from __future__ import annotations

import json

import pytest

from tests.support.root import enable_root_access

ROOT_GUARDRAIL = {  # the common "deny the root user" SCP: it denies AssumeRoot sessions too
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyRootUser",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}},
        }
    ],
}
SPARING = json.loads(json.dumps(ROOT_GUARDRAIL))
SPARING["Statement"][0]["Sid"] = "DenyRootUserNotSessions"
SPARING["Statement"][0]["Condition"]["Null"] = {"aws:AssumedRoot": "true"}  # AWS's own example


def root_findings(run) -> list[tuple[str, str, str]]:
    return [(f["severity"], f["subject"], f["message"]) for f in run.json()["findings"] if f["check"] == "root-task"]


def test_not_ready_says_what_to_enable(org, cli):
    run = cli("check", "--output", "json")
    status = run.json()["root_tasks"]
    assert status["ready"] is False
    assert {p["name"] for p in status["missing"]} >= {"trusted-access", "RootSessions", "RootCredentialsManagement"}
    assert any(
        "enable-aws-service-access --service-principal iam.amazonaws.com" in (p["fix"] or "") for p in status["missing"]
    )
    assert root_findings(run) == [], "policies are judged only once the mode is ready"
    text = cli("check")
    assert "root-task mode: not ready" in text.stdout


def test_ready_and_nothing_in_the_way(org, cli):
    enable_root_access()
    run = cli("check", "--output", "json")
    assert run.json()["root_tasks"]["ready"] is True
    assert root_findings(run) == []
    assert "root-task mode: ready" in cli("check").stdout


@pytest.mark.parametrize("kind", ["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"])
def test_a_root_user_guardrail_on_the_path_is_named(org, cli, kind):
    enable_root_access()
    if kind == "RESOURCE_CONTROL_POLICY":
        org.client.enable_policy_type(RootId=org.root, PolicyType=kind)
    made = org.client.create_policy(Content=json.dumps(ROOT_GUARDRAIL), Description="g", Name="NoRoot", Type=kind)
    policy = made["Policy"]["PolicySummary"]["Id"]
    org.attach(policy, org.ou)
    found = root_findings(cli("check", "--output", "json"))
    assert len(found) == 1, found
    severity, subject, message = found[0]
    assert severity == "warning" and subject == f"{policy} (NoRoot) on {org.ou}"
    assert f"DenyRootUser denies the root session of {org.account}" in message
    assert "s3:deletebucketpolicy" in message and "breakglass root" in message


def test_a_guardrail_that_spares_assumeroot_sessions_is_fine(org, cli):
    enable_root_access()
    made = org.client.create_policy(
        Content=json.dumps(SPARING), Description="g", Name="NoRootUser", Type="SERVICE_CONTROL_POLICY"
    )
    org.attach(made["Policy"]["PolicySummary"]["Id"], org.ou)
    assert root_findings(cli("check", "--output", "json")) == []


def test_a_deny_of_bucket_policy_changes_for_everyone_is_named(org, cli):
    enable_root_access()
    doc = {"Statement": [{"Sid": "Frozen", "Effect": "Deny", "Action": "s3:*BucketPolicy", "Resource": "*"}]}
    made = org.client.create_policy(
        Content=json.dumps(doc), Description="f", Name="Frozen", Type="SERVICE_CONTROL_POLICY"
    )
    org.attach(made["Policy"]["PolicySummary"]["Id"], org.account)
    (finding,) = root_findings(cli("check", "--output", "json"))
    assert "unlock-bucket" in finding[2] and "unlock-queue" not in finding[2]
