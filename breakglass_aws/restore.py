"""Where the library's restore functions were first documented: `from breakglass_aws.restore import
restore_incident` keeps working. They live in `breakglass_aws.incident`."""

from __future__ import annotations

from breakglass_aws.incident.close import check_restorable, restore_incident
from breakglass_aws.incident.restore import RestoreResult, TargetRestore, unrecoverable_reason
from breakglass_aws.incident.sweep import restore_expired

__all__ = [
    "RestoreResult",
    "TargetRestore",
    "check_restorable",
    "restore_expired",
    "restore_incident",
    "unrecoverable_reason",
]
