"""`-v` shows each AWS call with the ids it acts on, and never a secret."""

from __future__ import annotations

from tests.support.scp import seeded


def test_verbose_names_service_operation_and_target(org, cli):
    ids = seeded(org, 1)
    run = cli("-v", "scp", "detach", "--target", org.account, "--reason", "x", "--yes")
    assert run.exit_code == 0, run.stderr
    assert f"aws organizations:ListPoliciesForTarget TargetId={org.account}" in run.stderr
    assert f"aws organizations:DetachPolicy TargetId={org.account} PolicyId={ids[0]}" in run.stderr
    assert "aws sts:GetCallerIdentity" in run.stderr
