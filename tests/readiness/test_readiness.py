"""`check`: the exemption lint corpus, a healthy organization, each thing broken in turn; and
`drill --sandbox` as a new user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from breakglass_aws.readiness.sandbox import SANDBOX_USER
from breakglass_aws.scp.lint import lint_policy
from tests.support.readiness import findings

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
            "the trust policy does not require MFA (statement 1 has no MFA condition)",
        )
    ]


ASSUME = ["sts:AssumeRole", "sts:SetSourceIdentity"]
MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


def _set_trust(account, *statements):
    document = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    _member_iam(account).update_assume_role_policy(RoleName="BreakGlassAdmin", PolicyDocument=document)


def _allow(action, condition=None, sid=None, principal="*"):
    statement = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": action}
    if condition is not None:
        statement["Condition"] = condition
    if sid:
        statement["Sid"] = sid
    return statement


@pytest.mark.parametrize(
    ("statements", "message"),
    [
        (
            [_allow(ASSUME, {"Bool": {"aws:MultiFactorAuthPresent": "false"}}, "NoMFA")],
            "the trust policy does not require MFA (NoMFA accepts aws:MultiFactorAuthPresent false)",
        ),
        (
            [_allow(["sts:SetSourceIdentity"], MFA, "Mfa"), _allow("sts:AssumeRole", sid="Open")],
            "the trust policy does not require MFA (Open has no MFA condition)",
        ),
        (
            [_allow(ASSUME, {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}, "IfExists")],
            "the trust policy does not require MFA (IfExists uses BoolIfExists, which also admits requests "
            "without MFA (long-term access keys))",
        ),
        (
            [
                _allow(ASSUME, MFA, "Mfa"),
                _allow(["sts:AssumeRole"], {"StringEquals": {"aws:SourceIp": "1.2.3.4"}}, "Ip"),
            ],
            "the trust policy does not require MFA (Ip has no MFA condition)",
        ),
        ([_allow("sts:AssumeRole", MFA)], "the trust policy does not allow sts:SetSourceIdentity"),
    ],
    ids=["mfa-false", "unconditioned-other-statement", "boolifexists", "mfa-on-one-of-two", "no-setsourceidentity"],
)
def test_trust_policy_broken(healthy, cli, statements, message):
    _set_trust(healthy.account, *statements)
    code, found = findings(cli)
    assert code == 4
    assert found == [("error", "role-trust", f"arn:aws:iam::{healthy.account}:role/BreakGlassAdmin", message)]


def test_trust_policy_wildcard_actions_judged_by_what_they_grant():
    """moto refuses wildcard trust actions; AWS accepts them: judged on the document itself."""
    from breakglass_aws.readiness.check import ReadinessOptions, _role_findings

    def judge(*statements, **options):
        role = {"AssumeRolePolicyDocument": {"Statement": list(statements)}, "MaxSessionDuration": 3600}
        return [f.message for f in _role_findings(role, "r", ReadinessOptions(**options))]

    assert judge(_allow("sts:*", MFA)) == []
    assert judge(_allow("*", MFA), _allow("sts:Assume*", sid="Open")) == [
        "the trust policy does not require MFA (Open has no MFA condition)"
    ]
    assert judge(_allow("sts:*", MFA), {"Effect": "Allow", "NotAction": "iam:*", "Sid": "Not"}) == [
        "the trust policy does not require MFA (Not has no MFA condition)"
    ]
    assert judge(_allow("sts:*", MFA), require_source_identity=True) == [
        "the trust policy does not require a SourceIdentity"
    ]
    assert judge(_allow("sts:*", {**MFA, "Null": {"sts:SourceIdentity": "false"}}), require_source_identity=True) == []


def test_trust_policy_split_statements_with_mfa_is_healthy(healthy, cli):
    """As terraform/modules/breakglass-role writes it: AssumeRole and SetSourceIdentity apart, MFA on both,
    SourceIdentity required."""
    _set_trust(
        healthy.account,
        _allow("sts:AssumeRole", {**MFA, "Null": {"sts:SourceIdentity": "false"}}),
        _allow(["sts:SetSourceIdentity", "sts:TagSession"], MFA),
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"},
    )
    assert findings(cli) == (0, [])


def test_session_duration_above_max_role_duration(healthy, cli, monkeypatch):
    _member_iam(healthy.account).update_role(RoleName="BreakGlassAdmin", MaxSessionDuration=43200)
    monkeypatch.setenv("BREAKGLASS_MAX_ROLE_DURATION", "4h")
    assert findings(cli) == (
        0,
        [
            (
                "warning",
                "role-duration",
                f"arn:aws:iam::{healthy.account}:role/BreakGlassAdmin",
                "MaxSessionDuration is 43200s",
            )
        ],
    )
    assert "keep it between 3600 and 14400 seconds" in cli("check").stdout
    monkeypatch.setenv("BREAKGLASS_MAX_ROLE_DURATION", "12h")
    assert findings(cli) == (0, [])


def test_missing_role(healthy, cli):
    _member_iam(healthy.account).delete_role(RoleName="BreakGlassAdmin")
    code, found = findings(cli)
    assert code == 4 and [f[3] for f in found] == ["the break-glass role does not exist"]


def test_topic_without_subscription(healthy, cli):
    sns = boto3.client("sns", region_name="us-east-1")
    for sub in sns.list_subscriptions_by_topic(TopicArn=healthy.topic)["Subscriptions"]:
        sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])
    assert findings(cli) == (4, [("error", "alerting", healthy.topic, "the SNS topic has no subscription")])


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
    assert "was locked by a deny-all bucket policy" in run.stdout
    assert "closed: the bucket holds no policy, its old text is in the journal" in run.stdout
    # custody: the drill's rotation sealed 2 of 3; two custodians opened it, one alone could not
    assert "breakglass-1's credentials sealed 2 of 3 (alice, bob, carol)" in run.stdout
    assert "with alice and bob's shares" in run.stdout and "the key works as arn:aws:iam::" in run.stdout
    assert "one share alone: refused" in run.stdout and "re-split for the same custodians" in run.stdout
    written = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
    assert not any(b"AGE-SECRET-KEY" in blob for blob in [run.stdout.encode(), run.stderr.encode(), *written])
    bundles = sorted(p for p in (tmp_path / "evidence").iterdir() if p.is_dir())
    assert len(bundles) == 2
    for bundle in bundles:
        verified = subprocess.run(
            [command, "evidence", "verify", str(bundle)], env=env, capture_output=True, text=True, check=False
        )
        assert verified.returncode == 0, verified.stderr


# --- alerting, credentials, schedule, store, drills: each broken in turn -------------------------


def test_topic_deleted(healthy, cli):
    boto3.client("sns", region_name="us-east-1").delete_topic(TopicArn=healthy.topic)
    assert findings(cli) == (4, [("error", "alerting", healthy.topic, "the SNS topic does not exist")])


def test_empty_secret(healthy, cli):
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    sm.delete_secret(SecretId=f"breakglass/{SANDBOX_USER}", ForceDeleteWithoutRecovery=True)
    sm.create_secret(Name=f"breakglass/{SANDBOX_USER}")  # as Terraform creates it: no value
    code, found = findings(cli)
    assert (code, found) == (
        4,
        [("error", "credentials", SANDBOX_USER, f"the secret breakglass/{SANDBOX_USER} is empty")],
    )
    assert f"fix: run: breakglass rotate --user {SANDBOX_USER}" in cli("check").stdout


def test_missing_secret(healthy, cli):
    boto3.client("secretsmanager", region_name="us-east-1").delete_secret(
        SecretId=f"breakglass/{SANDBOX_USER}", ForceDeleteWithoutRecovery=True
    )
    assert findings(cli) == (
        4,
        [("error", "credentials", SANDBOX_USER, "no secret holds this user's credentials")],
    )


def test_old_access_key_and_stale_rotation(healthy, cli):
    from datetime import timedelta

    from breakglass_aws.clock import utcnow

    later = utcnow() + timedelta(days=91)
    key = boto3.client("iam", region_name="us-east-1").list_access_keys(UserName=SANDBOX_USER)["AccessKeyMetadata"][0]
    run = cli("check", "--output", "json", clock=lambda: later)
    found = {(f["severity"], f["check"], f["message"].split(" last rotated")[0]) for f in run.json()["findings"]}
    assert run.exit_code == 4
    assert found == {
        ("error", "credentials", f"access key {key['AccessKeyId']} is 91 days old"),
        ("error", "credentials", "password and key"),
        ("warning", "drill", f"last drill {(utcnow() - timedelta(days=1)):%Y-%m-%d}"),
    }


def test_stale_drill(healthy, cli, monkeypatch):
    from datetime import timedelta

    from breakglass_aws.clock import utcnow

    monkeypatch.setenv("BREAKGLASS_ROTATION_INTERVAL", "365d")
    run = cli("check", "--output", "json", clock=lambda: utcnow() + timedelta(days=93))
    yesterday = utcnow() - timedelta(days=1)
    assert run.exit_code == 0
    assert [(f["severity"], f["check"], f["message"]) for f in run.json()["findings"]] == [
        ("warning", "drill", f"last drill {yesterday:%Y-%m-%d}")
    ]


def test_periodic_schedule_missing(healthy, cli):
    boto3.client("scheduler", region_name="us-east-1").delete_schedule(
        Name="breakglass-restore-expired", GroupName="breakglass"
    )
    assert findings(cli) == (
        0,
        [
            (
                "warning",
                "restore-schedule",
                "breakglass",
                "no enabled periodic schedule (breakglass-restore-expired) invokes "
                "arn:aws:lambda:us-east-1:123456789012:function:breakglass-restore",
            )
        ],
    )


def test_periodic_schedule_under_another_name_is_found(healthy, cli):
    scheduler = boto3.client("scheduler", region_name="us-east-1")
    scheduler.delete_schedule(Name="breakglass-restore-expired", GroupName="breakglass")
    scheduler.create_schedule(
        Name="sweep",
        GroupName="breakglass",
        ScheduleExpression="cron(0/5 * * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": healthy.settings()["restore_function_arn"], "RoleArn": healthy.settings()["scheduler_role_arn"]},
    )
    assert findings(cli) == (0, [])


def test_store_table_missing(healthy, cli, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_STORE", "dynamodb://breakglass-missing")
    code, found = findings(cli)
    assert code == 4
    assert found == [
        (
            "error",
            "incidents",
            "store",
            "could not check: the shared incident store table 'breakglass-missing' does not exist in us-east-1 "
            "(or is not visible to you)",
        )
    ]


def test_rcp_without_exemption(healthy, cli):
    org = boto3.client("organizations", region_name="us-east-1")
    content = doc({"Sid": "R", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"})
    policy = org.create_policy(Content=content, Description="x", Name="NoS3", Type="RESOURCE_CONTROL_POLICY")
    policy_id = policy["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=policy_id, TargetId=healthy.account)
    assert findings(cli) == (
        4,
        [
            (
                "error",
                "scp-exemption",
                f"{policy_id} (NoS3) on {healthy.account}",
                "R denies s3:* to the break-glass role too",
            )
        ],
    )
