"""Options built from the settings that several commands share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from breakglass_aws.cli.state import CliState

if TYPE_CHECKING:
    from breakglass_aws.incident.evidence import EvidenceOptions

__all__ = ["evidence_options"]


def evidence_options(st: CliState, regions: list[str] | None = None) -> EvidenceOptions:
    """From the settings; `regions` (--lookup-region) add to evidence_regions and the global region."""
    from breakglass_aws.errors import ConfigError, UsageError
    from breakglass_aws.incident.evidence import EvidenceOptions
    from breakglass_aws.validate import parse_duration, validate_region

    for region in regions or []:
        validate_region(region)
    s = st.settings()
    configured = list(s.evidence_regions)
    for region in configured:
        try:
            validate_region(region)
        except UsageError as err:
            raise ConfigError(f"evidence_regions: {err.message}", "fix evidence_regions in the config file") from err
    return EvidenceOptions(
        margin=parse_duration(s.evidence_margin),
        delay=parse_duration(s.evidence_delay),
        rate=s.evidence_rate,
        regions=sorted({*configured, *([s.region] if s.region else []), *(regions or [])}),
    )
