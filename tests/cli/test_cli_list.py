"""`breakglass list` as a user reads it: time left only for incidents still running."""

from __future__ import annotations

from datetime import timedelta

from breakglass_aws.clock import utcnow
from tests.support.scp import seeded


def _row(text: str, incident_id: str) -> list[str]:
    return next(line.split() for line in text.splitlines() if line.startswith(incident_id))


def test_time_left_only_while_running(org, cli):
    seeded(org)
    org.attach(org.new_policy("DenyOu"), org.ou)
    expired = cli("scp", "detach", "--target", org.account, "--reason", "a", "--yes", "--ttl=10m", "--output=json")
    closed = cli("scp", "detach", "--target", org.ou, "--reason", "b", "--yes", "--ttl", "2h", "--output", "json")
    expired_id, closed_id = expired.json()["incident_id"], closed.json()["incident_id"]
    assert cli("scp", "restore", closed_id).exit_code == 0
    later = lambda: utcnow() + timedelta(minutes=30)  # noqa: E731
    listed = cli("list", clock=later)
    assert listed.exit_code == 0, listed.stderr
    assert _row(listed.stdout, expired_id)[1:3] == ["active", "scp"]
    assert _row(listed.stdout, expired_id)[3] == "EXPIRED"
    assert _row(listed.stdout, closed_id)[1] == "closed"
    assert _row(listed.stdout, closed_id)[3] == "-", "a closed incident has no time left and is not 'expired'"
    rows = {r["incident_id"]: r["time_left"] for r in cli("list", "--output", "json", clock=later).json()}
    assert rows[closed_id] is None
    assert rows[expired_id] is not None and rows[expired_id].startswith("-")
