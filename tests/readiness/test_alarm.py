"""`check` proves the alarm is wired: starting from the sandbox staging (everything wired, no
finding), each item is broken in turn and `check` names exactly that item: the trail, the alert
rules in each region and member account (judged by pattern, not name), the central bus policy, the
topic's confirmed subscription, the break-glass users' TOTP devices, the RCPs on the path to the
security account. And `check` itself never reads a secret's value (that is an alarm now)."""

from __future__ import annotations

import json

import boto3
import pytest

from breakglass_aws.readiness.sandbox import SANDBOX_USER
from tests.conftest import ACCOUNT
from tests.support.readiness import (
    Calls,
    check_text,
    current_version_written,
    deny_member_sessions,
    findings,
    management_elsewhere,
    pending_subscriptions,
)

HOME, EU = f"{ACCOUNT}/us-east-1", f"{ACCOUNT}/eu-west-1"
TRAIL = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/breakglass"
BUS = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default"
ENABLED_ALL = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"


def events(region="us-east-1"):
    return boto3.client("events", region_name=region)


def member(service, account, region="us-east-1"):
    creds = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="test"
    )["Credentials"]
    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def delete_rule(client, name):
    ids = [t["Id"] for t in client.list_targets_by_rule(Rule=name)["Targets"]]
    client.remove_targets(Rule=name, Ids=ids)
    client.delete_rule(Name=name)


# --- check reads no secret value ------------------------------------------------------------------


def test_check_reads_no_secret_value_and_reads_every_place(healthy, cli):
    """Every AWS call of the run is seen (the hook is on every client, the member sessions' too):
    Secrets Manager is read, never GetSecretValue."""
    calls = Calls()
    run = cli("check", "--output", "json", hooks=[calls.hook()])
    assert (run.exit_code, run.json()["findings"]) == (0, [])
    assert "ListSecretVersionIds" in calls.names and "DescribeSecret" in calls.names
    assert "GetSecretValue" not in calls.names
    assert calls.names.count("ListRules") == 4  # us-east-1 and eu-west-1, of the security and the member account


# --- the trail ------------------------------------------------------------------------------------


def trail():
    return boto3.client("cloudtrail", region_name="us-east-1")


WRITE_ONLY = [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]


@pytest.mark.parametrize(
    ("broken", "message", "fix"),
    [
        (
            lambda ct: ct.stop_logging(Name="breakglass"),
            "the trail breakglass is not logging: EventBridge receives no API call events",
            "aws cloudtrail start-logging --region us-east-1 --name breakglass",
        ),
        (
            lambda ct: ct.update_trail(Name="breakglass", IsMultiRegionTrail=False),
            "the trail breakglass records its home region us-east-1 only: use in other regions goes unseen",
            "aws cloudtrail update-trail --region us-east-1 --name breakglass --is-multi-region-trail",
        ),
        (
            lambda ct: ct.update_trail(Name="breakglass", EnableLogFileValidation=False),
            "the trail breakglass does not validate its log files: a rewritten log goes unnoticed",
            "aws cloudtrail update-trail --region us-east-1 --name breakglass --enable-log-file-validation",
        ),
        (
            lambda ct: ct.put_event_selectors(TrailName="breakglass", EventSelectors=WRITE_ONLY),
            "the trail breakglass does not select all management events (read and write)",
            "aws cloudtrail put-event-selectors --region us-east-1 --trail-name breakglass",
        ),
    ],
    ids=["stopped", "single-region", "no-validation", "write-only"],
)
def test_trail_broken(healthy, cli, broken, message, fix):
    broken(trail())
    assert findings(cli) == (4, [("error", "alert-trail", TRAIL, message)])
    code, text = check_text(cli)
    assert code == 4 and f"fix: {fix}" in text


def test_no_trail(healthy, cli):
    trail().delete_trail(Name="breakglass")
    code, found = findings(cli)
    assert code == 4 and [f[:3] for f in found] == [("error", "alert-trail", "cloudtrail")]
    assert found[0][3].startswith("no CloudTrail trail")


