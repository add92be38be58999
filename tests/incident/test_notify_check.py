"""No SNS topic configured: a warning from `check`, never an error in the middle of an incident."""

from __future__ import annotations

from breakglass_aws.models import FULL_AWS_ACCESS
from tests.support.approvals import locked_out
from tests.support.readiness import findings


def test_check_warns_when_no_topic_is_configured(healthy, cli, monkeypatch):
    monkeypatch.delenv("BREAKGLASS_SNS_TOPIC_ARN")
    code, found = findings(cli)
    assert ("warning", "alerting", "sns", "no sns_topic_arn configured: nobody is told") in found
    assert [f for f in found if f[0] == "error"] == [] and code == 0
    text = cli("check")
    assert text.exit_code == 0 and "sns_topic_arn" in text.stdout + text.stderr


def test_no_topic_does_not_disturb_an_incident(org, cli):
    before = locked_out(org)
    opened = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json")
    assert opened.exit_code == 0 and "notification" not in opened.stderr
    assert org.scps(org.account) == {FULL_AWS_ACCESS}
    restored = cli("scp", "restore", opened.json()["incident_id"])
    assert restored.exit_code == 0 and org.snapshot() == before
