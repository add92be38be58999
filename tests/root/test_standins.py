"""The stand-ins for centralized root access (breakglass_aws.testing_root): what they refuse, where
the root session lands, the feature set, and that the undo puts moto back."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from breakglass_aws.testing_root import install_root_tasks
from tests.support.root import enable_root_access

S3_TASK = "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy"
AUDIT_TASK = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"


def assume_root(target, task=S3_TASK, seconds=900, region="eu-west-1", **client):
    sts = boto3.client("sts", region_name=region, **client)
    return sts.assume_root(TargetPrincipal=target, TaskPolicyArn={"arn": task}, DurationSeconds=seconds)


def refused(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_the_root_session_lands_in_the_member_account(ready):
    from moto.s3.models import s3_backends

    creds = assume_root(ready.account)["Credentials"]
    assert creds["AccessKeyId"] and creds["SessionToken"]
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    s3.create_bucket(Bucket="made-by-root")
    assert "made-by-root" in s3_backends[ready.account]["aws"].buckets
    assert "made-by-root" not in s3_backends[ready.management]["aws"].buckets


@pytest.mark.parametrize(
    ("case", "code", "fragment"),
    [
        ("management target", "AccessDenied", "is not a member account"),
        ("unknown target", "AccessDenied", "is not a member account"),
        ("not a task policy", "AccessDenied", "is not a root-task policy"),
        ("over 900 s", "ValidationError", "DurationSeconds 901 is over 900"),
        ("global endpoint", "InvalidAction", "not supported by the global STS endpoint"),
    ],
)
def test_assume_root_refusals(ready, case, code, fragment):
    calls = {
        "management target": lambda: assume_root(ready.management),
        "unknown target": lambda: assume_root("210987654321"),
        "not a task policy": lambda: assume_root(ready.account, task="arn:aws:iam::aws:policy/AdministratorAccess"),
        "over 900 s": lambda: assume_root(ready.account, seconds=901),
        "global endpoint": lambda: assume_root(ready.account, endpoint_url="https://sts.amazonaws.com"),
    }
    got = refused(calls[case])
    assert got[0] == code and fragment in got[1], got


def test_each_task_needs_its_feature(org):
    enable_root_access(sessions=False, credentials=True)
    code, message = refused(lambda: assume_root(org.account))
    assert code == "AccessDenied" and "RootSessions is not enabled" in message
    assume_root(org.account, task=AUDIT_TASK)  # root credentials management is on
    boto3.client("iam").disable_organizations_root_credentials_management()
    code, message = refused(lambda: assume_root(org.account, task=AUDIT_TASK))
    assert "RootCredentialsManagement is not enabled" in message


def test_features_need_trusted_access_and_are_kept_per_organization(org):
    iam = boto3.client("iam")
    code, _ = refused(iam.list_organizations_features)
    assert code == "ServiceAccessNotEnabledException"
    boto3.client("organizations", region_name="us-east-1").enable_aws_service_access(
        ServicePrincipal="iam.amazonaws.com"
    )
    assert iam.list_organizations_features()["EnabledFeatures"] == []
    assert iam.enable_organizations_root_sessions()["EnabledFeatures"] == ["RootSessions"]
    answer = iam.list_organizations_features()
    assert answer["EnabledFeatures"] == ["RootSessions"]
    assert answer["OrganizationId"] == org.client.describe_organization()["Organization"]["Id"]


def test_a_member_account_may_assume_root_only_as_delegated_administrator(ready, people_in):
    other = ready.client.create_account(Email="b@example.com", AccountName="b")["CreateAccountStatus"]["AccountId"]
    as_member = people_in(ready.account)
    code, message = refused(lambda: assume_root(other, **as_member))
    assert code == "AccessDenied" and "neither the management account nor the delegated administrator" in message
    ready.client.register_delegated_administrator(AccountId=ready.account, ServicePrincipal="iam.amazonaws.com")
    assert assume_root(other, **as_member)["Credentials"]["AccessKeyId"]


@pytest.fixture
def people_in():
    def credentials(account):
        sts = boto3.client("sts", region_name="us-east-1")
        role = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
        c = sts.assume_role(RoleArn=role, RoleSessionName="admin")["Credentials"]
        return {
            "aws_access_key_id": c["AccessKeyId"],
            "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"],
        }

    return credentials


def test_iam_calls_of_other_callers_are_untouched(ready):
    from breakglass_aws.testing_root import STAND_IN_ROOT_USER

    iam = boto3.client("iam")
    iam.create_user(UserName="alice")
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    as_alice = boto3.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    assert [k["AccessKeyId"] for k in as_alice.list_access_keys()["AccessKeyMetadata"]] == [key["AccessKeyId"]]
    assert STAND_IN_ROOT_USER not in [u["UserName"] for u in iam.list_users()["Users"]]


def _pristine() -> bool:
    from moto.iam.responses import IamResponse
    from moto.organizations.models import FakeDelegatedAdministrator, FakeServiceAccess
    from moto.sts.responses import TokenResponse

    return (
        "assume_root" not in TokenResponse.__dict__
        and "list_organizations_features" not in IamResponse.__dict__
        and IamResponse.list_access_keys.__qualname__ == "IamResponse.list_access_keys"
        and "iam.amazonaws.com" not in FakeServiceAccess.TRUSTED_SERVICES
        and "iam.amazonaws.com" not in FakeDelegatedAdministrator.SUPPORTED_SERVICES
    )


def test_undo_puts_moto_back(aws, root_tasks):
    root_tasks["undo"]()
    root_tasks["undo"] = None
    assert _pristine()
    org = boto3.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    code, _ = refused(lambda: org.enable_aws_service_access(ServicePrincipal="iam.amazonaws.com"))
    assert code == "InvalidInputException", "moto's own refusal is back"
    undo = install_root_tasks()
    assert not _pristine()
    nested = install_root_tasks()  # installed twice (e.g. a sandbox inside a test): the undo is exact
    nested()
    assert not _pristine()
    undo()
    assert _pristine()
