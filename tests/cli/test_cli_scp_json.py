"""`scp detach --output json` for scripts and for a person who still confirms: stdout is one JSON
document carrying the inherited Denies, and the plan being confirmed is shown on stderr."""

from __future__ import annotations

import json

from breakglass_aws.models import FULL_AWS_ACCESS
from tests.support.scp import seeded


def test_json_detach_shows_the_plan_before_asking(org, cli):
    ou_deny = org.new_policy("OuDeny")
    org.attach(ou_deny, org.ou)
    ids = seeded(org, 2)
    run = cli("scp", "detach", "--target", org.account, "--reason", "x", "--output", "json", input="y\n")
    assert run.exit_code == 0, run.stderr
    opened = json.loads(run.stdout[run.stdout.index("{") :])  # the test runner echoes the typed "y" on stdout
    assert opened["detached"] == ids and org.scps(org.account) == {FULL_AWS_ACCESS}
    assert [d["policy_id"] for d in opened["inherited_denies"]] == [ou_deny]
    assert opened["inherited_denies"][0]["attached_to"] == org.ou
    plan_at = run.stderr.index(f"Plan for {org.account}")
    assert plan_at < run.stderr.index("Detach 2 SCP(s)"), "the plan comes before the question"
    assert "inherited from above stay in force" in run.stderr


def test_json_detach_declined_changes_nothing(org, cli):
    seeded(org, 1)
    before = org.snapshot()
    run = cli("scp", "detach", "--target", org.account, "--reason", "x", "--output", "json", input="n\n")
    assert run.exit_code == 3
    assert f"Plan for {org.account}" in run.stderr
    assert org.snapshot() == before
