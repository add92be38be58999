"""Evidence: CloudTrail events of an incident in a tamper-evident bundle."""

from __future__ import annotations

from breakglass_aws.evidence.bundle import Manifest, verify_bundle
from breakglass_aws.evidence.collect import CollectResult, plan_queries, window_for
from breakglass_aws.evidence.source import CloudTrailSource, EvidenceSource, RateLimiter

__all__ = [
    "CloudTrailSource",
    "CollectResult",
    "EvidenceSource",
    "Manifest",
    "RateLimiter",
    "plan_queries",
    "verify_bundle",
    "window_for",
]
