"""The scp commands as a user sees them: plan, dry run, JSON, exit codes, restore, list, show."""

from __future__ import annotations

from datetime import timedelta

from breakglass_aws.clock import utcnow
from breakglass_aws.models import FULL_AWS_ACCESS
from tests.support.scp import seeded


def test_dry_run_prints_the_plan_and_changes_nothing(org, cli):
    ids = seeded(org)
    before = org.snapshot()
    run = cli("scp", "detach", "--target", org.account, "--reason", "INC-1 outage", "--dry-run")
    assert run.exit_code == 0, run.stderr
    assert f"1. attach {FULL_AWS_ACCESS} to {org.account}" in run.stdout
    for n, p in enumerate(ids, 2):
        assert f"{n}. detach {p} from {org.account}" in run.stdout
    assert "accounts whose effective policies change: 1" in run.stdout
    assert org.snapshot() == before
    assert cli("list", "--output", "json").json() == []


def test_dry_run_json(org, cli):
    ids = seeded(org, 2)
    run = cli("scp", "detach", "--target", org.account, "--reason", "x", "--dry-run", "--output", "json")
    data = run.json()
    assert data["dry_run"] is True
    assert data["detach"] == ids
    assert data["attach_full_access_first"] is True
    assert data["blast_radius"] == [org.account]


def test_detach_json_then_restore(org, cli):
    ids = seeded(org)
    before = org.snapshot()
    run = cli(
        "scp",
        "detach",
        "--target",
        org.account,
        "--reason",
        "INC-2",
        "--ticket",
        "INC-2",
        "--yes",
        "--output",
        "json",
        "--ttl",
        "30m",
    )
    assert run.exit_code == 0, run.stderr
    data = run.json()
    assert set(data) >= {"incident_id", "target", "detached", "expires_at"}
    assert data["detached"] == ids and data["target"] == org.account
    assert org.scps(org.account) == {FULL_AWS_ACCESS}
    restored = cli("scp", "restore", data["incident_id"])
    assert restored.exit_code == 0, restored.stderr
    assert "matches the snapshot" in restored.stdout
    assert org.snapshot() == before


def test_global_options_after_the_subcommand(org, cli):
    seeded(org, 1)
    run = cli(
        "scp",
        "detach",
        "--target",
        org.account,
        "--reason",
        "x",
        "--dry-run",
        "--output",
        "json",
        "-v",
        "--region",
        "eu-west-1",
    )
    assert run.exit_code == 0, run.stderr
    assert run.json()["dry_run"] is True
    assert "aws organizations:ListPoliciesForTarget" in run.stderr, "-v shows each AWS call"


def test_confirmation_declined_changes_nothing(org, cli):
    seeded(org)
    before = org.snapshot()
    run = cli("scp", "detach", "--target", org.account, "--reason", "x", input="n\n")
    assert run.exit_code == 3
    assert "declined" in run.stderr
    assert org.snapshot() == before


def test_confirmation_accepted(org, cli):
    seeded(org)
    run = cli("scp", "detach", "--target", org.account, "--reason", "x", input="y\n")
    assert run.exit_code == 0, run.stderr
    assert org.scps(org.account) == {FULL_AWS_ACCESS}
    assert "restore now with: breakglass scp restore bg-" in run.stdout


def test_no_input_means_no_change(org, cli):
    seeded(org)
    before = org.snapshot()
    run = cli("scp", "detach", "--target", org.account, "--reason", "x", input="")
    assert run.exit_code == 3
    assert "--yes" in run.stderr
    assert org.snapshot() == before


def test_second_detach_of_a_locked_target_is_refused(org, cli):
    seeded(org)
    first = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json").json()
    run = cli("scp", "detach", "--target", org.account, "--reason", "y", "--yes")
    assert run.exit_code == 4
    assert first["incident_id"] in run.stderr


def test_management_account_refused_with_explanation(org, cli):
    run = cli("scp", "detach", "--target", org.management, "--reason", "x", "--yes")
    assert run.exit_code == 4
    assert "management account" in run.stderr and "SCPs never apply" in run.stderr


def test_root_needs_allow_root(org, cli):
    org.attach(org.new_policy("RootDeny"), org.root)
    before = org.snapshot()
    run = cli("scp", "detach", "--target", org.root, "--reason", "x", "--yes")
    assert run.exit_code == 4 and "--allow-root" in run.stderr
    assert org.snapshot() == before
    run = cli("scp", "detach", "--target", org.root, "--reason", "x", "--yes", "--allow-root", "--output", "json")
    assert run.exit_code == 0, run.stderr
    assert org.account in run.json()["blast_radius"]
    assert org.management not in run.json()["blast_radius"]


