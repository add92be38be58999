"""Upload a bundle to an S3 bucket with Object Lock: every object carries its retention."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from breakglass_aws.errors import ConfigError, UsageError
from breakglass_aws.evidence.bundle import MANIFEST

__all__ = ["UploadStep", "check_bucket", "parse_bucket_setting", "parse_s3_url", "perform_upload", "upload_steps"]

S3_URL = re.compile(r"\As3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/([ -~]*))?\Z")  # printable ASCII prefix


class UploadStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["upload"] = "upload"
    bucket: str
    key: str
    file: str
    sha256: str
    lock_mode: Literal["GOVERNANCE", "COMPLIANCE"]
    retain_until: datetime

    def describe(self) -> str:
        return f"upload s3://{self.bucket}/{self.key} ({self.lock_mode} until {self.retain_until:%Y-%m-%d})"


def parse_s3_url(url: str) -> tuple[str, str]:
    match = S3_URL.fullmatch(url.strip(" "))
    if not match:
        raise UsageError(f"invalid S3 URL {url!r}", "use s3://bucket/prefix")
    return match.group(1), (match.group(2) or "").strip("/")


def parse_bucket_setting(value: str) -> tuple[str, str]:
    """The evidence_bucket setting: `s3://BUCKET[/PREFIX]`, or a bare bucket name (as the
    control-plane module's `evidence_bucket` output gives it)."""
    return parse_s3_url(value if value.startswith("s3://") else f"s3://{value}")


def check_bucket(s3: Any, bucket: str) -> None:
    """Refuse a bucket without Object Lock: the bundle must not be deletable."""
    try:
        config = s3.get_object_lock_configuration(Bucket=bucket).get("ObjectLockConfiguration", {})
    except s3.exceptions.ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        if code == "NoSuchBucket":
            raise ConfigError(
                f"bucket {bucket} does not exist",
                "check the bucket name in --upload, or create the evidence bucket with the terraform "
                "control-plane module",
            ) from err
        if code == "ObjectLockConfigurationNotFoundError":
            config = {}
        else:
            raise
    if config.get("ObjectLockEnabled") != "Enabled":
        raise ConfigError(
            f"bucket {bucket} does not have Object Lock enabled",
            "use the evidence bucket from the terraform control-plane module",
        )


def upload_steps(
    folder: Path, files: dict[str, str], bucket: str, prefix: str, mode: str, retain_until: datetime
) -> list[UploadStep]:
    """The manifest goes last, so a complete manifest in the bucket means a complete bundle."""
    names = sorted(files, key=lambda n: (n == MANIFEST, n))
    base = f"{prefix}/{folder.name}" if prefix else folder.name
    return [
        UploadStep(
            bucket=bucket,
            key=f"{base}/{n}",
            file=str(folder / n),
            sha256=files[n],
            lock_mode=mode,
            retain_until=retain_until,
        )
        for n in names
    ]


def perform_upload(s3: Any, step: UploadStep) -> dict[str, Any]:
    with Path(step.file).open("rb") as body:
        answer = s3.put_object(
            Bucket=step.bucket,
            Key=step.key,
            Body=body,
            ObjectLockMode=step.lock_mode,
            ObjectLockRetainUntilDate=step.retain_until,
            Metadata={"sha256": step.sha256},
        )
    return {"version_id": answer.get("VersionId")}
