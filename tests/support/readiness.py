"""`check`: its findings as tuples, and a drill recorded as passed (the `healthy` fixture that uses
it is in tests/conftest.py)."""

from __future__ import annotations


def record_drill(tmp_path):
    """A drill that passed yesterday (the full drill is exercised by the sandbox test)."""
    from datetime import timedelta

    from breakglass_aws.clock import utcnow
    from breakglass_aws.journal import SqliteStore
    from breakglass_aws.models import Incident, IncidentStatus, Mode, Requester, new_incident_id

    when = utcnow() - timedelta(days=1)
    store = SqliteStore(tmp_path / "state" / "breakglass" / "journal.sqlite3")
    store.create_incident(
        Incident(
            incident_id=new_incident_id(when),
            mode=Mode.DRILL,
            status=IncidentStatus.CLOSED,
            reason="drill",
            requester=Requester(
                arn="arn:aws:iam::123456789012:user/moto", account="123456789012", user_id="x", name="x"
            ),
            targets=["123456789012"],
            created_at=when,
            expires_at=when,
            closed_at=when,
        )
    )


def findings(cli, *extra):
    run = cli("check", "--output", "json", *extra)
    return run.exit_code, [(f["severity"], f["check"], f["subject"], f["message"]) for f in run.json()["findings"]]
