"""MFA and duration guard rails of role mode: a --duration over the role's MaxSessionDuration is
exit 2 with the maximum before anything opens (or from AssumeRole's refusal where IAM cannot be
read); a role that requires MFA asked for without an MFA device is said on stderr; `check` flags
an MFA-requiring role with no mfa_serial; the usual emergency path makes no IAM call."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from tests.conftest import ACCOUNT
from tests.support.readiness import findings
from tests.support.role import Capture

MFA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        }
    ],
}


@pytest.fixture
def one_hour_role(aws):
    from tests.conftest import _shared_boto3

    iam = _shared_boto3().client("iam", region_name="us-east-1")
    iam.create_role(RoleName="BreakGlassAdmin", AssumeRolePolicyDocument=json.dumps(MFA_TRUST), MaxSessionDuration=3600)
    return iam


def refuse(service: str, operation: str, code: str, message: str, status: int = 400) -> tuple[str, Any]:
    def hook(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        parsed = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return AWSResponse("https://injected", status, {}, None), parsed

    return f"before-call.{service}.{operation}", hook


def calls_of(names: list[str]) -> tuple[str, Any]:
    """Every call made (seen as its parameters are built, before any answer is injected)."""
    return "before-parameter-build", lambda model=None, **_: names.append(model.name)


def role_assume(cli, *extra: str, hooks=()):
    return cli(
        "role", "assume", "--account", ACCOUNT, "--reason", "IdP down", "--format", "json", *extra, hooks=list(hooks)
    )


def test_a_duration_over_the_roles_maximum_is_exit_2_with_the_maximum(one_hour_role, cli):
    sent = Capture()
    mfa = ("--mfa-serial", f"arn:aws:iam::{ACCOUNT}:mfa/oncall", "--token-code", "123456")
    run = role_assume(cli, *mfa, "--duration", "2h", hooks=[sent.hook()])
    assert run.exit_code == 2, run.stderr
    assert "maximum session duration of 3600s (1h)" in run.stderr and "--duration 1h" in run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""
    assert sent.sent == [] and cli("list", "--output", "json").json() == []


def test_without_iam_the_refusal_says_the_same(one_hour_role, cli):
    names: list[str] = []
    hooks = [
        refuse("iam", "GetRole", "ServiceUnavailable", "down", 503),
        refuse(
            "sts",
            "AssumeRole",
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ),
        calls_of(names),
    ]
    run = role_assume(cli, "--duration", "2h", hooks=hooks)
    assert run.exit_code == 2, run.stderr
    assert "--duration 7200s is over the role's maximum session duration" in run.stderr
    assert "raise the role's MaxSessionDuration" in run.stderr and "Traceback" not in run.stderr
    assert "GetRole" in names and "AssumeRole" in names
    (incident,) = cli("list", "--output", "json").json()
    assert incident["status"] == "failed"


def test_a_role_that_requires_mfa_asked_without_a_device_is_said(one_hour_role, cli):
    run = role_assume(cli)
    assert run.exit_code == 0, run.stderr  # moto does not enforce the condition; AWS would refuse
    (line,) = [x for x in run.stderr.splitlines() if "requires MFA" in x]
    assert "no MFA device is configured" in line and "--mfa-serial" in line


def test_a_role_without_an_mfa_condition_is_not_flagged(iam, cli):
    run = role_assume(cli)
    assert run.exit_code == 0, run.stderr
    assert "requires MFA" not in run.stderr


def test_the_usual_emergency_path_makes_no_iam_call(one_hour_role, cli):
    names: list[str] = []
    run = role_assume(
        cli, "--mfa-serial", f"arn:aws:iam::{ACCOUNT}:mfa/oncall", "--token-code", "123456", hooks=[calls_of(names)]
    )
    assert run.exit_code == 0, run.stderr
    assert "AssumeRole" in names and "GetRole" not in names


def test_check_flags_an_mfa_role_without_mfa_serial(healthy, cli, monkeypatch):
    code, before = findings(cli)
    assert code == 0 and before == []
    monkeypatch.delenv("BREAKGLASS_MFA_SERIAL")
    code, found = findings(cli)
    assert code == 4
    (finding,) = [f for f in found if f[1] == "role-mfa"]
    assert finding[0] == "error" and "no mfa_serial is configured" in finding[3]
