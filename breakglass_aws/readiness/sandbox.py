"""`drill --sandbox`: the whole tool against an embedded simulated AWS (moto, in this process),
pre-staged as the Terraform modules would, with CloudTrail events seeded (moto records none).
Needs the `sandbox` extra: pip install 'breakglass-aws[sandbox]'."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from breakglass_aws.errors import ConfigError
from breakglass_aws.journal.dynamodb import create_table
from breakglass_aws.watch.coverage import COVERAGE, Names, patterns

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

__all__ = ["SANDBOX_USER", "Sandbox", "sandbox_aws", "stage"]

ROLE = "BreakGlassAdmin"
SANDBOX_USER = "breakglass-1"
TABLE = "breakglass-store"
BUCKET = "breakglass-evidence-sandbox"
TRAIL_BUCKET = "breakglass-trail-sandbox"
REGION = "us-east-1"
ALERT_REGIONS = ("eu-west-1",)  # besides us-east-1: where use is watched and alerts forwarded
TOPIC = "breakglass-alerts"
FAKE = {
    "AWS_ACCESS_KEY_ID": "AKIASANDBOX000000000",
    "AWS_SECRET_ACCESS_KEY": "sandbox-secret-not-real",
    "AWS_DEFAULT_REGION": REGION,
}


def _policy(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


EXEMPT = {"ArnNotLike": {"aws:PrincipalARN": f"arn:aws:iam::*:role/{ROLE}"}}
GUARDRAILS = {
    "DenyLeaveOrganization": _policy(
        [
            {
                "Sid": "DenyLeave",
                "Effect": "Deny",
                "Action": "organizations:LeaveOrganization",
                "Resource": "*",
                "Condition": EXEMPT,
            }
        ]
    ),
    "DenyOutsideEU": _policy(
        [{"Sid": "DenyRegions", "Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*"}]
    ),
}


class Sandbox:
    """What was staged, as the tool's settings name it."""

    def __init__(self, account: str, topic: str, queue: str, folder: Path) -> None:
        self.account, self.topic, self.queue, self.folder = account, topic, queue, folder
        self.store: Any = None  # set to the tool's store: CloudTrail is derived from its journal

    def settings(self) -> dict[str, Any]:
        return {
            "store": f"dynamodb://{TABLE}",
            "region": REGION,
            "sns_topic_arn": self.topic,
            "rotate_users": [SANDBOX_USER],
            "alert_regions": list(ALERT_REGIONS),
            "mfa_serial": "arn:aws:iam::123456789012:mfa/breakglass-1",
            "restore_function_arn": f"arn:aws:lambda:{REGION}:123456789012:function:breakglass-restore",
            "scheduler_role_arn": "arn:aws:iam::123456789012:role/breakglass-scheduler",
            "evidence_dir": str(self.folder / "evidence"),
            "requester_name": "sandbox-engineer",
            "verify_timeout": 5.0,
        }

    def events_for(self, store: Any) -> list[dict[str, Any]]:
        """What CloudTrail would hold: derived from what the tool journaled (moto records none)."""
        found: list[dict[str, Any]] = []
        if store is None:
            return found
        for incident in store.list_incidents(limit=1000):
            for entry in store.entries(incident.incident_id):
                step = entry.data.get("step") or {}
                if entry.kind == "outcome" and entry.data.get("ok") and step.get("action") in ("attach", "detach"):
                    name = "AttachPolicy" if step["action"] == "attach" else "DetachPolicy"
                    params = {"policyId": step["policy_id"], "targetId": step["target"]}
                    found.append(
                        _event(
                            entry.hash[:16],
                            name,
                            incident.requester.arn,
                            entry.at,
                            "organizations.amazonaws.com",
                            params,
                        )
                    )
            role = incident.role
            for session in role.sessions if role else []:
                found.append(
                    _event(
                        f"{session.access_key_id}-gci",
                        "GetCallerIdentity",
                        role.session_name if role else "",
                        session.issued_at.isoformat(),
                        "sts.amazonaws.com",
                        {},
                        session.access_key_id,
                    )
                )
        return found


def _event(
    event_id: str, name: str, username: str, at: str, source: str, params: dict[str, Any], key: str | None = None
) -> dict[str, Any]:
    record = {
        "eventName": name,
        "eventSource": source,
        "requestParameters": params,
        "userIdentity": {"arn": username, "accessKeyId": key},
    }
    return {
        "EventId": event_id,
        "EventName": name,
        "Username": username,
        "EventTime": at,
        "EventSource": source,
        "AccessKeyId": key,
        "CloudTrailEvent": json.dumps(record),
    }


@contextmanager
def sandbox_aws() -> Iterator[Callable[[], Sandbox]]:
    """Start the simulated AWS; yields a function that stages the break-glass set-up."""
    try:
        from moto import mock_aws
    except ImportError as err:
        raise ConfigError("the sandbox needs moto", "pip install 'breakglass-aws[sandbox]'") from err
    import os

    from breakglass_aws.testing import install_cloudtrail_lookup, install_root_tasks

    saved = {k: os.environ.get(k) for k in (*FAKE, "AWS_ENDPOINT_URL", "AWS_PROFILE")}
    os.environ.update(FAKE)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.pop("AWS_PROFILE", None)
    holder: list[Sandbox] = []
    undo = install_cloudtrail_lookup(
        lambda region: holder[0].events_for(holder[0].store) if holder and region == REGION else []
    )
    undo_root = install_root_tasks()  # AssumeRoot and the organization's root-access features
    try:
        with mock_aws():

            def build() -> Sandbox:
                holder[:] = [stage()]
                return holder[0]

            yield build
    finally:
        undo_root()
        undo()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _client(service: str, region_name: str = REGION, **kwargs: Any) -> Any:
    import botocore.session

    return botocore.session.get_session().create_client(service, region_name=region_name, **kwargs)


