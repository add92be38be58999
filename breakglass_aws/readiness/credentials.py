"""`check` on each break-glass user: one active access key, young enough; a secret that holds the
current credentials; a virtual (TOTP) MFA device. The secret's value is never read: outside an
incident, reading it is itself an alarm (the secret-read kind). Its versions' dates say enough:
the current version must be no older than the newest active key, and younger than the interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from breakglass_aws.readiness.common import finding
from breakglass_aws.runtime import Runtime
from breakglass_aws.scp.lint import Finding

if TYPE_CHECKING:
    from mypy_boto3_iam.type_defs import AccessKeyMetadataTypeDef
    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = ["check_mfa_device", "check_user"]

CHECK = "credentials"


def _rotate(user: str) -> str:
    return f"run: breakglass rotate --user {user}"


def _key_findings(
    user: str, active: list[AccessKeyMetadataTypeDef], now: datetime, interval: timedelta
) -> list[Finding]:
    found = []
    if len(active) > 1:
        found.append(finding("error", CHECK, user, f"{len(active)} active access keys", _rotate(user)))
    for key in active:
        age = now - key["CreateDate"]
        if age > interval:
            message = f"access key {key['AccessKeyId']} is {age.days} days old"
            found.append(finding("error", CHECK, user, message, _rotate(user)))
    return found


def _current_version(sm: SecretsManagerClient, secret_id: str) -> datetime | None:
    """When the AWSCURRENT version was written (None: the secret has no value). DescribeSecret says
    whether there is one (and a missing secret raises ResourceNotFoundException); the version list
    says when."""
    stages = sm.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})
    if not any("AWSCURRENT" in s for s in stages.values()):
        return None
    page = sm.list_secret_version_ids(SecretId=secret_id)
    while True:
        for version in page.get("Versions", []):
            if "AWSCURRENT" in version.get("VersionStages", []) and "CreatedDate" in version:
                return version["CreatedDate"].astimezone(UTC)
        token = page.get("NextToken")
        if not token:
            return None
        page = sm.list_secret_version_ids(SecretId=secret_id, NextToken=token)


def _secret_findings(
    rt: Runtime, user: str, active: list[AccessKeyMetadataTypeDef], interval: timedelta
) -> list[Finding]:
    sm, secret_id = rt.factory.client("secretsmanager"), rt.rotation.secret_for(user)
    try:
        written = _current_version(sm, secret_id)
    except sm.exceptions.ResourceNotFoundException:
        fix = "apply the control-plane module, then: breakglass rotate --user " + user
        return [finding("error", CHECK, user, "no secret holds this user's credentials", fix)]
    if written is None:
        return [finding("error", CHECK, user, f"the secret {secret_id} is empty", _rotate(user))]
    newest = max(active, key=lambda k: k["CreateDate"], default=None)
    # IAM dates are whole seconds: compare at that precision
    if newest is not None and written.replace(microsecond=0) < newest["CreateDate"].replace(microsecond=0):
        message = (
            f"the secret {secret_id} was written {written:%Y-%m-%d %H:%M}Z, before the active access key "
            f"{newest['AccessKeyId']} was created: it does not hold that key"
        )
        return [finding("error", CHECK, user, message, _rotate(user))]
    if rt.clock() - written > interval:
        return [finding("error", CHECK, user, f"password and key last rotated {written:%Y-%m-%d}", _rotate(user))]
    return []


def check_user(rt: Runtime, user: str, interval: timedelta) -> list[Finding]:
    keys = rt.factory.client("iam").list_access_keys(UserName=user)["AccessKeyMetadata"]
    active = [k for k in keys if k["Status"] == "Active"]
    return _key_findings(user, active, rt.clock(), interval) + _secret_findings(rt, user, active, interval)


def check_mfa_device(rt: Runtime, user: str) -> list[Finding]:
    """A virtual (TOTP) device: the CLI asks for a 6-digit code, which a FIDO key cannot give."""
    pages = rt.factory.client("iam").get_paginator("list_mfa_devices").paginate(UserName=user)
    serials = [str(d["SerialNumber"]) for page in pages for d in page.get("MFADevices", [])]
    if any(":mfa/" in s for s in serials):
        return []
    message = (
        f"only a FIDO security key ({', '.join(serials)}): the CLI cannot use a FIDO key"
        if serials
        else "no virtual (TOTP) MFA device: the CLI needs its 6-digit codes"
    )
    return [
        finding(
            "error",
            "mfa-device",
            user,
            message,
            f"add a virtual (TOTP) MFA device: aws iam create-virtual-mfa-device --virtual-mfa-device-name {user} "
            f"--outfile {user}.png --bootstrap-method QRCodePNG, then aws iam enable-mfa-device --user-name {user} "
            "--serial-number ARN --authentication-code1 CODE1 --authentication-code2 CODE2",
        )
    ]
