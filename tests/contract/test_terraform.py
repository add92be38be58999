"""The Terraform modules and the complete example: formatted, valid, their `terraform test` suites
green, and the example applied to a moto server and driven by the installed `breakglass` command.

Everything skips with the reason when terraform or the provider mirror is absent.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from breakglass_aws.evidence.bundle import MANIFEST
from breakglass_aws.incident.deadman import RETRY_POLICY
from breakglass_aws.permissions import OPERATION_ACTIONS, RESTORE_FUNCTION, ROOT_TASKS, actions_for
from breakglass_aws.testing import MotoServer, env_for
from breakglass_aws.testing_kit import start_sandbox
from breakglass_aws.watch.coverage import COVERAGE, Names, patterns
from tests.support.terraform import (
    BREAKGLASS,
    MIRROR_CONFIG_SCRIPT,
    MODULES,
    REPO,
    ROOTS,
    TERRAFORM_DIR,
    Terraform,
    allows,
    assert_forwards_to,
    build_lambda_zip,
    clean_environment,
    deployed_alert_rules,
    find_mirror,
    terraform_session,
)

pytestmark = pytest.mark.terraform

ACCOUNT = "123456789012"  # moto's account
REGION = "us-east-1"
# The DynamoDB operations of the shared store, granted on its table to operators and the restore function.
STORE_OPERATIONS = [
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchWriteItem",
    "TransactWriteItems",
    "ConditionCheckItem",
    "DescribeTable",
]


@pytest.fixture(scope="session")
def tf(tmp_path_factory: pytest.TempPathFactory) -> Terraform:
    return terraform_session(tmp_path_factory.mktemp("tf"))


# --- static checks ---------------------------------------------------------------------------


@pytest.mark.parametrize("root", ROOTS)
def test_formatted_and_valid(tf: Terraform, root: str):
    tf.run("fmt", "-check", "-recursive", "-diff", "-no-color", cwd=TERRAFORM_DIR / root)
    workdir = tf.init(root)
    tf.run("validate", "-no-color", cwd=workdir)


@pytest.mark.parametrize("module", MODULES)
def test_module_test_suite(tf: Terraform, module: str):
    workdir = tf.init(f"modules/{module}")
    assert list((workdir / "tests").glob("*.tftest.hcl")), f"modules/{module} has no terraform test files"
    done = tf.run("test", "-no-color", cwd=workdir)
    assert "0 failed" in done.stdout, done.stdout


def test_mirror_config_names_the_discovered_mirror(tmp_path: Path):
    mirror = find_mirror()
    if mirror is None:
        pytest.skip("terraform provider mirror not found")
    target = tmp_path / "cli.tfrc"
    done = subprocess.run(["bash", str(MIRROR_CONFIG_SCRIPT), str(target)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(target)
    text = target.read_text()
    assert f'path    = "{mirror}"' in text
    assert text.count('["registry.terraform.io/*/*"]') == 2  # mirror include, direct exclude


def test_mirror_config_fails_clearly_without_a_mirror(tmp_path: Path):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    fake_find = fake_bin / "find"
    fake_find.write_text("#!/bin/sh\nexit 0\n")
    fake_find.chmod(fake_find.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{fake_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        ["bash", str(MIRROR_CONFIG_SCRIPT), str(tmp_path / "cli.tfrc")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 1
    assert "no Terraform provider mirror found" in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "cli.tfrc").exists()


def _ci_terraform_block() -> str:
    text = (REPO / ".ci" / "run").read_text()
    start, end = text.index("# --- terraform"), text.index("# --- end terraform")
    return "set -euo pipefail\n" + text[start:end] + 'echo "TF_CLI_CONFIG_FILE=${TF_CLI_CONFIG_FILE:-}"\n'


def test_ci_ends_in_the_readme_test_command():
    lines = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if line.strip()]
    assert lines[-1] == "python -m pytest"
    assert "python -m pytest" in (REPO / "README.md").read_text()


def test_ci_scans_terraform_with_checkov_and_every_accepted_check_has_its_reason():
    """checkov, pinned, in its own virtual environment, on terraform/ with the committed config; in
    that config each accepted check id comes right after the comment giving its reason."""
    ci = (REPO / ".ci" / "run").read_text()
    block = ci[ci.index("# --- checkov") : ci.index("# --- end checkov")]
    assert "python3 -m venv" in block and "'checkov==" in block and "--only-binary=:all:" in block
    assert '"$CHECKOV_VENV/bin/checkov" --config-file terraform/.checkov.yaml --directory terraform' in block
    assert ci.index("# --- end checkov") < ci.index("python -m pytest")
    lines = (TERRAFORM_DIR / ".checkov.yaml").read_text().splitlines()
    start = lines.index("skip-check:")
    accepted = [(i, line.strip()[2:]) for i, line in enumerate(lines) if i > start and line.strip().startswith("- ")]
    assert accepted, "no accepted check listed"
    for i, check in accepted:
        assert re.fullmatch(r"CKV2?_AWS_\d+", check), check
        assert lines[i - 1].strip().startswith("#"), f"{check} is accepted without a reason above it"
    assert len({c for _, c in accepted}) == len(accepted), "a check is listed twice"
    # The fixed ones stay fixed: the restore policy's "*" writes and its missing dead-letter queue.
    assert {"CKV_AWS_111", "CKV_AWS_356", "CKV_AWS_116", "CKV_AWS_27"}.isdisjoint(c for _, c in accepted)


def test_ci_exports_the_mirror_config_before_fmt(tf: Terraform):
    """The terraform step of .ci/run, run as CI runs it: the CLI config names the discovered mirror."""
    done = subprocess.run(
        ["bash", "-c", _ci_terraform_block()],
        cwd=REPO,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    exported = done.stdout.strip().splitlines()[-1].removeprefix("TF_CLI_CONFIG_FILE=")
    assert exported and Path(exported).is_file(), done.stdout
    assert f'path    = "{find_mirror()}"' in Path(exported).read_text()
    Path(exported).unlink()


def test_ci_skips_terraform_cleanly_when_absent(tmp_path: Path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "echo", "dirname", "env"):  # everything but terraform
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    done = subprocess.run(
        ["bash", "-c", _ci_terraform_block()],
        cwd=REPO,
        env={**clean_environment(), "PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "terraform not installed: skipping terraform fmt" in done.stderr
    assert done.stdout.strip() == "TF_CLI_CONFIG_FILE="


# --- the complete example on a moto server -----------------------------------------------------


@dataclass
class Deployment:
    server: MotoServer
    outputs: dict[str, Any]

    def client(self, service: str, region: str = REGION) -> Any:
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.server.url,
            aws_access_key_id="AKIAFAKEFORTESTS0000",
            aws_secret_access_key="fakeSecretKeyForTests0000000000000000000",
        )


@pytest.fixture(scope="module")
def deployed(tf: Terraform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("deployed")
    # the testing kit (moto lacks LookupEvents: it answers it from its seed file); AWS managed
    # policies (AdministratorAccess) exist in moto only when loaded
    kit = start_sandbox(org=False, environment={"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"})
    server = kit.server
    try:
        deployment = Deployment(server, {})
        # The control plane runs in the organization's management account: the organization exists.
        deployment.client("organizations").create_organization(FeatureSet="ALL")
        variables = {
            "trusted_principal_arns": [f"arn:aws:iam::{ACCOUNT}:root"],
            "evidence_bucket_name": "breakglass-evidence-test",
            "lambda_zip_path": str(build_lambda_zip(tmp)),
            # moto applies a bucket policy's Deny without its conditions: TLS-only would deny everything.
            "evidence_require_tls": False,
            "skip_credentials_validation": True,
            "skip_requesting_account_id": True,
            "skip_metadata_api_check": True,
            "s3_use_path_style": True,
            "max_retries": 1,
        }
        var_file = tmp / "moto.tfvars.json"
        var_file.write_text(json.dumps(variables))
        workdir = tf.init("examples/complete")
        env = env_for(server.url, {})
        tf.run("apply", "-auto-approve", "-no-color", f"-var-file={var_file}", cwd=workdir, env=env)
        deployment.outputs = tf.outputs(workdir, env)
        yield deployment
    finally:
        kit.stop()


# The tool settings the complete example must output, each under the setting's own name.
SETTING_OUTPUTS = {
    "alert_rule_prefix",
    "alert_regions",
    "sns_topic_arn",
    "store",
    "role_name",
    "rotate_users",
    "secret_prefix",
    "restore_function_arn",
    "scheduler_role_arn",
    "schedule_group",
    "schedule_dead_letter_arn",
    "member_role_name",
    "evidence_bucket",
    "signing_key",
    "custody_threshold",
    "custodians",
}


def setting_environment(outputs: dict[str, Any]) -> dict[str, str]:
    """BREAKGLASS_<NAME> for every output named like a tool setting."""
    from breakglass_aws.settings import Settings

    return {
        f"BREAKGLASS_{name.upper()}": json.dumps(value) if isinstance(value, list) else str(value)
        for name, value in outputs.items()
        if name in Settings.model_fields
    }


def breakglass(deployment: Deployment, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed command, configured from the example's outputs (every setting-named one)."""
    env = env_for(deployment.server.url, clean_environment())
    env.update(
        XDG_STATE_HOME=str(tmp / "state"),
        XDG_CONFIG_HOME=str(tmp / "config"),
        BREAKGLASS_MAX_ATTEMPTS="2",
        **setting_environment(deployment.outputs),
    )
    return subprocess.run([BREAKGLASS, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def allowed_actions(document: str) -> list[str]:
    actions: list[str] = []
    statements = json.loads(document)["Statement"]
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") == "Allow":
            found = statement.get("Action", [])
            actions += [found] if isinstance(found, str) else found
    return actions


def missing_from(document: str, wanted: set[str]) -> set[str]:
    """The wanted actions no Allow statement grants (IAM matches actions case-insensitively)."""
    patterns = [p.lower() for p in allowed_actions(document)]
    return {a for a in wanted if not any(fnmatch.fnmatchcase(a.lower(), p) for p in patterns)}


def test_outputs_are_the_tool_settings(deployed: Deployment):
    out = deployed.outputs
    assert out["store"] == "dynamodb://breakglass-store"
    assert out["role_name"] == "BreakGlassAdmin"
    assert out["rotate_users"] == ["breakglass-1", "breakglass-2"]
    assert out["secret_prefix"] == "breakglass/"
    assert out["evidence_bucket"] == "breakglass-evidence-test"
    assert out["sns_topic_arn"] == f"arn:aws:sns:{REGION}:{ACCOUNT}:breakglass-notifications"
    assert out["restore_function_arn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:breakglass-restore"
    assert out["schedule_group"] == "breakglass"
    assert out["alert_rule_prefix"] == "breakglass" and out["alert_regions"] == ["eu-west-1"]
    assert out["scheduler_role_arn"] == f"arn:aws:iam::{ACCOUNT}:role/breakglass-scheduler"
    assert out["member_role_name"] == "OrganizationAccountAccessRole"
    assert out["schedule_dead_letter_arn"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:breakglass-restore-dead-letters"
    from breakglass_aws.settings import Settings

    assert set(Settings.model_fields) >= SETTING_OUTPUTS, "a listed output is not a tool setting"
    assert set(out) >= SETTING_OUTPUTS, f"settings without an output: {sorted(SETTING_OUTPUTS - set(out))}"
    assert {k.removeprefix("BREAKGLASS_").lower() for k in setting_environment(out)} == SETTING_OUTPUTS


def test_policies_grant_what_the_tool_declares(deployed: Deployment):
    operator, restore = deployed.outputs["operator_policy_json"], deployed.outputs["restore_policy_json"]
    assert missing_from(operator, actions_for()) == set()
    # root-task mode is on in the example (enable_root_tasks): what the caller needs is granted
    assert missing_from(operator, actions_for(*ROOT_TASKS)) == set()
    store = {f"dynamodb:{a}" for a in STORE_OPERATIONS}
    schedules = {"scheduler:CreateSchedule", "scheduler:DeleteSchedule", "scheduler:GetSchedule", "iam:PassRole"}
    assert missing_from(operator, store | schedules) == set()
    needed = {OPERATION_ACTIONS[op] for op in RESTORE_FUNCTION}
    assert missing_from(restore, needed | store | {"scheduler:DeleteSchedule", "sns:Publish"}) == set()
    assert missing_from(restore, {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}) == set()
    # The restore function restores SCPs and finishes stopped closes: its IAM and STS rights are the
    # break-glass role's session revocation through the member role, and the rotation of the
    # break-glass users; no wildcard action.
    assert "*" not in allowed_actions(restore)
    scoped: dict[str, set[str]] = {}
    for statement in json.loads(restore)["Statement"]:
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        resources = [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
        for action in actions:
            if action.startswith(("iam:", "sts:")) and action != "sts:GetCallerIdentity":
                scoped.setdefault(action, set()).update(resources)
    out = deployed.outputs
    role_pattern = f"arn:aws:iam::*:role/{out['role_name']}"
    users = {f"arn:aws:iam::{ACCOUNT}:user/{user}" for user in out["rotate_users"]}
    rotation = {OPERATION_ACTIONS[op] for op in RESTORE_FUNCTION if OPERATION_ACTIONS[op].startswith("iam:")}
    rotation -= {"iam:GetRole", "iam:GetRolePolicy", "iam:PutRolePolicy", "iam:GetAccountPasswordPolicy"}
    assert scoped == {
        "iam:GetRole": {role_pattern},
        "iam:GetRolePolicy": {role_pattern},
        "iam:PutRolePolicy": {role_pattern},
        "sts:AssumeRole": {f"arn:aws:iam::*:role/{out['member_role_name']}"},
        "iam:GetAccountPasswordPolicy": {"*"},
        "sts:AssumeRoot": {"*"},  # ending a stale root incident (root-task policies only)
        **{action: users for action in rotation},
    }
    writes = {
        resource
        for statement in json.loads(restore)["Statement"]
        if "s3:PutObject" in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
        for resource in ([statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"])
    }
    assert writes == {f"arn:aws:s3:::{out['evidence_bucket']}/anchors/*"}, "the function writes journal anchors only"


def test_deployed_control_plane(deployed: Deployment):
    out = deployed.outputs
    bucket = out["evidence_bucket"]
    lock = deployed.client("s3").get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled"
    assert lock["Rule"]["DefaultRetention"]["Mode"] == "GOVERNANCE"
    table = deployed.client("dynamodb").describe_table(TableName="breakglass-store")["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    function = deployed.client("lambda").get_function_configuration(FunctionName=out["restore_function_arn"])
    assert function["Runtime"] == "python3.11"
    assert function["FunctionArn"] == out["restore_function_arn"]
    assert function["Environment"]["Variables"] == {
        "BREAKGLASS_STORE": out["store"],
        "BREAKGLASS_SNS_TOPIC_ARN": out["sns_topic_arn"],
        "BREAKGLASS_ROLE_NAME": out["role_name"],
        "BREAKGLASS_MEMBER_ROLE_NAME": out["member_role_name"],
        "BREAKGLASS_SCHEDULE_GROUP": out["schedule_group"],
        "BREAKGLASS_RESTORE_FUNCTION_ARN": out["restore_function_arn"],
        "BREAKGLASS_SCHEDULER_ROLE_ARN": out["scheduler_role_arn"],
        "BREAKGLASS_EVIDENCE_BUCKET": out["evidence_bucket"],
        "BREAKGLASS_EVIDENCE_LOCK_MODE": "GOVERNANCE",
        "BREAKGLASS_EVIDENCE_RETAIN_DAYS": "365",
        "BREAKGLASS_SIGNING_KEY": out["signing_key"],
    }
    schedule = deployed.client("scheduler").get_schedule(
        Name="breakglass-restore-expired", GroupName=out["schedule_group"]
    )
    assert schedule["ScheduleExpression"] == "rate(5 minutes)"
    assert schedule["Target"]["Arn"] == function["FunctionArn"]
    assert schedule["Target"]["RetryPolicy"] == RETRY_POLICY
    assert schedule["Target"]["DeadLetterConfig"] == {"Arn": out["schedule_dead_letter_arn"]}
    sm = deployed.client("secretsmanager")
    names = {s["Name"] for s in sm.list_secrets()["SecretList"]}
    assert names == {"breakglass/breakglass-1", "breakglass/breakglass-2"}
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.get_secret_value(SecretId="breakglass/breakglass-2")  # Terraform never writes a value
    scps = deployed.client("organizations").list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]
    assert {"breakglass-DenyLeaveOrganization", "breakglass-DenyCloudTrailChanges"} <= {p["Name"] for p in scps}


def _deployed_names(out: dict[str, Any]) -> Names:
    """The names the example's alert rules filter on, from its outputs."""
    return Names(
        role_name=out["role_name"],
        user_names=tuple(out["rotate_users"]),
        secret_prefix=out["secret_prefix"],
        rule_prefix="breakglass",  # the modules' name_prefix (default)
        topic_name=out["sns_topic_arn"].rsplit(":", 1)[-1],
    )


def test_alert_rules_in_every_region_reach_the_topic(deployed: Deployment):
    """us-east-1: one rule per applicable kind, with the pattern and state coverage.patterns renders,
    notifying the topic (whose policy lets each rule publish). eu-west-1: the regional kinds only,
    forwarded to the us-east-1 default bus through a role that may put events there and nothing else.
    The default bus accepts events from the organization's accounts."""
    out = deployed.outputs
    expected = patterns(_deployed_names(out))
    assert {"console-login", "user-credentials", "user-mfa-deleted"} <= set(expected), "the example has users"
    central = deployed_alert_rules(deployed.client("events"))
    assert set(central) == set(expected) == set(out["alert_rule_arns"])
    topic = out["sns_topic_arn"]
    topic_policy = deployed.client("sns").get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]
    for kind, rule in central.items():
        assert (rule["pattern"], rule["state"]) == (expected[kind]["pattern"], expected[kind]["state"]), kind
        assert [(t["Arn"], t.get("RoleArn")) for t in rule["targets"]] == [(topic, None)], kind
        assert allows(topic_policy, "sns:Publish", [topic], {"aws:SourceArn": out["alert_rule_arns"][kind]}), kind
    assert central["secret-read"]["state"] == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"

    bus = out["event_bus_arn"]
    assert bus == f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
    regional = {k.kind: expected[k.kind] for k in COVERAGE if k.regional and k.kind in expected}
    assert set(regional) < set(expected), "IAM and Organizations kinds are recorded in us-east-1 only"
    assert_forwards_to(deployed.client("events", "eu-west-1"), deployed.client("iam"), bus, regional, ACCOUNT)
    assert set(out["forwarding_rule_arns"]) == set(regional)
    assert out["forwarding_role_arn"] == f"arn:aws:iam::{ACCOUNT}:role/breakglass-alert-forwarding-eu-west-1"

    organization = deployed.client("organizations").describe_organization()["Organization"]["Id"]
    described = deployed.client("events").describe_event_bus(Name="default")
    assert described["Arn"] == bus
    [statement] = json.loads(described["Policy"])["Statement"]
    assert statement["Principal"] == "*" and statement["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": organization}
    }, statement
    assert allows(described["Policy"], "events:PutEvents", [bus], {"aws:PrincipalOrgID": organization})
    assert not allows(described["Policy"], "events:PutEvents", [bus], {"aws:PrincipalOrgID": "o-0therorg00"})


def test_scheduled_restore_failures_reach_the_topic(deployed: Deployment):
    """The dead-letter queue (encrypted) and the alarms on it and on the function, each notifying the topic."""
    out = deployed.outputs
    sqs = deployed.client("sqs")
    url = sqs.get_queue_url(QueueName="breakglass-restore-dead-letters")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["QueueArn"] == out["schedule_dead_letter_arn"]
    assert attributes["SqsManagedSseEnabled"] == "true"
    alarms = deployed.client("cloudwatch").describe_alarms(AlarmNamePrefix="breakglass-restore-")["MetricAlarms"]
    watched = {
        a["AlarmName"]: (a["Namespace"], a["MetricName"], {d["Name"]: d["Value"] for d in a["Dimensions"]})
        for a in alarms
    }
    assert watched == {
        "breakglass-restore-dead-letters": (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": "breakglass-restore-dead-letters"},
        ),
        "breakglass-restore-errors": ("AWS/Lambda", "Errors", {"FunctionName": "breakglass-restore"}),
        "breakglass-restore-throttles": ("AWS/Lambda", "Throttles", {"FunctionName": "breakglass-restore"}),
    }
    for alarm in alarms:
        assert alarm["AlarmActions"] == [out["sns_topic_arn"]], alarm["AlarmName"]
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0.0)
    # Both senders to the queue may send: the schedules' role and the function's role.
    iam = deployed.client("iam")
    scheduler_policy = iam.get_role_policy(RoleName="breakglass-scheduler", PolicyName="invoke-restore")
    restore_policy = iam.get_role_policy(RoleName="breakglass-restore-function", PolicyName="restore")
    for document in (scheduler_policy["PolicyDocument"], restore_policy["PolicyDocument"]):
        text = document if isinstance(document, str) else json.dumps(document)
        assert allows(text, "sqs:SendMessage", [out["schedule_dead_letter_arn"]])


# AWS managed policies (FullAWSAccess, RCPFullAWSAccess) carry "aws" where the organization's own
# carry the management account: moto gives them the management account's, so they are rebuilt here.
def _policy_arn(org: Any, policy_id: str) -> tuple[str, dict[str, str]]:
    summary = org.describe_policy(PolicyId=policy_id)["Policy"]["PolicySummary"]
    arn = summary["Arn"]
    if summary["AwsManaged"]:
        arn = f"arn:aws:organizations::aws:policy/{summary['Type'].lower()}/{policy_id}"
    return arn, {"organizations:PolicyType": summary["Type"]}


def _target_arn(org: Any, target_id: str) -> str:
    if target_id.startswith("r-"):
        return next(r["Arn"] for r in org.list_roots()["Roots"] if r["Id"] == target_id)
    if target_id.startswith("ou-"):
        return org.describe_organizational_unit(OrganizationalUnitId=target_id)["OrganizationalUnit"]["Arn"]
    return org.describe_account(AccountId=target_id)["Account"]["Arn"]


def _request(org: Any, operation: str, params: dict[str, Any]) -> tuple[str, list[str], dict[str, str]]:
    """The IAM request behind an Organizations call: action, resource ARNs, condition keys."""
    action = f"organizations:{operation}"
    if operation in ("AttachPolicy", "DetachPolicy"):
        policy, context = _policy_arn(org, params["PolicyId"])
        return action, [policy, _target_arn(org, params["TargetId"])], context
    if operation == "DescribePolicy":
        policy, context = _policy_arn(org, params["PolicyId"])
        return action, [policy], context
    if operation == "ListPoliciesForTarget":
        return action, [_target_arn(org, params["TargetId"])], {"organizations:PolicyType": params["Filter"]}
    raise AssertionError(f"the restore function called {operation}: model its IAM request here")


def test_restore_function_policy_allows_a_restore_and_nothing_more(
    deployed: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The IAM contract of the unattended restore: every Organizations call a real restore makes
    (recorded from the function, called as its one-time schedule calls it) is allowed by the
    restore policy Terraform rendered; lifting a guardrail, attaching FullAWSAccess or touching
    another policy type is not. The operator policy detaches and restores SCPs only."""
    import time
    from dataclasses import replace

    from breakglass_aws import lambda_handler

    org = deployed.client("organizations")
    account = org.create_account(Email="guarded@example.com", AccountName="guarded")["CreateAccountStatus"]["AccountId"]
    content = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    )
    created = org.create_policy(Content=content, Description="d", Name="OnlyS3", Type="SERVICE_CONTROL_POLICY")
    guardrail = created["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=guardrail, TargetId=account)
    org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=account)  # an allow-list guardrail
    opened = breakglass(
        deployed,
        tmp_path,
        "scp",
        "detach",
        "--target",
        account,
        "--reason",
        "x",
        "--yes",
        "--ttl",
        "1s",
        "--output",
        "json",
    )
    assert opened.returncode == 0, opened.stderr
    incident_id = json.loads(opened.stdout)["incident_id"]
    time.sleep(1.5)

    calls: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, dict(params)))

    real = lambda_handler.build_runtime
    hooks = [("before-parameter-build.organizations", record)]
    monkeypatch.setattr(lambda_handler, "build_runtime", lambda s, inj: real(s, replace(inj, hooks=hooks)))
    for key, value in env_for(deployed.server.url, {}).items():
        monkeypatch.setenv(key, value)
    function = deployed.client("lambda").get_function_configuration(
        FunctionName=deployed.outputs["restore_function_arn"]
    )
    for key, value in function["Environment"]["Variables"].items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "lambda-state"))
    summary = lambda_handler.handler({"incident_id": incident_id}, None)
    assert summary["restored"] == [incident_id], summary
    attached = {
        p["Id"] for p in org.list_policies_for_target(TargetId=account, Filter="SERVICE_CONTROL_POLICY")["Policies"]
    }
    assert attached == {guardrail}

    restore = deployed.outputs["restore_policy_json"]
    made = {(name, params.get("PolicyId"), params.get("TargetId")) for name, params in calls}
    assert {("AttachPolicy", guardrail, account), ("DetachPolicy", "p-FullAWSAccess", account)} <= made
    for name, params in calls:
        assert allows(restore, *_request(org, name, params)), (name, params)

    root = org.list_roots()["Roots"][0]["Id"]
    ou = org.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
    tag_policy = org.create_policy(Content="{}", Description="d", Name="Tags", Type="TAG_POLICY")
    tag_id = tag_policy["Policy"]["PolicySummary"]["Id"]
    lifts = [
        ("DetachPolicy", guardrail, account),  # the guardrail itself
        ("DetachPolicy", guardrail, ou),
        ("AttachPolicy", "p-FullAWSAccess", account),  # widens an allow-list SCP
        ("AttachPolicy", tag_id, ou),  # another policy type
        ("DetachPolicy", "p-RCPFullAWSAccess", root),
    ]
    for name, policy_id, target in lifts:
        request = _request(org, name, {"PolicyId": policy_id, "TargetId": target})
        assert not allows(restore, *request), (name, policy_id, target)
    # Operators detach and restore SCPs, FullAWSAccess included, and nothing of another type.
    operator = deployed.outputs["operator_policy_json"]
    for name, policy_id, target in [*lifts[:3], *((n, p, t) for n, p, t in made if p and t)]:
        assert allows(operator, *_request(org, name, {"PolicyId": policy_id, "TargetId": target}))
    for name, policy_id, target in lifts[3:]:
        assert not allows(operator, *_request(org, name, {"PolicyId": policy_id, "TargetId": target}))


def test_role_assume_notifies_and_evidence_is_locked(deployed: Deployment, tmp_path: Path):
    out = deployed.outputs
    sqs, sns = deployed.client("sqs"), deployed.client("sns")
    queue_url = sqs.create_queue(QueueName="breakglass-alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=out["sns_topic_arn"], Protocol="sqs", Endpoint=queue_arn)

    assumed = breakglass(
        deployed, tmp_path, "role", "assume", "--account", ACCOUNT, "--reason", "x", "--format", "json"
    )
    assert assumed.returncode == 0, assumed.stderr
    credentials = json.loads(assumed.stdout)
    assert credentials["AccessKeyId"]
    assert credentials["role_arn"] == f"arn:aws:iam::{ACCOUNT}:role/{out['role_name']}"
    incident_id = credentials["incident_id"]

    events = []
    for _ in range(10):
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        events += [json.loads(json.loads(m["Body"])["Message"]) for m in answer.get("Messages", [])]
        if any(e.get("event") == "activated" for e in events):
            break
    activated = [e for e in events if e.get("event") == "activated"]
    assert activated, events
    assert activated[0]["incident_id"] == incident_id
    assert activated[0]["mode"] == "role"

    bundle = tmp_path / "bundle"
    collected = breakglass(
        deployed,
        tmp_path,
        "evidence",
        "collect",
        incident_id,
        "--out",
        str(bundle),
        "--upload",
        f"s3://{out['evidence_bucket']}/incidents",
        "--retain-days",
        "1",
    )
    assert collected.returncode == 0, collected.stderr
    s3 = deployed.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=out["evidence_bucket"], Prefix="incidents/")["Contents"]]
    manifest = next(k for k in keys if k.endswith(f"/{MANIFEST}"))
    head = s3.head_object(Bucket=out["evidence_bucket"], Key=manifest)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert head["ObjectLockRetainUntilDate"]


def test_rotate_fills_the_created_secret(deployed: Deployment, tmp_path: Path):
    user = deployed.outputs["rotate_users"][0]
    iam, sm = deployed.client("iam"), deployed.client("secretsmanager")
    old_key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]

    rotated = breakglass(deployed, tmp_path, "rotate", "--user", user)
    assert rotated.returncode == 0, rotated.stderr

    keys = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}
    new_keys = [k for k in keys if k != old_key]
    assert len(new_keys) == 1
    secret_id = f"{deployed.outputs['secret_prefix']}{user}"
    stored = json.loads(sm.get_secret_value(SecretId=secret_id)["SecretString"])
    assert stored["access_key_id"] == new_keys[0]
    assert keys.get(old_key) in (None, "Inactive")


def test_restore_function_on_the_created_table(deployed: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An SCP incident opened through the shared table expires; the restore function (called
    directly: moto cannot invoke Lambda) restores it from that table."""
    import time

    from breakglass_aws.lambda_handler import handler

    org = deployed.client("organizations")
    account = org.create_account(Email="app@example.com", AccountName="app")["CreateAccountStatus"]["AccountId"]
    content = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "ec2:*", "Resource": "*"}]}
    )
    policy = org.create_policy(Content=content, Description="d", Name="NoEC2", Type="SERVICE_CONTROL_POLICY")
    policy_id = policy["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=policy_id, TargetId=account)
    opened = breakglass(
        deployed,
        tmp_path,
        "scp",
        "detach",
        "--target",
        account,
        "--reason",
        "x",
        "--yes",
        "--ttl",
        "1s",
        "--output",
        "json",
    )
    assert opened.returncode == 0, opened.stderr
    incident_id = json.loads(opened.stdout)["incident_id"]
    # The dead-man switch: a one-time schedule in the created group invokes the created function.
    scheduler = deployed.client("scheduler")
    group = deployed.outputs["schedule_group"]
    armed = scheduler.get_schedule(Name=f"breakglass-restore-{incident_id}", GroupName=group)
    assert armed["ScheduleExpression"].startswith("at(")
    assert armed["Target"]["Arn"] == deployed.outputs["restore_function_arn"]
    assert armed["Target"]["RoleArn"] == deployed.outputs["scheduler_role_arn"]
    assert json.loads(armed["Target"]["Input"]) == {"incident_id": incident_id}
    assert armed["Target"]["RetryPolicy"] == RETRY_POLICY
    assert armed["Target"]["DeadLetterConfig"] == {"Arn": deployed.outputs["schedule_dead_letter_arn"]}
    time.sleep(1.5)
    for key, value in env_for(deployed.server.url, {}).items():
        monkeypatch.setenv(key, value)
    lambda_ = deployed.client("lambda")
    function = lambda_.get_function_configuration(FunctionName=deployed.outputs["restore_function_arn"])
    for key, value in function["Environment"]["Variables"].items():  # configured as Terraform configured it
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "lambda-state"))
    summary = handler({}, None)
    assert incident_id in summary["restored"] and summary["failed"] == []
    remaining = scheduler.list_schedules(GroupName=deployed.outputs["schedule_group"])["Schedules"]
    assert f"breakglass-restore-{incident_id}" not in {s["Name"] for s in remaining}, "the restore disarms it"
    attached = {
        p["Id"] for p in org.list_policies_for_target(TargetId=account, Filter="SERVICE_CONTROL_POLICY")["Policies"]
    }
    assert policy_id in attached
    shown = breakglass(deployed, tmp_path, "show", incident_id, "--output", "json")
    assert json.loads(shown.stdout)["status"] == "closed"


