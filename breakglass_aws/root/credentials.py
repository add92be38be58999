"""A member account's root user credentials, read and deleted by a root session (the
IAMAuditRootUserCredentials and IAMDeleteRootUserCredentials tasks): the console password (login
profile), access keys, signing certificates and MFA devices. IAM calls made by a root session
without a UserName act on the root user."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict

from breakglass_aws.clock import zulu
from breakglass_aws.errors import AwsAccessError
from breakglass_aws.parallel import together
from breakglass_aws.root.assume import SCP_HINT

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

__all__ = [
    "CREDENTIAL_ACTIONS",
    "CredentialStep",
    "RootCredentials",
    "RootKey",
    "RootMfa",
    "is_done",
    "perform_credential_step",
    "plan_deletion",
    "read_root_credentials",
]


class RootKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    access_key_id: str
    status: str
    created: str | None = None


class RootMfa(BaseModel):
    model_config = ConfigDict(extra="forbid")
    serial: str
    enabled: str | None = None

    @property
    def virtual(self) -> bool:
        """A virtual device (deleted after deactivation); a hardware one is only deactivated."""
        return ":mfa/" in self.serial


class RootCertificate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    certificate_id: str
    status: str


class RootCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid")
    login_profile: bool = False
    login_profile_created: str | None = None
    access_keys: list[RootKey] = []
    mfa_devices: list[RootMfa] = []
    signing_certificates: list[RootCertificate] = []

    def empty(self) -> bool:
        return not (self.login_profile or self.access_keys or self.mfa_devices or self.signing_certificates)

    def lines(self) -> list[str]:
        created = f", created {self.login_profile_created}" if self.login_profile_created else ""
        keys = [
            f"{k.access_key_id} ({k.status}{', created ' + k.created if k.created else ''})" for k in self.access_keys
        ]
        mfa = [f"{m.serial}{' (enabled ' + m.enabled + ')' if m.enabled else ''}" for m in self.mfa_devices]
        certs = [f"{c.certificate_id} ({c.status})" for c in self.signing_certificates]
        return [
            f"console password (login profile): {'yes' + created if self.login_profile else 'none'}",
            f"access keys: {', '.join(keys) or 'none'}",
            f"MFA devices: {', '.join(mfa) or 'none'}",
            f"signing certificates: {', '.join(certs) or 'none'}",
        ]


def _when(value: Any) -> str | None:
    return zulu(value.isoformat()) if hasattr(value, "isoformat") else (str(value) if value else None)


def _login(iam: IAMClient) -> tuple[bool, str | None]:
    from botocore.exceptions import ClientError

    try:
        profile = iam.get_login_profile()["LoginProfile"]
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "NoSuchEntity":
            return False, None
        raise
    return True, _when(profile.get("CreateDate"))


def _keys(iam: IAMClient) -> list[RootKey]:
    pages = iam.get_paginator("list_access_keys").paginate()
    return [
        RootKey(access_key_id=k["AccessKeyId"], status=k.get("Status", "?"), created=_when(k.get("CreateDate")))
        for page in pages
        for k in page["AccessKeyMetadata"]
    ]


def _mfa(iam: IAMClient) -> list[RootMfa]:
    pages = iam.get_paginator("list_mfa_devices").paginate()
    return [
        RootMfa(serial=d["SerialNumber"], enabled=_when(d.get("EnableDate"))) for p in pages for d in p["MFADevices"]
    ]


def _certificates(iam: IAMClient) -> list[RootCertificate]:
    pages = iam.get_paginator("list_signing_certificates").paginate()
    return [
        RootCertificate(certificate_id=c["CertificateId"], status=c.get("Status", "?"))
        for page in pages
        for c in page["Certificates"]
    ]


def read_root_credentials(iam: IAMClient) -> RootCredentials:
    """The four reads in flight together."""
    from botocore.exceptions import ClientError

    try:
        reads: list[Callable[[], Any]] = [functools.partial(read, iam) for read in (_login, _keys, _mfa, _certificates)]
        login, keys, mfa, certs = together(reads)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("AccessDenied", "AccessDeniedException"):
            raise AwsAccessError("the root session was refused reading the root user's credentials", SCP_HINT) from err
        raise
    return RootCredentials(
        login_profile=login[0],
        login_profile_created=login[1],
        access_keys=keys,
        mfa_devices=mfa,
        signing_certificates=certs,
    )


Action = Literal[
    "delete-login-profile",
    "delete-access-key",
    "delete-signing-certificate",
    "deactivate-mfa-device",
    "delete-virtual-mfa-device",
]
CREDENTIAL_ACTIONS: frozenset[str] = frozenset(get_args(Action))


class CredentialStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Action
    account: str
    credential: str = ""  # the access key id, certificate id or MFA serial

    def describe(self) -> str:
        what = f" {self.credential}" if self.credential else ""
        return f"{self.action.replace('-', ' ')}{what} of the root user of {self.account}"


def plan_deletion(account: str, found: RootCredentials, deactivated: Iterable[str] = ()) -> list[CredentialStep]:
    """Every credential the root user holds now, deleted (an MFA device deactivated, then a virtual
    one deleted); plus the deletion of virtual devices an earlier run deactivated (`deactivated`),
    which are no longer listed once deactivated."""
    steps = [CredentialStep(action="delete-login-profile", account=account)] if found.login_profile else []
    steps += [
        CredentialStep(action="delete-access-key", account=account, credential=k.access_key_id)
        for k in found.access_keys
    ]
    steps += [
        CredentialStep(action="delete-signing-certificate", account=account, credential=c.certificate_id)
        for c in found.signing_certificates
    ]
    for device in found.mfa_devices:
        steps.append(CredentialStep(action="deactivate-mfa-device", account=account, credential=device.serial))
        if device.virtual:
            steps.append(CredentialStep(action="delete-virtual-mfa-device", account=account, credential=device.serial))
    listed = {d.serial for d in found.mfa_devices}
    steps += [
        CredentialStep(action="delete-virtual-mfa-device", account=account, credential=serial)
        for serial in dict.fromkeys(deactivated)
        if serial not in listed and ":mfa/" in serial
    ]
    return steps


def perform_credential_step(iam: IAMClient, step: CredentialStep) -> dict[str, Any] | None:
    """One deletion; a credential already gone (a crash after the call, before its outcome) is
    done, and said so."""
    from botocore.exceptions import ClientError

    try:
        _delete(iam, step)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "NoSuchEntity":
            return {"already_gone": True}
        raise
    return None


def _delete(iam: IAMClient, step: CredentialStep) -> None:
    if step.action == "delete-login-profile":
        iam.delete_login_profile()
    elif step.action == "delete-access-key":
        iam.delete_access_key(AccessKeyId=step.credential)
    elif step.action == "delete-signing-certificate":
        iam.delete_signing_certificate(CertificateId=step.credential)
    elif step.action == "deactivate-mfa-device":
        iam.deactivate_mfa_device(SerialNumber=step.credential)
    else:
        iam.delete_virtual_mfa_device(SerialNumber=step.credential)


def is_done(step: CredentialStep, now: RootCredentials) -> bool | None:
    """Did `step` happen, judged from what the root user holds now (None: cannot be told: a
    virtual MFA device, once deactivated, is not listed whether or not it was deleted)."""
    if step.action == "delete-login-profile":
        return not now.login_profile
    if step.action == "delete-access-key":
        return all(k.access_key_id != step.credential for k in now.access_keys)
    if step.action == "delete-signing-certificate":
        return all(c.certificate_id != step.credential for c in now.signing_certificates)
    if step.action == "deactivate-mfa-device":
        return all(m.serial != step.credential for m in now.mfa_devices)
    return None
