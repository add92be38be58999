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


def findings(cli, *extra, hooks=None):
    run = cli("check", "--output", "json", *extra, hooks=hooks)
    return run.exit_code, [(f["severity"], f["check"], f["subject"], f["message"]) for f in run.json()["findings"]]


def check_text(cli, *extra, hooks=None):
    """The text report (exit code, stdout): where the fixes are printed."""
    run = cli("check", *extra, hooks=hooks)
    return run.exit_code, run.stdout


class Calls:
    """The names of every AWS operation the command makes (a before-call hook on every client)."""

    def __init__(self):
        self.names: list[str] = []

    def __call__(self, model=None, **_):
        self.names.append(model.name)

    def hook(self):
        return ("before-call", self)


def pending_subscriptions():
    """SNS answers every subscription of the topic as PendingConfirmation (moto confirms them all)."""

    def rewrite(parsed=None, **_):
        for subscription in parsed.get("Subscriptions", []):
            subscription["SubscriptionArn"] = "PendingConfirmation"

    return ("after-call.sns.ListSubscriptionsByTopic", rewrite)


def management_elsewhere(account="999999999999"):
    """Organizations names another account as the management account: the caller (moto's default
    account, which created the organization) is then a member account, as a security account should be."""

    def rewrite(parsed=None, **_):
        parsed["Organization"]["MasterAccountId"] = account

    return ("after-call.organizations.DescribeOrganization", rewrite)


def deny_member_sessions(operation):
    """A before-send hook refusing `operation` (AccessDeniedException) to temporary credentials: the
    member role's session is refused, the caller's own long-term key is not."""
    from tests.support.faults import json_error, operation_of

    def hook(request=None, **_):
        if operation_of(request) == operation and "X-Amz-Security-Token" in request.headers:
            return json_error("AccessDeniedException", "not authorized")
        return None

    return (f"before-send.events.{operation}", hook)


def current_version_written(when):
    """Secrets Manager answers that the AWSCURRENT version was written at `when` (moto gives the
    time of the listing as every version's CreatedDate)."""

    def rewrite(parsed=None, **_):
        for version in parsed.get("Versions", []):
            if "AWSCURRENT" in version.get("VersionStages", []):
                version["CreatedDate"] = when

    return ("after-call.secrets-manager.ListSecretVersionIds", rewrite)
