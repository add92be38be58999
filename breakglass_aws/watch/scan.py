"""`watch`: scan CloudTrail for out-of-band break-glass use and alert on each finding once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from breakglass_aws.aws import aws_errors, translate_error
from breakglass_aws.clock import isoformat
from breakglass_aws.errors import AwsFailure, BreakglassError, ConfigError, GuardRailError, UsageError
from breakglass_aws.evidence.source import CloudTrailSource, EvidenceSource
from breakglass_aws.models import Incident
from breakglass_aws.notify import Notifier, publish_with_retry
from breakglass_aws.parallel import together
from breakglass_aws.redact import redact
from breakglass_aws.runtime import Runtime
from breakglass_aws.settings import Settings
from breakglass_aws.watch.coverage import Names
from breakglass_aws.watch.match import Matcher, Sighting, check_event, lookups

__all__ = ["AlertFailure", "WatchResult", "run_watch", "scan", "watched_names"]

MAX_SINCE = timedelta(days=90)


class AlertFailure(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event_id: str
    error: str
    exit_code: int


class WatchResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: str
    regions: list[str]
    findings: list[Sighting]
    alerted: int = 0
    alert_failures: list[AlertFailure] = Field(default_factory=list)

    def exit_code(self) -> int:
        """7 (or 6) when an alert could not be published, 4 for findings, else 0."""
        if self.alert_failures:
            return max(f.exit_code for f in self.alert_failures)
        return GuardRailError.exit_code if self.findings else 0


def scan(
    source: EvidenceSource,
    incidents: list[Incident],
    now: datetime,
    since: timedelta,
    names: Names,
    regions: list[str],
    progress: Callable[[str], None] = lambda _: None,
) -> list[Sighting]:
    """Every break-glass event of the period, in every region read, that no incident explains.
    The regions are read together (CloudTrail paces each region on its own)."""
    match = Matcher(incidents, now)

    def read(region: str, event_names: list[str]) -> list[Sighting]:
        found: dict[str, Sighting] = {}
        for name in event_names:
            for event in source.lookup(region, ("EventName", name), now - since, now):
                sighting = check_event(event, region, names, match)
                if sighting is not None:
                    found.setdefault(sighting.event_id, sighting)
        progress(f"{region}: {len(event_names)} event name(s) read, {len(found)} finding(s)")
        return list(found.values())

    per_region = together([functools.partial(read, r, n) for r, n in lookups(regions)])
    unique = {s.event_id: s for found in per_region for s in found}
    return sorted(unique.values(), key=lambda s: (s.time, s.event_id))


def watched_names(settings: Settings, role_name: str) -> Names:
    """What the break-glass events concern, from the settings (the names Terraform deployed)."""
    topic = (settings.sns_topic_arn or "").rsplit(":", 1)[-1] or f"{settings.alert_rule_prefix}-notifications"
    return Names(
        role_name=role_name,
        user_names=tuple(settings.rotate_users),
        secret_prefix=settings.secret_prefix,
        rule_prefix=settings.alert_rule_prefix,
        topic_name=topic,
    )


def run_watch(
    rt: Runtime,
    since: timedelta,
    alert: bool,
    names: Names,
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
    chosen = source or CloudTrailSource(rt.factory, sleep=rt.pace)
    with aws_errors():
        findings = scan(chosen, incidents, now, since, names, regions, rt.progress)
    read = [r for r, _ in lookups(regions)]
    result = WatchResult(since=isoformat(now - since), regions=read, findings=findings)
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