def test_check_on_the_applied_infrastructure(deployed: Deployment, tmp_path: Path):
    """`check` configured from the outputs finds the schedule and the alerting Terraform created."""
    out = deployed.outputs
    sqs, sns = deployed.client("sqs"), deployed.client("sns")
    queue_url = sqs.create_queue(QueueName="breakglass-security-team")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=out["sns_topic_arn"], Protocol="sqs", Endpoint=queue_arn)
    checked = breakglass(deployed, tmp_path, "check", "--output", "json")
    assert checked.returncode in (0, 4), checked.stderr
    findings = json.loads(checked.stdout)["findings"]
    wiring = [f for f in findings if f["check"] in ("restore-schedule", "alerting", "alert-rules", "alert-bus")]
    # Member accounts that other tests here add to the organization have no forwarding applied:
    # check names each, with the module to apply there. The control plane's account is wired.
    members = [f for f in wiring if f["check"] == "alert-rules" and not f["subject"].startswith(f"{ACCOUNT}/")]
    assert all("apply terraform/modules/alert-forwarding" in f["remediation"] for f in members), members
    assert [f for f in wiring if f not in members] == []
    # What is left is what Terraform cannot do: it never writes credentials (only breakglass-1 is
    # rotated by another test here), no drill has run, the organization's trail is a prerequisite
    # (the modules make none), and nobody has made the users' MFA devices.
    trail = [f["subject"] for f in findings if f["check"] == "alert-trail"]
    assert trail == ["cloudtrail"], findings
    never_rotated = out["rotate_users"][-1]
    assert ("credentials", never_rotated, f"the secret {out['secret_prefix']}{never_rotated} is empty") in {
        (f["check"], f["subject"], f["message"]) for f in findings
    }, findings
