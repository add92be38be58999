"""Shared fixtures: isolated environment, a network guard, moto, a seeded organization; and the
fixtures that tests in several folders use (helpers and one folder's fixtures are in tests/support/)."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from breakglass_aws.aws import ClientFactory
from breakglass_aws.journal import SqliteStore
from breakglass_aws.journal.dynamodb import DynamoStore
from breakglass_aws.readiness.sandbox import SANDBOX_USER, stage
from breakglass_aws.runtime import Runtime
from tests.support.races import Interleave
from tests.support.readiness import record_drill
from tests.support.store import TABLE, make_table

FAKE_SECRET = "fakeSecretKeyForTests0000000000000000000"
DENY_DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "ec2:*", "Resource": "*"}]}


def _is_loopback(address: Any) -> bool:
    if isinstance(address, str | bytes):  # unix socket path
        return True
    host = address[0]
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def network_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any test that would reach beyond loopback (real AWS above all).

    The refusal is raised where the connection is attempted, but botocore wraps it into an
    ordinary connection error that the tool may handle, so every attempt is also recorded and
    fails the test at teardown whatever the test itself asserted.
    """
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo
    attempts: list[str] = []

    def refuse(what: str) -> AssertionError:
        attempts.append(what)
        return AssertionError(f"test tried to {what}: only loopback is allowed")

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise refuse(f"reach {address}")
        return real_connect(self, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in ("localhost", "127.0.0.1", "::1") and not name.startswith("127."):
            raise refuse(f"resolve {name}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    yield
    if attempts:
        pytest.fail(f"the test tried to leave loopback: {', '.join(attempts)}", pytrace=False)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in list(os.environ):
        if key.startswith(("BREAKGLASS_", "AWS_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFORTESTS0000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config-none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials-none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("USER", "oncall")
    # a credentials agent outlives the command that starts it: the agent tests start their own,
    # in a runtime dir of their own, and stop them
    monkeypatch.setenv("BREAKGLASS_AGENT", "false")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    return tmp_path


@pytest.fixture
def aws() -> Iterator[None]:
    from moto import mock_aws

    with mock_aws():
        yield


@dataclass
class Org:
    """A seeded organization: root -> ou (prod) -> account, plus helpers to read state."""

    client: Any
    root: str
    ou: str
    account: str
    management: str
    policies: list[str] = field(default_factory=list)

    def scps(self, target: str) -> set[str]:
        pages = self.client.get_paginator("list_policies_for_target").paginate(
            TargetId=target, Filter="SERVICE_CONTROL_POLICY"
        )
        return {p["Id"] for page in pages for p in page["Policies"]}

    def snapshot(self) -> dict[str, set[str]]:
        return {t: self.scps(t) for t in (self.root, self.ou, self.account)}

    def new_policy(self, name: str, doc: dict[str, Any] | None = None) -> str:
        answer = self.client.create_policy(
            Content=json.dumps(doc or DENY_DOC), Description=name, Name=name, Type="SERVICE_CONTROL_POLICY"
        )
        policy_id: str = answer["Policy"]["PolicySummary"]["Id"]
        self.policies.append(policy_id)
        return policy_id

    def attach(self, policy_id: str, target: str) -> None:
        self.client.attach_policy(PolicyId=policy_id, TargetId=target)

    def detach(self, policy_id: str, target: str) -> None:
        self.client.detach_policy(PolicyId=policy_id, TargetId=target)


def seed_org(client: Any) -> Org:
    client.create_organization(FeatureSet="ALL")
    management = client.describe_organization()["Organization"]["MasterAccountId"]
    root = client.list_roots()["Roots"][0]["Id"]
    ou = client.create_organizational_unit(ParentId=root, Name="prod")["OrganizationalUnit"]["Id"]
    account = client.create_account(Email="app@example.com", AccountName="app")["CreateAccountStatus"]["AccountId"]
    client.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ou)
    return Org(client=client, root=root, ou=ou, account=account, management=management)


@pytest.fixture
def org(aws: None) -> Org:

    session = _shared_boto3()
    return seed_org(session.client("organizations", region_name="us-east-1"))


class CallCounter:
    """Counts AWS calls by operation name, seen through a botocore before-call hook."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, model: Any = None, **_: Any) -> None:
        self.calls.append(model.name)

    def mutations(self) -> list[str]:
        return [c for c in self.calls if c in MUTATING]


MUTATING = {"AttachPolicy", "DetachPolicy"}


@pytest.fixture
def make_runtime(tmp_path: Path) -> Callable[..., Runtime]:
    def build(hooks: list[tuple[str, Callable[..., Any]]] | None = None, **kwargs: Any) -> Runtime:
        factory = ClientFactory(
            max_attempts=kwargs.pop("max_attempts", 3), hooks=hooks or [], botocore_session=_shared_botocore()
        )
        store = SqliteStore(tmp_path / "state" / "breakglass" / "journal.sqlite3", kwargs.get("clock") or _now)
        return Runtime(factory=factory, store=store, **kwargs)

    return build


_BOTOCORE: list[Any] = []


def _shared_botocore() -> Any:
    """One botocore session for the whole test run: service models are parsed once."""
    import botocore.session

    if not _BOTOCORE:
        _BOTOCORE.append(botocore.session.get_session())
    return _BOTOCORE[0]


_BOTO3: list[Any] = []


def _shared_boto3() -> Any:
    """One boto3 session around the shared botocore session (boto3 registers its handlers once)."""
    import boto3

    if not _BOTO3:
        _BOTO3.append(boto3.Session(botocore_session=_shared_botocore()))
    return _BOTO3[0]


def _now() -> Any:
    from breakglass_aws.clock import utcnow

    return utcnow()


@dataclass
class CliRun:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def _unpaced(_seconds: float) -> None:
    """In-process CloudTrail (moto) needs no pacing: the pacing itself is tested on its own."""


@pytest.fixture
def cli() -> Callable[..., CliRun]:
    """Run the command in-process through Typer's runner, with optional hooks and clock."""
    from typer.testing import CliRunner

    from breakglass_aws.cli.app import app
    from breakglass_aws.cli.state import CliOverrides

    def run(
        *args: str,
        hooks: Any = None,
        clock: Any = None,
        input: str | None = None,
        http_get: Any = None,
        fresh_session: bool = False,
    ) -> CliRun:
        shared = None if fresh_session else _shared_botocore()
        overrides = CliOverrides(
            hooks=hooks or [], clock=clock, botocore_session=shared, http_get=http_get, pace=_unpaced
        )
        result = CliRunner().invoke(app, list(args), obj=overrides, input=input)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliRun(result.exit_code, result.stdout, result.stderr)

    return run


ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/BreakGlassAdmin"
MFA = f"arn:aws:iam::{ACCOUNT}:mfa/oncall"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
        }
    ],
}


