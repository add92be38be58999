"""`watch`: scan CloudTrail for out-of-band break-glass use and alert on each finding once."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict

from breakglass_aws.aws import aws_errors
from breakglass_aws.errors import ConfigError, UsageError
from breakglass_aws.evidence.source import CloudTrailSource, EvidenceSource
from breakglass_aws.runtime import Runtime
from breakglass_aws.watch import Finding, scan

__all__ = ["WatchResult", "run_watch"]

MAX_SINCE = timedelta(days=90)


class WatchResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: str
    findings: list[Finding]
    alerted: int = 0


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
    if alert and rt.notifier is None:
        raise ConfigError("--alert needs a topic", "set sns_topic_arn in the config file")
    now = rt.clock()
    incidents = rt.store.list_incidents(limit=100_000)
    chosen = source or CloudTrailSource(rt.factory)
    with aws_errors():
        findings = scan(chosen, incidents, now, since, rt.role.role_name, users, regions)
    result = WatchResult(since=(now - since).isoformat(), findings=findings)
    if alert:
        result.alerted = sum(_alert(rt, f) for f in findings)
    return result


def _alert(rt: Runtime, finding: Finding) -> bool:
    if not rt.store.record_alert(f"watch:{finding.event_id}"):
        return False
    assert rt.notifier is not None  # noqa: S101
    message = {"source": "breakglass-aws", "event": "out-of-band", **finding.model_dump()}
    rt.notifier.publish(message, f"[breakglass] OUT-OF-BAND {finding.kind}: {finding.who}"[:100])
    return True
