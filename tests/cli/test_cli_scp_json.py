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


def test_with_yes_the_inherited_denies_are_read_beside_the_detach_and_recorded(org, cli):
    ou_deny = org.new_policy("OuDeny")
    org.attach(ou_deny, org.ou)
    seeded(org, 2)
    run = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json")
    assert run.exit_code == 0, run.stderr
    opened = run.json()
    assert [d["policy_id"] for d in opened["inherited_denies"]] == [ou_deny]
    shown = cli("show", opened["incident_id"], "--output", "json").json()
    (entry,) = [e for e in shown["journal"] if e["kind"] == "inherited-denies"]
    assert [d["policy_id"] for d in entry["data"]["inherited_denies"]] == [ou_deny]
    assert cli("journal", "verify", opened["incident_id"]).exit_code == 0


def test_with_yes_in_text_the_warning_comes_after_the_detach(org, cli):
    org.attach(org.new_policy("OuDeny"), org.ou)
    seeded(org, 1)
    run = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes")
    assert run.exit_code == 0, run.stderr
    assert "read beside the detach, said when it is done" in run.stdout  # the plan
    assert run.stderr.index("done: detach") < run.stderr.index("inherited from above stay in force")