def test_trail_judged_on_the_best_trail_and_advanced_selectors(healthy, cli):
    """A second, half-configured trail does not matter while one trail does everything; advanced
    selectors on eventCategory Management select management events."""
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="other-trail-bucket")
    trail().create_trail(Name="local-only", S3BucketName="other-trail-bucket")
    management = [{"Name": "m", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]
    trail().put_event_selectors(TrailName="breakglass", AdvancedEventSelectors=management)
    assert findings(cli) == (0, [])
    trail().stop_logging(Name="breakglass")
    assert findings(cli) == (
        4,
        [
            (
                "error",
                "alert-trail",
                TRAIL,
                "the trail breakglass is not logging: EventBridge receives no API call events",
            )
        ],
    )


# --- the alert rules --------------------------------------------------------------------------------


def test_forwarding_rule_disabled_in_one_region(healthy, cli):
    events("eu-west-1").disable_rule(Name="breakglass-assume-role")
    message = "the rule breakglass-assume-role sending assume-role to the central event bus is disabled"
    assert findings(cli) == (4, [("error", "alert-rules", EU, message)])
    code, text = check_text(cli)
    assert code == 4 and "fix: aws events enable-rule --region eu-west-1 --name breakglass-assume-role\n" in text


def test_member_forwarding_rule_disabled(healthy, cli):
    """A global kind (IAM) is forwarded from the member account's us-east-1."""
    member("events", healthy.account).disable_rule(Name="breakglass-role-changed")
    message = "the rule breakglass-role-changed sending role-changed to the central event bus is disabled"
    assert findings(cli) == (4, [("error", "alert-rules", f"{healthy.account}/us-east-1", message)])
    fix = f"aws events enable-rule --region us-east-1 --name breakglass-role-changed (in account {healthy.account})"
    assert fix in check_text(cli)[1]


def test_secret_read_rule_in_plain_enabled_state(healthy, cli):
    pattern = events().describe_rule(Name="breakglass-secret-read")["EventPattern"]
    events().put_rule(Name="breakglass-secret-read", EventPattern=pattern, State="ENABLED")
    message = (
        "the rule breakglass-secret-read (secret-read) is ENABLED: read-only events such as GetSecretValue "
        f"reach a rule only in the state {ENABLED_ALL}"
    )
    assert findings(cli) == (4, [("error", "alert-rules", HOME, message)])
    fix = f"aws events put-rule --region us-east-1 --name breakglass-secret-read --state {ENABLED_ALL} --event-pattern"
    assert fix in check_text(cli)[1]


def test_deleted_rule(healthy, cli):
    delete_rule(events(), "breakglass-console-login")
    assert findings(cli) == (
        4,
        [("error", "alert-rules", HOME, "no EventBridge rule sends console-login to the topic")],
    )
    assert "fix: apply terraform/modules/control-plane (its rules live in us-east-1)" in check_text(cli)[1]


def test_forwarding_missing_in_a_member_region(healthy, cli):
    client = member("events", healthy.account, "eu-west-1")
    for rule in client.list_rules()["Rules"]:
        delete_rule(client, rule["Name"])
    code, found = findings(cli)
    assert code == 4 and [f[:3] for f in found] == [("error", "alert-rules", f"{healthy.account}/eu-west-1")]
    assert found[0][3].startswith("no EventBridge rule sends assume-role, assume-root, console-login")
    assert "role-changed" not in found[0][3], "a global kind is not wanted outside us-east-1"
    assert (
        f"fix: apply terraform/modules/alert-forwarding in eu-west-1 (in account {healthy.account})"
        in (check_text(cli)[1])
    )


def test_rule_sending_elsewhere(healthy, cli):
    client = events("eu-west-1")
    client.remove_targets(Rule="breakglass-assume-root", Ids=["central-bus"])
    client.put_targets(Rule="breakglass-assume-root", Targets=[{"Id": "x", "Arn": healthy.topic}])
    assert findings(cli) == (
        4,
        [("error", "alert-rules", EU, f"the rule breakglass-assume-root (assume-root) does not send to {BUS}")],
    )


def test_coverage_by_pattern_not_by_name(healthy, cli):
    """A rule under another name, with a broader pattern, covers the kinds; a rule named as ours
    whose filter names another role does not."""
    delete_rule(events(), "breakglass-assume-role")
    events().put_rule(Name="security-sts", EventPattern=json.dumps({"source": ["aws.sts"]}))
    events().put_targets(Rule="security-sts", Targets=[{"Id": "t", "Arn": healthy.topic}])
    assert findings(cli) == (0, [])
    delete_rule(events(), "security-sts")
    other = events().describe_rule(Name="breakglass-assume-root")["EventPattern"]
    pattern = json.loads(other) | {"detail": {"eventName": ["AssumeRole"], "requestParameters": {"roleArn": ["x"]}}}
    events().put_rule(Name="breakglass-assume-role", EventPattern=json.dumps(pattern))
    events().put_targets(Rule="breakglass-assume-role", Targets=[{"Id": "t", "Arn": healthy.topic}])
    assert findings(cli) == (4, [("error", "alert-rules", HOME, "no EventBridge rule sends assume-role to the topic")])


def test_alert_regions_decide_where_rules_are_checked(healthy, cli, monkeypatch):
    events("eu-west-1").disable_rule(Name="breakglass-assume-role")
    monkeypatch.setenv("BREAKGLASS_ALERT_REGIONS", "[]")
    assert findings(cli) == (0, [])


def test_no_user_rules_needed_without_break_glass_users(healthy, cli, monkeypatch):
    delete_rule(events(), "breakglass-console-login")
    monkeypatch.setenv("BREAKGLASS_ROTATE_USERS", "[]")
    assert findings(cli) == (0, [])


def test_member_rules_unreadable_is_a_warning_naming_the_grant(healthy, cli):
    """The member role may not read EventBridge: a warning naming what to grant, the report goes on."""
    hooks = [deny_member_sessions("ListRules")]
    message = "could not read the alert rules: access denied calling events:ListRules"
    assert findings(cli, hooks=hooks) == (
        0,
        [
            ("warning", "alert-rules", f"{healthy.account}/us-east-1", message),
            ("warning", "alert-rules", f"{healthy.account}/eu-west-1", message),
        ],
    )
    role = f"arn:aws:iam::{healthy.account}:role/OrganizationAccountAccessRole"
    code, text = check_text(cli, hooks=hooks)
    assert code == 0 and f"fix: grant events:ListRules and events:ListTargetsByRule in eu-west-1 to {role}" in text


def test_member_rules_unreachable_is_a_finding_not_the_end(healthy, cli, monkeypatch):
    from tests.support.faults import json_error, operation_of

    def down(request=None, **_):
        if operation_of(request) == "ListRules" and "X-Amz-Security-Token" in request.headers:
            return json_error("InternalFailure", status=500)
        return None

    monkeypatch.setenv("BREAKGLASS_MAX_ATTEMPTS", "1")
    run = cli("check", "--output", "json", hooks=[("before-send.events.ListRules", down)])
    found = [(f["severity"], f["check"], f["subject"]) for f in run.json()["findings"]]
    assert run.exit_code == 4
    assert found == [
        ("error", "alert-rules", f"{healthy.account}/us-east-1"),
        ("error", "alert-rules", f"{healthy.account}/eu-west-1"),
    ]
    assert all(f["message"].startswith("could not check: ") for f in run.json()["findings"])


# --- the central bus, the topic ---------------------------------------------------------------------


def test_bus_policy_missing(healthy, cli):
    events().remove_permission(StatementId="breakglass-organization")
    code, found = findings(cli)
    assert code == 4 and [f[:3] for f in found] == [("error", "alert-bus", BUS)]
    assert found[0][3] in (
        "the central event bus has no policy: the member accounts' forwarded alerts are refused",
        "the central event bus does not accept events from the organization "
        f"{boto3.client('organizations').describe_organization()['Organization']['Id']}: "
        "the member accounts' forwarded alerts are refused",
    )
    assert "aws:PrincipalOrgID" in check_text(cli)[1]


def test_bus_policy_for_another_organization(healthy, cli):
    org_id = boto3.client("organizations", region_name="us-east-1").describe_organization()["Organization"]["Id"]
    events().remove_permission(StatementId="breakglass-organization")
    condition = {"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": "o-someoneelse"}
    events().put_permission(Action="events:PutEvents", Principal="*", StatementId="other", Condition=condition)
    message = (
        f"the central event bus does not accept events from the organization {org_id}: "
        "the member accounts' forwarded alerts are refused"
    )
    assert findings(cli) == (4, [("error", "alert-bus", BUS, message)])


def test_topic_with_only_pending_subscriptions(healthy, cli):
    """moto confirms every subscription: SNS's answer is rewritten as AWS gives it before confirmation."""
    message = "the SNS topic has no confirmed subscription (1 pending confirmation)"
    assert findings(cli, hooks=[pending_subscriptions()]) == (4, [("error", "alerting", healthy.topic, message)])


# --- the break-glass users' MFA device and secret -----------------------------------------------


def test_user_without_a_virtual_mfa_device(healthy, cli):
    iam = boto3.client("iam", region_name="us-east-1")
    iam.deactivate_mfa_device(UserName=SANDBOX_USER, SerialNumber=f"arn:aws:iam::{ACCOUNT}:mfa/{SANDBOX_USER}")
    message = "no virtual (TOTP) MFA device: the CLI needs its 6-digit codes"
    assert findings(cli) == (4, [("error", "mfa-device", SANDBOX_USER, message)])
    assert f"aws iam create-virtual-mfa-device --virtual-mfa-device-name {SANDBOX_USER}" in check_text(cli)[1]


def test_user_with_only_a_fido_key(healthy, cli):
    """moto accepts any serial number: a FIDO (u2f) device is enabled as AWS lists one."""
    iam = boto3.client("iam", region_name="us-east-1")
    iam.deactivate_mfa_device(UserName=SANDBOX_USER, SerialNumber=f"arn:aws:iam::{ACCOUNT}:mfa/{SANDBOX_USER}")
    fido = f"arn:aws:iam::{ACCOUNT}:u2f/user/{SANDBOX_USER}/key-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    iam.enable_mfa_device(
        UserName=SANDBOX_USER, SerialNumber=fido, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    message = f"only a FIDO security key ({fido}): the CLI cannot use a FIDO key"
    assert findings(cli) == (4, [("error", "mfa-device", SANDBOX_USER, message)])


def test_secret_older_than_the_active_key(healthy, cli):
    """Without reading the value: the current version was written before the active key was made.
    (moto dates every version at the time of the listing: the answer is given as AWS would.)"""
    from datetime import UTC, timedelta

    key = boto3.client("iam", region_name="us-east-1").list_access_keys(UserName=SANDBOX_USER)["AccessKeyMetadata"][0]
    before = key["CreateDate"] - timedelta(days=1)
    code, found = findings(cli, hooks=[current_version_written(before)])
    message = (
        f"the secret breakglass/{SANDBOX_USER} was written {before.astimezone(UTC):%Y-%m-%d %H:%M}Z, "
        f"before the active access key {key['AccessKeyId']} was created: it does not hold that key"
    )
    assert (code, found) == (4, [("error", "credentials", SANDBOX_USER, message)])


# --- RCPs on the path to the security account -------------------------------------------------------


def rcp(name, statement, target=ACCOUNT):
    org = boto3.client("organizations", region_name="us-east-1")
    content = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    policy = org.create_policy(Content=content, Description="x", Name=name, Type="RESOURCE_CONTROL_POLICY")
    policy_id = policy["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=policy_id, TargetId=target)
    return policy_id


DENY_SECRETS = {
    "Sid": "NoSecretReads",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "secretsmanager:GetSecretValue",
    "Resource": "arn:aws:secretsmanager:*:*:secret:breakglass/*",
}
AS_MEMBER = [management_elsewhere()]  # the security account is a member account, as it should be


def test_rcp_denying_the_secret(healthy, cli):
    policy_id = rcp("NoSecrets", DENY_SECRETS)
    message = (
        f"NoSecretReads denies the break-glass user {SANDBOX_USER} secretsmanager:GetSecretValue "
        f"on breakglass/{SANDBOX_USER}"
    )
    assert findings(cli, "--account", healthy.account, hooks=AS_MEMBER) == (
        4,
        [("error", "rcp", f"{policy_id} (NoSecrets) on {ACCOUNT}", message)],
    )
    code, text = check_text(cli, "--account", healthy.account, hooks=AS_MEMBER)
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/{SANDBOX_USER}"
    assert code == 4 and f'add Condition ArnNotLike {{"aws:PrincipalArn": "{user_arn}"}} to NoSecretReads' in text


def test_rcp_in_the_management_account_is_not_in_force(healthy, cli):
    """RCPs do not apply to the management account's resources: a warning, for the day the secrets move."""
    policy_id = rcp("NoSecrets", DENY_SECRETS)
    code, found = findings(cli)
    assert code == 0 and [f[:3] for f in found] == [("warning", "rcp", f"{policy_id} (NoSecrets) on {ACCOUNT}")]
    assert found[0][3].endswith(
        "(not in force while the resource sits in the management account: RCPs do not apply there)"
    )


def test_rcp_denying_assume_role(healthy, cli):
    statement = {"Sid": "NoAssume", "Effect": "Deny", "Principal": "*", "Action": "sts:Assume*", "Resource": "*"}
    policy_id = rcp("NoAssume", statement)
    message = f"NoAssume denies the break-glass user {SANDBOX_USER} sts:AssumeRole of BreakGlassAdmin"
    assert findings(cli, "--account", healthy.account, hooks=AS_MEMBER) == (
        4,
        [("error", "rcp", f"{policy_id} (NoAssume) on {ACCOUNT}", message)],
    )


def test_rcp_at_the_root_denying_assume_role_is_in_force_for_the_member_roles(healthy, cli):
    root = boto3.client("organizations", region_name="us-east-1").list_roots()["Roots"][0]["Id"]
    statement = {"Sid": "NoAssume", "Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole", "Resource": "*"}
    policy_id = rcp("NoAssume", statement, root)
    code, found = findings(cli)
    assert code == 4
    assert (
        "error",
        "rcp",
        f"{policy_id} (NoAssume) on {root}",
        f"NoAssume denies the break-glass user {SANDBOX_USER} sts:AssumeRole of BreakGlassAdmin",
    ) in found


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (
            {"Sid": "Keys", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"},
            ("error", f"Keys denies the break-glass user {SANDBOX_USER} kms:Decrypt of its KMS key"),
        ),
        (
            DENY_SECRETS | {"Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/breakglass-*"}}},
            None,
        ),
        (
            DENY_SECRETS | {"Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlassAdmin"}}},
            (
                "error",
                f"NoSecretReads denies the break-glass user {SANDBOX_USER} secretsmanager:GetSecretValue "
                f"on breakglass/{SANDBOX_USER}",
            ),
        ),
        (
            {
                "Sid": "Perimeter",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "*",
                "Resource": "*",
                "Condition": {
                    "StringNotEqualsIfExists": {"aws:PrincipalAccount": [ACCOUNT]},
                    "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
                },
            },
            None,
        ),
        (
            {
                "Sid": "Tls",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "*",
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:SecureTransport": "false"}},
            },
            None,
        ),
        (
            DENY_SECRETS | {"Resource": "arn:aws:secretsmanager:*:*:secret:payments/*"},
            None,
        ),
        (
            DENY_SECRETS | {"Condition": {"StringNotEquals": {"aws:PrincipalTag/breakglass": "true"}}},
            ("info", "NoSecretReads exempts principals by tag: make sure the break-glass user breakglass-1 carries it"),
        ),
        (
            DENY_SECRETS | {"Condition": {"StringNotEquals": {"aws:SourceVpc": "vpc-1"}}},
            (
                "warning",
                f"NoSecretReads may deny the break-glass user {SANDBOX_USER} secretsmanager:GetSecretValue on "
                f"breakglass/{SANDBOX_USER}: a conditional Deny (aws:SourceVpc) without an exemption for it, "
                "too complex to judge",
            ),
        ),
    ],
    ids=["kms", "user-exempt", "role-exempt-only", "perimeter", "tls", "other-secrets", "tag", "complex"],
)
def test_rcp_judged_for_the_user(healthy, cli, statement, expected):
    policy_id = rcp("Guard", statement)
    code, found = findings(cli, "--account", healthy.account, hooks=AS_MEMBER)
    wanted = [] if expected is None else [(expected[0], "rcp", f"{policy_id} (Guard) on {ACCOUNT}", expected[1])]
    assert (code, found) == (4 if expected and expected[0] == "error" else 0, wanted)