@pytest.fixture
def iam(aws):

    client = _shared_boto3().client("iam", region_name="us-east-1")
    client.create_role(RoleName="BreakGlassAdmin", AssumeRolePolicyDocument=json.dumps(TRUST), MaxSessionDuration=43200)
    return client


@pytest.fixture
def aws_clients(aws):

    session = _shared_boto3()
    return session.client("iam", region_name="us-east-1"), session.client("secretsmanager", region_name="us-east-1")


@pytest.fixture
def seeded_cloudtrail():
    store: dict[str, list] = {}
    from breakglass_aws.testing import install_cloudtrail_lookup

    undo = install_cloudtrail_lookup(lambda region: store.get(region, []))
    yield store
    undo()


@pytest.fixture
def topic(aws, monkeypatch):
    import boto3

    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    arn = sns.create_topic(Name="breakglass-alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("BREAKGLASS_SNS_TOPIC_ARN", arn)

    def messages():
        found = []
        while True:
            got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return found
            for m in got:
                envelope = json.loads(m["Body"])
                found.append((envelope["Subject"], json.loads(envelope["Message"])))
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])

    return messages


# Fixtures that tests in several folders share: the approval cast, either store, a healthy
# organization, engineers racing on one store.
@pytest.fixture
def people(org):
    """IAM users alice, bob, carol with keys; alice also as two sessions of one role."""
    iam = boto3.client("iam", region_name="us-east-1")
    keys = {}
    for name in ("alice", "bob", "carol"):
        iam.create_user(UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        keys[name] = (key["AccessKeyId"], key["SecretAccessKey"], None)
    second = iam.create_access_key(UserName="alice")["AccessKey"]
    keys["alice-key2"] = (second["AccessKeyId"], second["SecretAccessKey"], None)
    sts = boto3.client("sts", region_name="us-east-1")
    for session in ("alice-1", "alice-2"):
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/Responder", RoleSessionName=session)
        c = creds["Credentials"]
        keys[f"responder/{session}"] = (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    return keys


@pytest.fixture
def as_(cli, people, monkeypatch):
    def run(who, *args, **kwargs):
        key, secret, token = people[who]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
        if token:
            monkeypatch.setenv("AWS_SESSION_TOKEN", token)
        else:
            monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        monkeypatch.setenv("BREAKGLASS_REQUESTER_NAME", who.split("/")[-1])
        return cli(*args, fresh_session=True, **kwargs)

    return run


@pytest.fixture(params=["sqlite", "dynamodb"])
def store_env(request, org, monkeypatch):
    if request.param == "dynamodb":
        make_table()
        monkeypatch.setenv("BREAKGLASS_STORE", f"dynamodb://{TABLE}")
    return request.param


@pytest.fixture
def healthy(aws, cli, monkeypatch, tmp_path):
    """The sandbox staging, with the deliberate gaps closed: a healthy organization."""
    sb = stage()
    org = boto3.client("organizations", region_name="us-east-1")
    for policy in org.list_policies_for_target(TargetId=sb.account, Filter="SERVICE_CONTROL_POLICY")["Policies"]:
        if policy["Name"] == "DenyOutsideEU":
            org.detach_policy(PolicyId=policy["Id"], TargetId=sb.account)
    for key, value in sb.settings().items():
        if key not in ("evidence_dir", "store"):
            monkeypatch.setenv(
                f"BREAKGLASS_{key.upper()}", json.dumps(value) if isinstance(value, list) else str(value)
            )
    assert cli("rotate", "--user", SANDBOX_USER).exit_code == 0
    record_drill(tmp_path)
    return sb


@pytest.fixture(params=["sqlite", "dynamodb"])
def runtime(request, org, tmp_path):
    """Runtime(s) of engineers sharing one store, each with its own connection."""
    if request.param == "dynamodb":
        make_table()

    def build(interleave: tuple[str, Callable[[], None]] | None = None) -> Runtime:
        factory = ClientFactory(botocore_session=_shared_botocore(), max_attempts=2)
        store: Any = (
            DynamoStore(factory, TABLE) if request.param == "dynamodb" else SqliteStore(tmp_path / "store.sqlite3")
        )
        return Runtime(factory=factory, store=Interleave(store, *interleave) if interleave else store)

    build.kind = request.param
    return build
