"""Prerequisites of root-task mode, checked up front: what is missing is named with how to enable
it (exit 5), and nothing is opened or changed; the target must be a member account."""

from __future__ import annotations

import pytest

from breakglass_aws.errors import ConfigError
from breakglass_aws.root.prereq import OrgFacts, assess, readiness, require
from tests.support.root import AssumeRootSpy, bucket_policy, enable_root_access, locked_bucket, unlock_bucket

MISSING = [
    # (what is on, the command, what the one-line error must name)
    (
        {"trusted": False, "sessions": False, "credentials": False},
        "unlock",
        [
            "trusted access for iam.amazonaws.com is off",
            "enable-aws-service-access --service-principal iam.amazonaws.com",
        ],
    ),
    (
        {"trusted": True, "sessions": False, "credentials": True},
        "unlock",
        ["(RootSessions) is off", "aws iam enable-organizations-root-sessions"],
    ),
    (
        {"trusted": True, "sessions": True, "credentials": False},
        "audit",
        ["(RootCredentialsManagement) is off", "aws iam enable-organizations-root-credentials-management"],
    ),
    (
        {"trusted": True, "sessions": True, "credentials": False},
        "delete",
        ["(RootCredentialsManagement) is off", "aws iam enable-organizations-root-credentials-management"],
    ),
]


def _run(cli, account, command, hooks):
    if command == "unlock":
        return unlock_bucket(cli, account, "--yes", hooks=hooks)
    if command == "audit":
        return cli("root", "audit", "--account", account, hooks=hooks)
    return cli("root", "delete-credentials", "--account", account, "--reason", "x", "--yes", hooks=hooks)


@pytest.mark.parametrize(("on", "command", "named"), MISSING, ids=[f"{m[1]}-{i}" for i, m in enumerate(MISSING)])
def test_a_missing_prerequisite_is_named_and_nothing_changes(org, cli, journal_store, on, command, named):
    enable_root_access(**on)
    lockout = locked_bucket(org.account)
    spy = AssumeRootSpy()
    run = _run(cli, org.account, command, spy.hooks())
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.exit_code == 5, run.stderr
    assert len(lines) == 1 and lines[0].startswith("error: root-task mode is not ready") and "hint:" in lines[0]
    for fragment in named:
        assert fragment in lines[0]
    assert spy.sent == [], "no AssumeRoot"
    assert journal_store().list_incidents() == [], "no incident opened"
    assert bucket_policy(org.account) == lockout


def test_the_management_account_is_refused(ready, cli, journal_store):
    run = cli("root", "audit", "--account", ready.management)
    assert run.exit_code == 4, run.stderr
    assert "is the management account: AssumeRoot opens root sessions on member accounts only" in run.stderr
    assert journal_store().list_incidents() == []


def test_an_account_outside_the_organization_is_bad_input(ready, cli, journal_store):
    spy = AssumeRootSpy()
    run = cli("root", "audit", "--account", "210987654321", hooks=spy.hooks())
    assert run.exit_code == 2, run.stderr
    assert "account 210987654321 is not in the organization" in run.stderr
    assert spy.sent == [] and journal_store().list_incidents() == []


def _facts(caller, delegated=(), features=("RootSessions", "RootCredentialsManagement"), trusted=True):
    return OrgFacts(
        management="111111111111", caller=caller, trusted=trusted, features=set(features), delegated=set(delegated)
    )


def test_the_delegated_administrator_for_iam_may_run_root_tasks():
    ok = assess(_facts("222222222222", delegated=["222222222222"]), ["RootSessions"])
    assert all(p.ok for p in ok)
    assert "delegated administrator for IAM" in ok[-1].detail
    refused = assess(_facts("333333333333", delegated=["222222222222"]), ["RootSessions"])
    (caller,) = [p for p in refused if not p.ok]
    assert caller.name == "caller" and "register-delegated-administrator --service-principal iam.amazonaws.com" in (
        caller.fix or ""
    )
    with pytest.raises(ConfigError, match="neither the management account 111111111111 nor a delegated"):
        require(refused)


def test_readiness_reports_every_prerequisite_as_data(org, aws):
    """What `check` calls: never an error for a missing prerequisite, each with its fix."""
    from breakglass_aws.aws import ClientFactory

    factory = ClientFactory()
    before = {p.name: p.ok for p in readiness(factory, org.management)}
    assert before == {
        "trusted-access": False,
        "RootSessions": False,
        "RootCredentialsManagement": False,
        "caller": True,
    }
    enable_root_access(credentials=False)
    after = readiness(ClientFactory(), org.management)
    assert {p.name: p.ok for p in after} == {
        "trusted-access": True,
        "RootSessions": True,
        "RootCredentialsManagement": False,
        "caller": True,
    }
    (missing,) = [p for p in after if not p.ok]
    assert missing.fix == "aws iam enable-organizations-root-credentials-management"
