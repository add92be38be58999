"""`watch`: scan CloudTrail for out-of-band break-glass use and alert on each finding once."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from breakglass_aws.aws import aws_errors, translate_error
from breakglass_aws.errors import AwsFailure, BreakglassError, ConfigError, GuardRailError, UsageError
from breakglass_aws.evidence.source import CloudTrailSource, EvidenceSource
from breakglass_aws.notify import Notifier, publish_with_retry
from breakglass_aws.redact import redact
from breakglass_aws.runtime import Runtime
from breakglass_aws.watch.match import Sighting, scan

__all__ = ["AlertFailure", "WatchResult", "run_watch"]

MAX_SINCE = timedelta(days=90)


class AlertFailure(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event_id: str
    error: str
    exit_code: int


class WatchResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: str
    findings: list[Sighting]
    alerted: int = 0
    alert_failures: list[AlertFailure] = Field(default_factory=list)

    def exit_code(self) -> int:
        """7 (or 6) when an alert could not be published, 4 for findings, else 0."""
        if self.alert_failures:
            return max(f.exit_code for f in self.alert_failures)
        return GuardRailError.exit_code if self.findings else 0


def run_watch(
    rt: Runtime,
    since: timedelta,
    alert: bool,
    users: list[str],
    regions: list[str],
    source: EvidenceSource | None = None,
) -> WatchResult:
    if since > MAX_SINCE:
        raise UsageError("--since is at most 90 days", "CloudTrail LookupEvents keeps 90 days of events")
    notifier = rt.notifier if alert else None
    if alert and notifier is None:
        raise ConfigError("--alert needs a topic", "set sns_topic_arn in the config file")
    now = rt.clock()
    incidents = rt.store.list_incidents(limit=100_000)
    chosen = source or CloudTrailSource(rt.factory)
    with aws_errors():
        findings = scan(chosen, incidents, now, since, rt.role.role_name, users, regions)
    result = WatchResult(since=(now - since).isoformat(), findings=findings)
    if notifier is not None:
        for finding in findings:
            _alert(rt, notifier, finding, result)
    return result


def _alert(rt: Runtime, notifier: Notifier, finding: Sighting, result: WatchResult) -> None:
    """Publish a finding once. The claim is taken before publishing (two schedules never both
    send it) and dropped again when the publish fails, so the next run retries it."""
    key = f"watch:{finding.event_id}"
    if not rt.store.record_alert(key):
        return
    message = {"source": "breakglass-aws", "event": "out-of-band", **finding.model_dump()}
    errors: list[Exception] = []

    def failed(attempt: int, err: Exception) -> None:
        errors.append(err)
        rt.progress(f"warning: alert for {finding.event_id} failed (attempt {attempt}): {_reason(err)}")

    subject = f"[breakglass] OUT-OF-BAND {finding.kind}: {finding.who}"[:100]
    if publish_with_retry(notifier, message, subject, failed) is not None:
        result.alerted += 1
        return
    rt.store.forget_alert(key)
    last = errors[-1]
    code = _exit_code(last)
    result.alert_failures.append(AlertFailure(event_id=finding.event_id, error=_reason(last), exit_code=code))
    rt.progress(f"warning: alert for {finding.event_id} not published; the next watch --alert retries it")


def _exit_code(err: Exception) -> int:
    """6 for denied or expired credentials, 7 for any other AWS failure."""
    if isinstance(err, BreakglassError):
        return err.exit_code
    if type(err).__module__.startswith(("botocore", "boto3")):
        return translate_error(err).exit_code
    return AwsFailure.exit_code


def _reason(err: Exception) -> str:
    return redact(f"{type(err).__name__}: {err}")[:300]