def test_inherited_deny_is_warned(org, cli):
    org.attach(org.new_policy("OuDeny"), org.ou)
    seeded(org, 1)
    run = cli("scp", "detach", "--target", org.account, "--reason", "x", "--dry-run")
    assert "inherited from above stay in force" in run.stdout
    assert f"on {org.ou}: 1 Deny statement(s)" in run.stdout


def test_ou_blast_radius_lists_accounts_below(org, cli):
    org.attach(org.new_policy("OuDeny"), org.ou)
    run = cli("scp", "detach", "--target", org.ou, "--reason", "x", "--dry-run", "--output", "json")
    assert run.json()["blast_radius"] == [org.account]


def test_list_and_show(org, cli):
    ids = seeded(org)
    opened = cli(
        "scp", "detach", "--target", org.account, "--reason", "INC-3 deploy blocked", "--yes", "--output", "json"
    ).json()
    listed = cli("list", "--output", "json").json()
    assert listed[0]["incident_id"] == opened["incident_id"]
    assert listed[0]["status"] == "active" and listed[0]["mode"] == "scp"
    assert listed[0]["targets"] == [org.account] and listed[0]["expires_at"] == opened["expires_at"]
    text = cli("list").stdout
    assert opened["incident_id"] in text and "INC-3 deploy blocked" in text
    shown = cli("show", opened["incident_id"])
    assert shown.exit_code == 0
    for p in ids:
        assert f"detach {p} {org.account} ok" in shown.stdout
    data = cli("show", opened["incident_id"], "--output", "json").json()
    assert data["scp"][0]["detach"] == ids
    assert [e["seq"] for e in data["journal"]] == list(range(1, len(data["journal"]) + 1))


def test_restore_expired_restores_only_expired(org, cli):
    seeded(org)
    other = org.new_policy("DenyOu")
    org.attach(other, org.ou)
    before = org.snapshot()
    old = cli(
        "scp", "detach", "--target", org.account, "--reason", "a", "--yes", "--ttl", "10m", "--output", "json"
    ).json()
    fresh = cli("scp", "detach", "--target", org.ou, "--reason", "b", "--yes", "--ttl", "2h", "--output", "json").json()
    later = lambda: utcnow() + timedelta(minutes=30)  # noqa: E731
    run = cli("restore", "--expired", "--output", "json", clock=later)
    assert run.exit_code == 0, run.stderr
    assert [r["incident_id"] for r in run.json()] == [old["incident_id"]]
    assert org.scps(org.account) == before[org.account]
    assert org.scps(org.ou) == {FULL_AWS_ACCESS}
    statuses = {i["incident_id"]: i["status"] for i in cli("list", "--output", "json").json()}
    assert statuses == {old["incident_id"]: "closed", fresh["incident_id"]: "active"}
    again = cli("restore", "--expired", "--output", "json", clock=later)
    assert again.exit_code == 0 and again.json() == []


def test_deleted_policy_is_drift_needing_attention(org, cli):
    ids = seeded(org)
    opened = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json").json()
    org.client.delete_policy(PolicyId=ids[1])
    run = cli("scp", "restore", opened["incident_id"])
    assert run.exit_code == 8
    assert f"{ids[1]} was deleted while detached" in run.stdout
    assert org.scps(org.account) == {ids[0], ids[2], FULL_AWS_ACCESS} - {FULL_AWS_ACCESS}
    assert cli("list", "--output", "json").json()[0]["status"] == "needs-attention"
    accepted = cli("scp", "restore", opened["incident_id"], "--accept-drift")
    assert accepted.exit_code == 0
    assert cli("list", "--output", "json").json()[0]["status"] == "closed"


def test_hand_attached_and_edited_policies_are_reported_not_fought(org, cli):
    ids = seeded(org, 2)
    opened = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json").json()
    extra = org.new_policy("AddedByHand")
    org.attach(extra, org.account)
    org.client.update_policy(PolicyId=ids[0], Content='{"Version":"2012-10-17","Statement":[]}')
    run = cli("scp", "restore", opened["incident_id"])
    assert run.exit_code == 0, run.stdout
    assert f"{extra} was attached by hand" in run.stdout
    assert f"{ids[0]} was edited while detached" in run.stdout
    assert org.scps(org.account) == {*ids, extra}


def test_close_of_an_scp_incident_restores(org, cli):
    seeded(org)
    before = org.snapshot()
    opened = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json").json()
    run = cli("close", opened["incident_id"], "--yes", "--output", "json")
    assert run.exit_code == 0, run.stderr
    assert run.json()["status"] == "closed" and run.json()["restore"]["targets"][0]["matches_snapshot"]
    assert org.snapshot() == before
