"""The alert rules' single source: `terraform/modules/alert-patterns/events.json` is what
`python -m breakglass_aws.watch.coverage` writes, the alert-patterns module renders from it exactly
what `coverage.patterns` renders, and the alert-forwarding module, applied in a member account of a
moto organization through a provider that assumes a role there, forwards to the central bus.

The Terraform tests skip with the reason when terraform or the provider mirror is absent.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from breakglass_aws.testing import MotoServer, env_for
from breakglass_aws.testing_kit import start_sandbox
from breakglass_aws.watch.coverage import COVERAGE, Names, coverage_document, patterns
from tests.support.terraform import (
    REPO,
    SCRATCH_IGNORE,
    TERRAFORM_DIR,
    Terraform,
    assert_forwards_to,
    deployed_alert_rules,
    terraform_session,
)

EVENTS_JSON = TERRAFORM_DIR / "modules" / "alert-patterns" / "events.json"
MEMBER_ROOT = REPO / "tests" / "fixtures" / "terraform" / "member-forwarding"
MANAGEMENT = "123456789012"  # moto's account: the organization's management account, the control plane's
CENTRAL_BUS = f"arn:aws:events:us-east-1:{MANAGEMENT}:event-bus/default"
FAKE_CREDENTIALS = {"aws_access_key_id": "AKIAFAKEFORTESTS0000", "aws_secret_access_key": "fakeSecretKey"}

# Two deployments' names: the example's (with users), and others without users.
NAME_SETS = {
    "with-users": Names(
        role_name="BreakGlassAdmin",
        user_names=("breakglass-1", "breakglass-2"),
        secret_prefix="breakglass/",
        rule_prefix="breakglass",
        topic_name="breakglass-notifications",
    ),
    "without-users": Names(
        role_name="EmergencyAdmin",
        user_names=(),
        secret_prefix="ops/bg-",
        rule_prefix="bg",
        topic_name="bg-alerts",
    ),
}


def test_events_json_is_what_coverage_writes():
    """Regenerating the module's events.json changes nothing:
    `python -m breakglass_aws.watch.coverage > terraform/modules/alert-patterns/events.json`."""
    assert EVENTS_JSON.read_text() == json.dumps(coverage_document(), indent=2) + "\n"


@pytest.fixture(scope="module")
def tf(tmp_path_factory: pytest.TempPathFactory) -> Terraform:
    return terraform_session(tmp_path_factory.mktemp("tf-alerts"))


@pytest.mark.terraform
@pytest.mark.parametrize("case", sorted(NAME_SETS))
def test_alert_patterns_module_renders_what_coverage_renders(tf: Terraform, tmp_path: Path, case: str):
    names = NAME_SETS[case]
    workdir = tmp_path / "alert-patterns"  # a copy per case: its state never meets another case's
    shutil.copytree(tf.workdir("modules/alert-patterns"), workdir, ignore=SCRATCH_IGNORE)
    variables = {
        "role_name": names.role_name,
        "user_names": list(names.user_names),
        "secret_prefix": names.secret_prefix,
        "rule_prefix": names.rule_prefix,
        "topic_name": names.topic_name,
    }
    var_file = tmp_path / "names.tfvars.json"
    var_file.write_text(json.dumps(variables))
    tf.run("init", "-backend=false", "-no-color", cwd=workdir)
    tf.run("apply", "-auto-approve", "-no-color", f"-var-file={var_file}", cwd=workdir)
    outputs = tf.outputs(workdir)
    assert outputs["rules"] == patterns(names)
    assert outputs["regional_kinds"] == [k.kind for k in COVERAGE if k.regional and k.kind in patterns(names)]


# --- the alert-forwarding module in a member account, on a moto server ---------------------------


def _client(server: MotoServer, service: str, region: str = "us-east-1", **credentials: str) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=server.url, **(credentials or FAKE_CREDENTIALS))


@pytest.fixture(scope="module")
def moto_server() -> Iterator[MotoServer]:
    with start_sandbox(org=False) as kit:  # the testing kit users get: one implementation
        yield kit.server


@pytest.mark.terraform
def test_forwarding_in_a_member_account(tf: Terraform, moto_server: MotoServer, tmp_path: Path):
    """The module applied in a member account (providers assuming its OrganizationAccountAccessRole)
    in us-east-1 and eu-west-1: every applicable kind in us-east-1, the regional ones in eu-west-1,
    each forwarded to the management account's default bus by a role of the member account."""
    org = _client(moto_server, "organizations")
    org.create_organization(FeatureSet="ALL")
    created = org.create_account(Email="workloads@example.com", AccountName="workloads")["CreateAccountStatus"]
    member = created["AccountId"]
    assert member != MANAGEMENT

    root = tf.scratch / "test-roots" / "member-forwarding"  # where ../../modules is the scratch modules folder
    shutil.copytree(MEMBER_ROOT, root, ignore=SCRATCH_IGNORE)
    var_file = tmp_path / "member.tfvars.json"
    var_file.write_text(json.dumps({"member_account_id": member, "target_event_bus_arn": CENTRAL_BUS}))
    env = env_for(moto_server.url, {})
    tf.run("init", "-backend=false", "-no-color", cwd=root)
    tf.run("apply", "-auto-approve", "-no-color", f"-var-file={var_file}", cwd=root, env=env)
    outputs = tf.outputs(root, env)

    sts = _client(moto_server, "sts")
    role = f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole"
    assumed = sts.assume_role(RoleArn=role, RoleSessionName="alert-forwarding-check")["Credentials"]
    as_member = {
        "aws_access_key_id": assumed["AccessKeyId"],
        "aws_secret_access_key": assumed["SecretAccessKey"],
        "aws_session_token": assumed["SessionToken"],
    }
    assert _client(moto_server, "sts", **as_member).get_caller_identity()["Account"] == member
    iam = _client(moto_server, "iam", **as_member)

    names = Names(role_name="BreakGlassAdmin")  # the module's defaults: no break-glass users here
    everything = patterns(names)
    regional = {k.kind: everything[k.kind] for k in COVERAGE if k.regional and k.kind in everything}
    assert set(regional) < set(everything)
    for region, expected in (("us-east-1", everything), ("eu-west-1", regional)):
        events = _client(moto_server, "events", region, **as_member)
        assert_forwards_to(events, iam, CENTRAL_BUS, expected, member)
        assert set(outputs["rule_arns"][region]) == set(expected)
        assert outputs["role_arns"][region] == f"arn:aws:iam::{member}:role/breakglass-alert-forwarding-{region}"
        # Nothing landed in the management account.
        assert deployed_alert_rules(_client(moto_server, "events", region)) == {}