def _member(service: str, account: str, region: str = REGION) -> Any:
    creds = _client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="stage"
    )["Credentials"]
    return _client(
        service,
        region_name=region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def _member_iam(account: str) -> IAMClient:
    iam: IAMClient = _member("iam", account)
    return iam


def _stage_org() -> str:
    org = _client("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    ou = org.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
    account = org.create_account(Email="sandbox@example.com", AccountName="sandbox")["CreateAccountStatus"]["AccountId"]
    org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ou)
    for name, content in GUARDRAILS.items():
        policy = org.create_policy(Content=content, Description=name, Name=name, Type="SERVICE_CONTROL_POLICY")
        org.attach_policy(PolicyId=policy["Policy"]["PolicySummary"]["Id"], TargetId=account)
    return str(account)


def _stage_role(account: str) -> None:
    trust = _policy(
        [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            }
        ]
    )
    _member_iam(account).create_role(RoleName=ROLE, AssumeRolePolicyDocument=trust, MaxSessionDuration=3600)


def _stage_user() -> None:
    iam, sm = _client("iam"), _client("secretsmanager")
    iam.create_user(UserName=SANDBOX_USER)
    iam.create_access_key(UserName=SANDBOX_USER)
    iam.create_login_profile(UserName=SANDBOX_USER, Password="Initial-passw0rd!")  # noqa: S106 - simulated AWS
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=SANDBOX_USER)["VirtualMFADevice"]
    iam.enable_mfa_device(
        UserName=SANDBOX_USER,
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    sm.create_secret(Name=f"breakglass/{SANDBOX_USER}", SecretString="{}")


def _put_rules(events: Any, region: str, target: dict[str, str]) -> None:
    """One rule per kind of break-glass event, as terraform/modules/alert-patterns renders them:
    every kind in us-east-1, the regional ones elsewhere."""
    names = Names(role_name=ROLE, user_names=(SANDBOX_USER,), topic_name=TOPIC)
    regional = {k.kind for k in COVERAGE if k.regional}
    for kind, spec in patterns(names).items():
        if region != REGION and kind not in regional:
            continue
        name = f"breakglass-{kind}"
        events.put_rule(Name=name, EventPattern=json.dumps(spec["pattern"]), State=spec["state"])
        events.put_targets(Rule=name, Targets=[target])


def _stage_alerting(member: str) -> tuple[str, str]:
    """The topic and its subscriber; the alert rules to the topic in us-east-1, forwarding to the
    central bus in the alert regions and in the member account; the bus accepting the organization."""
    sns, sqs, events = _client("sns"), _client("sqs"), _client("events")
    topic = sns.create_topic(Name=TOPIC)["TopicArn"]
    queue = sqs.create_queue(QueueName="security-team")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    security = topic.split(":")[4]
    bus = f"arn:aws:events:{REGION}:{security}:event-bus/default"
    _put_rules(events, REGION, {"Id": "notify", "Arn": topic})
    for account, region in [(security, r) for r in ALERT_REGIONS] + [(member, r) for r in (REGION, *ALERT_REGIONS)]:
        client = _client("events", region) if account == security else _member("events", account, region)
        role = f"arn:aws:iam::{account}:role/breakglass-alert-forwarding"
        _put_rules(client, region, {"Id": "central-bus", "Arn": bus, "RoleArn": role})
    org_id = _client("organizations").describe_organization()["Organization"]["Id"]
    events.put_permission(
        Action="events:PutEvents",
        Principal="*",
        StatementId="breakglass-organization",
        Condition={"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": org_id},
    )
    return topic, queue


def _stage_trail() -> None:
    """A multi-region trail, logging all management events, validating its log files."""
    _client("s3").create_bucket(Bucket=TRAIL_BUCKET)
    trail = _client("cloudtrail")
    trail.create_trail(
        Name="breakglass", S3BucketName=TRAIL_BUCKET, IsMultiRegionTrail=True, EnableLogFileValidation=True
    )
    trail.put_event_selectors(
        TrailName="breakglass", EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}]
    )
    trail.start_logging(Name="breakglass")


def _stage_store_and_evidence() -> None:
    create_table(_client("dynamodb"), TABLE)
    _client("s3").create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    scheduler = _client("scheduler")
    scheduler.create_schedule_group(Name="breakglass")
    scheduler.create_schedule(
        Name="breakglass-restore-expired",  # as the control-plane module names it
        GroupName="breakglass",
        ScheduleExpression="rate(5 minutes)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": f"arn:aws:lambda:{REGION}:123456789012:function:breakglass-restore",
            "RoleArn": "arn:aws:iam::123456789012:role/breakglass-scheduler",
        },
    )


def stage() -> Sandbox:
    """Pre-stage what terraform/examples/complete creates, in the simulated AWS."""
    account = _stage_org()
    _stage_role(account)
    _stage_user()
    topic, queue = _stage_alerting(account)
    _stage_trail()
    _stage_store_and_evidence()
    return Sandbox(account, topic, queue, Path(tempfile.mkdtemp(prefix="breakglass-sandbox-")))
