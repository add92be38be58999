"""One exception tree; every error carries its exit code and a remediation line.

    BreakglassError                 exit 1  (unexpected)
    ├── UsageError                  exit 2  bad input, unknown incident
    ├── DeclinedError               exit 3  operator declined the confirmation
    ├── GuardRailError              exit 4  refused: target forbidden, target locked, nothing to do
    ├── ConfigError                 exit 5  invalid configuration
    ├── AwsAccessError              exit 6  access denied, missing or expired credentials
    ├── AwsFailure                  exit 7  AWS failed after retries, endpoint unreachable
    └── PartialApplyError           exit 8  some changes applied; the journal says what; run restore

Exit codes are stable: runbooks branch on them.
"""

from __future__ import annotations

__all__ = [
    "AwsAccessError",
    "AwsFailure",
    "BreakglassError",
    "ConfigError",
    "DeclinedError",
    "GuardRailError",
    "PartialApplyError",
    "UsageError",
]

SEE_CALLS = "run with -v to see each AWS call"  # left out of the hint when -v is on


class BreakglassError(Exception):
    """Root of every error the tool raises on purpose."""

    exit_code: int = 1
    kind: str = "error"

    def __init__(
        self, message: str, remediation: str | None = None, *, fix: str | None = None, resumable: bool = False
    ) -> None:
        """`fix`: what fixes the cause (without advice to rerun); `resumable`: running the same
        command again finishes the work (the journal says where it stopped). The remediation
        shown is `remediation`, else the fix with the rerun advice when resumable."""
        super().__init__(message)
        self.message = message
        self.resumable = resumable
        self.fix = fix if fix is not None else (None if resumable else remediation)
        if remediation is None and fix is not None:
            remediation = f"{fix}; then rerun the same command: it resumes where it stopped" if resumable else fix
        self.remediation = remediation

    def cause(self) -> str:
        """What to do about the cause, never a rerun (the caller names the command that finishes)."""
        return self.fix or "fix the cause"

    def to_dict(self) -> dict[str, object]:
        return {
            "error": self.kind,
            "message": self.message,
            "remediation": self.remediation,
            "exit_code": self.exit_code,
        }


class UsageError(BreakglassError):
    exit_code = 2
    kind = "usage"


class DeclinedError(BreakglassError):
    exit_code = 3
    kind = "declined"


class GuardRailError(BreakglassError):
    exit_code = 4
    kind = "refused"


class ConfigError(BreakglassError):
    exit_code = 5
    kind = "config"


class AwsAccessError(BreakglassError):
    exit_code = 6
    kind = "access-denied"


class AwsFailure(BreakglassError):
    exit_code = 7
    kind = "aws-failure"


class PartialApplyError(BreakglassError):
    exit_code = 8
    kind = "partial"

    def __init__(
        self, message: str, incident_id: str, remediation: str | None = None, *, fix: str | None = None
    ) -> None:
        super().__init__(message, remediation or f"run: breakglass scp restore {incident_id}", resumable=True)
        self.fix = fix
        self.incident_id = incident_id

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "incident_id": self.incident_id}
