"""A second `sync` never rolls the shared store back to an older offline copy."""

from __future__ import annotations

from tests.conftest import ACCOUNT
from tests.support.store import TABLE, make_table


def test_resync_after_an_online_close_keeps_it_closed(iam, cli, monkeypatch):
    make_table("us-east-1")
    monkeypatch.setenv("BREAKGLASS_STORE", f"dynamodb://{TABLE}")
    opened = cli(
        "--offline-store", "role", "assume", "--account", ACCOUNT, "--reason", "store down", "--format", "json"
    )
    assert opened.exit_code == 0, opened.stderr
    incident_id = opened.json()["incident_id"]
    first = cli("sync", "--output", "json")
    assert first.exit_code == 0 and first.json()["incidents_copied"] == [incident_id]
    closed = cli("close", incident_id, "--yes")
    assert closed.exit_code == 0, closed.stderr
    again = cli("sync", "--output", "json")
    assert again.exit_code == 0, again.stderr
    assert again.json()["incidents_updated"] == [] and again.json()["entries_copied"] == 0
    listed = {i["incident_id"]: i["status"] for i in cli("list", "--output", "json").json()}
    assert listed == {incident_id: "closed"}
    journal = cli("show", incident_id, "--output", "json").json()["journal"]
    seqs = [e["seq"] for e in journal]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "every entry once, in order"
    assert journal[-1]["kind"] != "activated"
    verified = cli("journal", "verify", incident_id)
    assert verified.exit_code == 0, verified.stderr
