"""Upload a bundle to an S3 bucket with Object Lock: every object carries its retention."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from breakglass_aws.errors import ConfigError
from breakglass_aws.evidence.bundle import MANIFEST

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["UploadStep", "check_bucket", "perform_upload", "upload_steps"]


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


def check_bucket(s3: S3Client, bucket: str) -> None:
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
    folder: Path,
    files: dict[str, str],
    bucket: str,
    prefix: str,
    mode: str,
    retain_until: datetime,
    incident_id: str | None = None,
) -> list[UploadStep]:
    """Keys are PREFIX/INCIDENT_ID/FILE whatever the local folder is called (the folder's name
    without an incident id). The manifest goes last, so a complete manifest in the bucket means a
    complete bundle."""
    names = sorted(files, key=lambda n: (n == MANIFEST, n))
    name = incident_id or folder.name
    base = f"{prefix}/{name}" if prefix else name
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


def perform_upload(s3: S3Client, step: UploadStep) -> dict[str, Any]:
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
