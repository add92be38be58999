"""`check`: the exemption lint corpus, a healthy organization, each thing broken in turn; and
`drill --sandbox` as a new user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from breakglass_aws.sandbox import SANDBOX_USER, stage
from breakglass_aws.scp_lint import lint_policy

ROLE_ARN = "arn:aws:iam::111122223333:role/BreakGlassAdmin"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def deny(condition=None, **extra):
    statement = {"Sid": "S", "Effect": "Deny", "Action": "ec2:*", "Resource": "*", **extra}
    if condition:
        statement["Condition"] = condition
    return statement


CORPUS = [
    (
        "exempt by ARN pattern",
        doc(deny({"ArnNotLike": {"aws:PrincipalARN": "arn:aws:iam::*:role/BreakGlassAdmin"}})),
        [],
    ),
    (
        "exempt by StringNotLike list",
        doc(
            deny(
                {
                    "StringNotLike": {
                        "aws:PrincipalArn": ["arn:aws:iam::*:role/Other", "arn:aws:iam::*:role/BreakGlass*"]
                    }
                }
            )
        ),
        [],
    ),
    ("exempt with IfExists", doc(deny({"ArnNotLikeIfExists": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}})), []),
    (
        "exempt by tag",
        doc(deny({"StringNotEquals": {"aws:PrincipalTag/breakglass": "true"}})),
        [("info", "exempts principals by tag")],
    ),
    ("not exempt", doc(deny()), [("error", "S denies ec2:* to the break-glass role too")]),
    (
        "exempt for another role",
        doc(deny({"ArnNotLike": {"aws:PrincipalARN": "arn:aws:iam::*:role/Admin"}})),
        [("error", "S denies ec2:*")],
    ),
    (
        "exact ARN of another account",
        doc(deny({"ArnNotEquals": {"aws:PrincipalARN": "arn:aws:iam::999999999999:role/BreakGlassAdmin"}})),
        [("error", "S denies")],
    ),
    (
        "NotAction",
        doc({"Sid": "N", "Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*"}),
        [("error", "N denies everything except iam:*, sts:*")],
    ),
    (
        "conditional without exemption",
        doc(deny({"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}})),
        [("warning", "too complex to judge")],
    ),
    ("allow statements are fine", doc({"Effect": "Allow", "Action": "*", "Resource": "*"}), []),
    (
        "several statements",
        doc(
            deny(),
            {"Sid": "T", "Effect": "Deny", "Action": "s3:*", "Resource": "*"},
            deny({"ArnNotLike": {"aws:PrincipalARN": "arn:aws:iam::*:role/BreakGlassAdmin"}}),
        ),
        [("error", "S denies ec2:*"), ("error", "T denies s3:*")],
    ),
    (
        "RCP with a principal",
        doc({"Sid": "R", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}),
        [("error", "R denies s3:*")],
    ),
    ("not JSON", "{not json", [("warning", "could not be parsed")]),
    (
        "Null tag false denies tagged principals: no exemption",
        doc(deny({"Null": {"aws:PrincipalTag/breakglass": "false"}})),
        [("warning", "S is a conditional Deny (aws:PrincipalTag/breakglass) without the break-glass exemption")],
    ),
    (
        "Null tag true exempts tagged principals",
        doc(deny({"Null": {"aws:PrincipalTag/breakglass": "true"}})),
        [("info", "S exempts principals by tag")],
    ),
    (
        "Deny scoped to another principal does not apply to the role",
        doc(deny({"ArnLike": {"aws:PrincipalARN": "arn:aws:iam::*:role/Contractor"}})),
        [],
    ),
    (
        "Deny scoped to the break-glass role itself",
        doc(deny({"ArnLike": {"aws:PrincipalARN": "arn:aws:iam::*:role/BreakGlass*"}})),
        [("error", "S denies ec2:* to the break-glass role too")],
    ),
    (
        "ForAnyValue exemption",
        doc(deny({"ForAnyValue:ArnNotLike": {"aws:PrincipalARN": "arn:aws:iam::*:role/BreakGlassAdmin"}})),
        [("warning", "S uses a ForAnyValue/ForAllValues operator on aws:PrincipalARN: too complex to judge")],
    ),
    (
        "ForAllValues exemption",
        doc(deny({"ForAllValues:StringNotEquals": {"aws:PrincipalTag/breakglass": "true"}})),
        [("warning", "S uses a ForAnyValue/ForAllValues operator on aws:PrincipalTag/breakglass")],
    ),
    ("NotAction * denies nothing", doc({"Sid": "N", "Effect": "Deny", "NotAction": "*", "Resource": "*"}), []),
    ("NotResource * denies nothing", doc({"Sid": "N", "Effect": "Deny", "Action": "*", "NotResource": "*"}), []),
    (
        "NotResource",
        doc({"Sid": "N", "Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::logs/*"}),
        [("error", "N denies s3:* on every resource except arn:aws:s3:::logs/* to the break-glass role too")],
    ),
]


@pytest.mark.parametrize(("name", "content", "expected"), CORPUS, ids=[c[0] for c in CORPUS])
def test_exemption_lint(name, content, expected):
    found = lint_policy("p-12345678", "Guardrail", content, "ou-ab12-cdefghij", ROLE_ARN)
    assert [(f.severity, f.subject) for f in found] == [
        (e[0], "p-12345678 (Guardrail) on ou-ab12-cdefghij") for e in expected
    ]
    for finding, (_, fragment) in zip(found, expected, strict=True):
        assert fragment in finding.message
        assert finding.remediation


@pytest.fixture
def healthy(aws, cli, monkeypatch, tmp_path):
    """The sandbox staging, with the deliberate gaps closed: a healthy organization."""
    sb = stage()
    org = boto3.client("organizations", region_name="us-east-1")
    for policy in org.list_policies_for_target(TargetId=sb.account, Filter="SERVICE_CONTROL_POLICY")["Policies"]:
        if policy["Name"] == "DenyOutsideEU":
            org.detach_policy(PolicyId=policy["Id"], TargetId=sb.account)
    for key, value in sb.settings().items():
        if key not in ("evidence_dir", "store", "mfa_serial"):
            monkeypatch.setenv(
                f"BREAKGLASS_{key.upper()}", json.dumps(value) if isinstance(value, list) else str(value)
            )
    assert cli("rotate", "--user", SANDBOX_USER).exit_code == 0
    record_drill(tmp_path)
    return sb


def record_drill(tmp_path):
    """A drill that passed yesterday (the full drill is exercised by the sandbox test)."""
    from datetime import timedelta

    from breakglass_aws.clock import utcnow
    from breakglass_aws.journal import SqliteStore
    from breakglass_aws.models import Incident, IncidentStatus, Mode, Requester, new_incident_id

    when = utcnow() - timedelta(days=1)
    store = SqliteStore(tmp_path / "state" / "breakglass" / "journal.sqlite3")
    store.create_incident(
        Incident(
            incident_id=new_incident_id(when),
            mode=Mode.DRILL,
            status=IncidentStatus.CLOSED,
            reason="drill",
            requester=Requester(
                arn="arn:aws:iam::123456789012:user/moto", account="123456789012", user_id="x", name="x"
            ),
            targets=["123456789012"],
            created_at=when,
            expires_at=when,
            closed_at=when,
        )
    )


def findings(cli, *extra):
    run = cli("check", "--output", "json", *extra)
    return run.exit_code, [(f["severity"], f["check"], f["subject"], f["message"]) for f in run.json()["findings"]]


def test_healthy_organization_has_no_findings(healthy, cli):
    assert findings(cli) == (0, [])
    assert "everything needed to break the glass is in place" in cli("check").stdout


def test_inherited_scp_without_exemption(healthy, cli):
    org = boto3.client("organizations", region_name="us-east-1")
    parent = org.list_parents(ChildId=healthy.account)["Parents"][0]["Id"]
    policy = org.create_policy(Content=doc(deny()), Description="x", Name="NoEC2", Type="SERVICE_CONTROL_POLICY")
    policy_id = policy["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=policy_id, TargetId=parent)
    code, found = findings(cli)
    assert code == 4
    assert found == [
        ("error", "scp-exemption", f"{policy_id} (NoEC2) on {parent}", "S denies ec2:* to the break-glass role too")
    ]


def _member_iam(account):
    creds = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="test"
    )["Credentials"]
    return boto3.client(
        "iam",
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def test_trust_policy_without_mfa(healthy, cli):
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"]}
        ],
    }
    _member_iam(healthy.account).update_assume_role_policy(RoleName="BreakGlassAdmin", PolicyDocument=json.dumps(trust))
    code, found = findings(cli)
    assert code == 4 and found == [
        (
            "error",
            "role-trust",
            f"arn:aws:iam::{healthy.account}:role/BreakGlassAdmin",
            "the trust policy does not require MFA",
        )
    ]


def test_missing_role(healthy, cli):
    _member_iam(healthy.account).delete_role(RoleName="BreakGlassAdmin")
    code, found = findings(cli)
    assert code == 4 and [f[3] for f in found] == ["the break-glass role does not exist"]


def test_topic_without_subscription(healthy, cli):
    sns = boto3.client("sns", region_name="us-east-1")
    for sub in sns.list_subscriptions_by_topic(TopicArn=healthy.topic)["Subscriptions"]:
        sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])
    assert findings(cli) == (4, [("error", "alerting", healthy.topic, "the SNS topic has no subscription")])


def test_deleted_alert_rule(healthy, cli):
    events = boto3.client("events", region_name="us-east-1")
    events.remove_targets(Rule="breakglass-console-login", Ids=["sns"])
    events.delete_rule(Name="breakglass-console-login")
    assert findings(cli) == (
        4,
        [("error", "alerting", "eventbridge", "no EventBridge rule sends break-glass console login to the topic")],
    )


def test_two_active_keys(healthy, cli):
    boto3.client("iam", region_name="us-east-1").create_access_key(UserName=SANDBOX_USER)
    assert findings(cli) == (4, [("error", "credentials", SANDBOX_USER, "2 active access keys")])


def test_expired_incident_still_active(healthy, cli):
    from datetime import timedelta

    from breakglass_aws.clock import utcnow

    org = boto3.client("organizations", region_name="us-east-1")
    org.attach_policy(
        PolicyId=org.create_policy(
            Content=doc(deny({"ArnNotLike": {"aws:PrincipalARN": "arn:aws:iam::*:role/BreakGlassAdmin"}})),
            Description="x",
            Name="Ok",
            Type="SERVICE_CONTROL_POLICY",
        )["Policy"]["PolicySummary"]["Id"],
        TargetId=healthy.account,
    )
    past = utcnow() - timedelta(hours=3)
    opened = cli(
        "scp", "detach", "--target", healthy.account, "--reason", "x", "--yes", "--output", "json", clock=lambda: past
    ).json()
    code, found = findings(cli)
    assert code == 4 and [(f[1], f[2]) for f in found] == [("incidents", opened["incident_id"])]


def test_check_bad_account(aws, cli):
    run = cli("check", "--account", "12")
    assert run.exit_code == 2 and "invalid target" in run.stderr


@pytest.mark.e2e
def test_drill_sandbox_as_a_new_user_runs_it(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    command = str(Path(sys.executable).with_name("breakglass"))
    run = subprocess.run(
        [command, "drill", "--sandbox", "--out", str(tmp_path / "evidence")],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    for step in (
        "plan SCP detach",
        "detach SCPs",
        "assume the break-glass role",
        "harmless call",
        "close the role incident",
        "close the SCP incident",
        "collect evidence",
    ):
        assert "ok" in run.stdout and step in run.stdout
    assert "breakglass check" in run.stdout and "DenyOutsideEU" in run.stdout
    bundles = sorted(p for p in (tmp_path / "evidence").iterdir() if p.is_dir())
    assert len(bundles) == 2
    for bundle in bundles:
        verified = subprocess.run(
            [command, "evidence", "verify", str(bundle)], env=env, capture_output=True, text=True, check=False
        )
        assert verified.returncode == 0, verified.stderr
