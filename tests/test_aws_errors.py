"""Injected AWS errors: right exit code and message, nothing lost, restore finishes."""

from __future__ import annotations

import pytest

from breakglass_aws.models import FULL_AWS_ACCESS
from tests.support.faults import fail, reject, storm

pytestmark = pytest.mark.reliability


@pytest.fixture(autouse=True)
def few_attempts(monkeypatch):
    """botocore's back-off really sleeps: keep the attempts small."""
    monkeypatch.setenv("BREAKGLASS_MAX_ATTEMPTS", "3")


def seeded(org, n=2):
    ids = [org.new_policy(f"Deny{i}") for i in range(n)]
    for p in ids:
        org.attach(p, org.account)
    org.detach(FULL_AWS_ACCESS, org.account)
    return ids


def detach(cli, org, *hooks, extra=()):
    return cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", *extra, hooks=list(hooks))


def incidents(cli):
    return cli("list", "--output", "json").json()


def test_constraint_violation_mid_detach_is_partial_and_restorable(org, cli):
    ids = seeded(org)
    before = org.snapshot()
    run = detach(cli, org, reject("DetachPolicy", "ConstraintViolationException"))
    assert run.exit_code == 8
    assert "ConstraintViolationException" in run.stderr and "breakglass scp restore bg-" in run.stderr
    (incident,) = incidents(cli)
    assert incident["status"] == "needs-attention"
    assert org.scps(org.account) == {*ids, FULL_AWS_ACCESS}
    restored = cli("scp", "restore", incident["incident_id"])
    assert restored.exit_code == 0, restored.stderr
    assert org.snapshot() == before


def test_access_denied_on_first_mutation_changes_nothing(org, cli):
    seeded(org)
    before = org.snapshot()
    run = detach(cli, org, reject("AttachPolicy", "AccessDeniedException"))
    assert run.exit_code == 6
    assert "organizations:AttachPolicy" in run.stderr
    assert org.snapshot() == before
    (incident,) = incidents(cli)
    assert incident["status"] == "failed"
    again = detach(cli, org)
    assert again.exit_code == 0, "a failed incident releases the target lock"


def test_access_denied_on_read_is_reported_before_any_change(org, cli):
    seeded(org)
    before = org.snapshot()
    run = detach(cli, org, reject("ListPoliciesForTarget", "AccessDeniedException"))
    assert run.exit_code == 6
    assert "grant organizations:ListPoliciesForTarget" in run.stderr
    assert org.snapshot() == before and incidents(cli) == []


def test_policy_not_attached_counts_as_done(org, cli):
    ids = seeded(org)
    run = detach(
        cli,
        org,
        reject("DetachPolicy", "PolicyNotAttachedException", times=1, before=lambda: org.detach(ids[0], org.account)),
    )
    assert run.exit_code == 0, run.stderr
    assert org.scps(org.account) == {FULL_AWS_ACCESS}


def test_duplicate_attachment_counts_as_done_on_restore(org, cli):
    ids = seeded(org)
    before = org.snapshot()
    opened = detach(cli, org, extra=("--output", "json")).json()
    hook = reject(
        "AttachPolicy", "DuplicatePolicyAttachmentException", times=1, before=lambda: org.attach(ids[0], org.account)
    )
    run = cli("scp", "restore", opened["incident_id"], hooks=[hook])
    assert run.exit_code == 0, run.stderr
    assert org.snapshot() == before


def test_throttling_storm_that_clears_is_absorbed_by_retries(org, cli):
    seeded(org)
    before = org.snapshot()
    opened = detach(cli, org, storm("TooManyRequestsException", 2), extra=("--output", "json"))
    assert opened.exit_code == 0, opened.stderr
    assert org.scps(org.account) == {FULL_AWS_ACCESS}
    run = cli("scp", "restore", opened.json()["incident_id"], hooks=[storm("TooManyRequestsException", 2)])
    assert run.exit_code == 0, run.stderr
    assert org.snapshot() == before


def test_concurrent_modification_is_retried(org, cli):
    seeded(org)
    run = detach(cli, org, fail("DetachPolicy", "ConcurrentModificationException", times=2))
    assert run.exit_code == 0, run.stderr
    assert org.scps(org.account) == {FULL_AWS_ACCESS}


def test_throttling_that_never_clears_exits_7_and_restore_finishes(org, cli):
    ids = seeded(org)
    before = org.snapshot()
    run = detach(cli, org, fail("DetachPolicy", "TooManyRequestsException"))
    assert run.exit_code == 8, "FullAWSAccess was attached before the throttled detach"
    assert "TooManyRequestsException after 3 attempts" in run.stderr
    assert FULL_AWS_ACCESS in org.scps(org.account), "never zero SCPs"
    (incident,) = incidents(cli)
    journal = cli("show", incident["incident_id"], "--output", "json").json()["journal"]
    tried = [e["data"] for e in journal if e["kind"] == "outcome" and e["data"]["step"]["action"] == "detach"]
    assert sorted(o["step"]["policy_id"] for o in tried) == sorted(ids), "the detaches were in flight together"
    assert not any(o["ok"] for o in tried) and "TooManyRequestsException" in tried[0]["error"]
    assert cli("scp", "restore", incident["incident_id"]).exit_code == 0
    assert org.snapshot() == before


def test_throttled_restore_with_nothing_done_exits_7(org, cli):
    seeded(org)
    before = org.snapshot()
    opened = detach(cli, org, extra=("--output", "json")).json()
    run = cli("scp", "restore", opened["incident_id"], hooks=[fail("AttachPolicy", "TooManyRequestsException")])
    assert run.exit_code == 7
    assert "rerun the same command" in run.stderr
    assert incidents(cli)[0]["status"] == "needs-attention"
    assert cli("scp", "restore", opened["incident_id"]).exit_code == 0
    assert org.snapshot() == before


def test_expired_credentials_exit_6(org, cli):
    seeded(org)
    hook = ("before-send.sts", lambda request=None, **_: _sts_error("ExpiredToken"))
    run = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", hooks=[hook])
    assert run.exit_code == 6
    assert "expired" in run.stderr


def _sts_error(code):
    from botocore.awsrequest import AWSResponse

    from tests.support.faults import _Raw

    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected</Message></Error>"
        "<RequestId>x</RequestId></ErrorResponse>"
    ).encode()
    return AWSResponse("https://injected", 403, {"Content-Type": "text/xml"}, _Raw(body))
