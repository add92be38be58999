"""Stand-ins for centralized root access in moto (5.2.x implements none of it), installed the
way `testing.install_cloudtrail_lookup` is: by patching moto's response handlers, with an undo.

What they emulate, keeping their state in moto's own backends (a moto reset wipes it):

- `sts:AssumeRoot`: refused (AccessDenied) unless the caller is the organization's management
  account or the delegated administrator for iam.amazonaws.com, the TargetPrincipal a member
  account of that organization (not the management account), the task policy one of the five
  root-task policies, DurationSeconds at most 900, the request not sent to the global endpoint
  (sts.amazonaws.com), and the organization's feature on: RootSessions for the S3 and SQS unlock
  tasks, RootCredentialsManagement for the IAM credential tasks. The credentials it returns are
  an assumed-role session moto maps to the TARGET account, so S3, SQS and IAM calls made with
  them land in the member account's backends for real.
- `iam:ListOrganizationsFeatures`, `iam:EnableOrganizationsRootSessions`,
  `iam:EnableOrganizationsRootCredentialsManagement` (and the two Disable calls): a feature set
  kept on moto's organization record; refused without trusted access for iam.amazonaws.com,
  outside an organization, or from an account that is neither the management account nor the
  delegated administrator.
- `organizations:EnableAWSServiceAccess` / `RegisterDelegatedAdministrator` accept
  iam.amazonaws.com.
- The root user of a member account: moto has none, so it is a hidden IAM user named
  `STAND_IN_ROOT_USER` in that account's IAM backend (created on first use; it shows in
  ListUsers). IAM calls a root session makes without a UserName (GetLoginProfile,
  DeleteLoginProfile, ListAccessKeys, ListMFADevices, DeactivateMFADevice,
  ListSigningCertificates, DeleteSigningCertificate) act on it; `seed_root_credentials` gives it
  a password, keys, a virtual MFA device and a signing certificate (in-process moto only).

What they do not: moto evaluates no policy, so a deny-all bucket or queue policy denies nothing,
the task policy does not scope the root session (it may call anything), and SCPs and RCPs never
deny it; the session's identity (GetCallerIdentity) is moto's assumed-role form, not
`arn:aws:iam::ACCOUNT:root`; AssumeRoot is not recorded in CloudTrail; IAM's dependence on
us-east-1 is not modelled.

Nothing here is imported by the tool itself.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FEATURES",
    "ROOT_TASK_POLICIES",
    "STAND_IN_ROOT_USER",
    "SeededRoot",
    "install_root_tasks",
    "seed_root_credentials",
]

IAM_SERVICE = "iam.amazonaws.com"
POLICY_PREFIX = "arn:aws:iam::aws:policy/root-task/"
ROOT_TASK_POLICIES = {
    f"{POLICY_PREFIX}S3UnlockBucketPolicy": "RootSessions",
    f"{POLICY_PREFIX}SQSUnlockQueuePolicy": "RootSessions",
    f"{POLICY_PREFIX}IAMAuditRootUserCredentials": "RootCredentialsManagement",
    f"{POLICY_PREFIX}IAMCreateRootUserPassword": "RootCredentialsManagement",
    f"{POLICY_PREFIX}IAMDeleteRootUserCredentials": "RootCredentialsManagement",
}
FEATURES = ("RootCredentialsManagement", "RootSessions")
STAND_IN_ROOT_USER = "stand-in-root-user"
MAX_SECONDS = 900
_FEATURES_ATTR = "breakglass_root_features"  # on moto's FakeOrganization
_TASK_ATTR = "breakglass_root_task"  # on moto's AssumedRole: a root session, and its task policy
_CALLER_OPTIONAL = (
    "get_login_profile",
    "delete_login_profile",
    "list_access_keys",
    "list_mfa_devices",
    "deactivate_mfa_device",
    "list_signing_certificates",
    "delete_signing_certificate",
)


def _organization(account: str) -> Any:
    """The organizations backend that holds `account`'s organization, or None."""
    from moto.organizations.models import organizations_backends

    owner, partition = organizations_backends.master_accounts.get(account, (account, "aws"))
    backend = organizations_backends[owner][partition]
    return backend if backend.org is not None else None


def _trusted(backend: Any) -> bool:
    return any(s.get("ServicePrincipal") == IAM_SERVICE for s in backend.services)


def _administers(backend: Any, account: str) -> bool:
    delegated = any(a.account.id == account and IAM_SERVICE in a.services for a in backend.admins)
    return account == backend.account_id or delegated


def _features(backend: Any) -> set[str]:
    features: set[str] = getattr(backend.org, _FEATURES_ATTR, set())
    setattr(backend.org, _FEATURES_ATTR, features)
    return features


def _refuse(response: Any, code: str, message: str) -> Any:
    """An error answer in the service's protocol (without moto's warning about unmodelled codes)."""
    from moto.core.exceptions import ServiceException
    from moto.core.responses import ActionResult

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return response.serialized(ActionResult(ServiceException(code, message)))


# STS: AssumeRoot -----------------------------------------------------------------------------------


def _assume_root_refusal(response: Any, backend: Any, target: str, arn: str) -> str | None:
    caller = response.current_account
    if backend is None:
        return f"account {caller} is not in an organization"
    if not _administers(backend, caller):
        return f"account {caller} is neither the management account nor the delegated administrator for IAM"
    if target == backend.account_id or all(a.id != target for a in backend.accounts):
        return f"TargetPrincipal {target} is not a member account of the organization"
    if arn not in ROOT_TASK_POLICIES:
        return f"TaskPolicyArn {arn} is not a root-task policy"
    feature = ROOT_TASK_POLICIES[arn]
    if not _trusted(backend) or feature not in _features(backend):
        return f"centralized root access: {feature} is not enabled for the organization"
    return None


def _assume_root(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.sts.models import sts_backends

    params = self.params
    target = str(params.get("TargetPrincipal", "")).rsplit(":", 1)[-1]
    arn = str((params.get("TaskPolicyArn") or {}).get("arn", ""))
    seconds = int(params.get("DurationSeconds") or MAX_SECONDS)
    if self.parsed_url.netloc == "sts.amazonaws.com":
        return _refuse(self, "InvalidAction", "AssumeRoot is not supported by the global STS endpoint")
    if not 0 <= seconds <= MAX_SECONDS:
        return _refuse(self, "ValidationError", f"DurationSeconds {seconds} is over {MAX_SECONDS}")
    refusal = _assume_root_refusal(self, _organization(self.current_account), target, arn)
    if refusal is not None:
        return _refuse(self, "AccessDenied", f"not authorized to perform sts:AssumeRoot: {refusal}")
    session = sts_backends[self.current_account][self.partition].assume_role(
        region_name=self.region,
        role_session_name="root-task",
        role_arn=f"arn:{self.partition}:iam::{target}:root",
        policy="",
        duration=seconds or MAX_SECONDS,
        external_id="",
    )
    setattr(session, _TASK_ATTR, arn)
    return ActionResult({"Credentials": session})


# IAM: the organization's features ----------------------------------------------------------------


def _features_refusal(self: Any, backend: Any) -> Any:
    if backend is None:
        return _refuse(self, "OrganizationNotFoundException", "the account is not in an organization")
    if not _trusted(backend):
        return _refuse(self, "ServiceAccessNotEnabledException", f"trusted access for {IAM_SERVICE} is not enabled")
    if not _administers(backend, self.current_account):
        return _refuse(
            self,
            "AccountNotManagementOrDelegatedAdministratorException",
            "the caller is neither the management account nor the delegated administrator for IAM",
        )
    return None


def _features_call(change: Callable[[set[str]], None]) -> Callable[[Any], Any]:
    def call(self: Any) -> Any:
        from moto.core.responses import ActionResult

        backend = _organization(self.current_account)
        refusal = _features_refusal(self, backend)
        if refusal is not None:
            return refusal
        features = _features(backend)
        change(features)
        return ActionResult({"OrganizationId": backend.org.id, "EnabledFeatures": sorted(features)})

    return call


# IAM: the root user of a member account ------------------------------------------------------------


def _root_session_task(self: Any) -> str | None:
    from moto.sts.models import sts_backends

    session = sts_backends[self.current_account][self.partition].get_assumed_role_from_access_key(self.get_access_key())
    return getattr(session, _TASK_ATTR, None)


def _root_user(backend: Any) -> Any:
    from moto.iam.exceptions import NoSuchEntity

    try:
        return backend.get_user(STAND_IN_ROOT_USER)
    except NoSuchEntity:
        return backend.create_user(region_name="us-east-1", user_name=STAND_IN_ROOT_USER)


def _as_root_user(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A call without UserName, made by a root session, acts on the stand-in root user."""

    def call(self: Any) -> Any:
        if not self._get_param("UserName") and _root_session_task(self) is not None:
            _root_user(self.backend)
            self.params["UserName"] = STAND_IN_ROOT_USER
        return original(self)

    return call


def install_root_tasks() -> Callable[[], None]:
    """Teach moto centralized root access (see the module's docstring); returns the undo."""
    from moto.iam.responses import IamResponse
    from moto.organizations.models import FakeDelegatedAdministrator, FakeServiceAccess
    from moto.sts.responses import TokenResponse

    patches: list[tuple[Any, str, Any]] = [
        (TokenResponse, "assume_root", _assume_root),
        (IamResponse, "list_organizations_features", _features_call(lambda _features: None)),
        (IamResponse, "enable_organizations_root_sessions", _features_call(lambda f: f.add("RootSessions"))),
        (IamResponse, "disable_organizations_root_sessions", _features_call(lambda f: f.discard("RootSessions"))),
        (
            IamResponse,
            "enable_organizations_root_credentials_management",
            _features_call(lambda f: f.add("RootCredentialsManagement")),
        ),
        (
            IamResponse,
            "disable_organizations_root_credentials_management",
            _features_call(lambda f: f.discard("RootCredentialsManagement")),
        ),
        *[(IamResponse, name, _as_root_user(getattr(IamResponse, name))) for name in _CALLER_OPTIONAL],
    ]
    saved = [(owner, name, owner.__dict__.get(name)) for owner, name, _ in patches]
    for owner, name, value in patches:
        setattr(owner, name, value)
    added = [
        lists
        for lists in (FakeServiceAccess.TRUSTED_SERVICES, FakeDelegatedAdministrator.SUPPORTED_SERVICES)
        if IAM_SERVICE not in lists
    ]
    for lists in added:
        lists.append(IAM_SERVICE)

    def undo() -> None:
        for owner, name, value in saved:
            if value is None:
                delattr(owner, name)
            else:
                setattr(owner, name, value)
        for lists in added:
            lists.remove(IAM_SERVICE)

    return undo


# seeding (in-process moto) -------------------------------------------------------------------------


@dataclass
class SeededRoot:
    """What `seed_root_credentials` gave a member account's root user."""

    account: str
    access_keys: list[str]
    mfa_serial: str | None
    certificate_id: str | None
    login_profile: bool


def seed_root_credentials(
    account: str, *, login: bool = True, access_keys: int = 1, mfa: bool = True, certificate: bool = True
) -> SeededRoot:
    """Give the member account's (stand-in) root user a console password, access keys, an enabled
    virtual MFA device and a signing certificate."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account]["aws"]
    _root_user(backend)
    if login:
        backend.create_login_profile(STAND_IN_ROOT_USER, "Root-passw0rd!")
    keys = [backend.create_access_key(STAND_IN_ROOT_USER).access_key_id for _ in range(access_keys)]
    serial = None
    if mfa:
        device = backend.create_virtual_mfa_device("root-account-mfa-device", "/")
        serial = device.serial_number
        backend.enable_mfa_device(STAND_IN_ROOT_USER, serial, "123456", "654321")
    cert = backend.upload_signing_certificate(STAND_IN_ROOT_USER, _certificate()).id if certificate else None
    return SeededRoot(account, keys, serial, cert, login)


def _certificate() -> str:
    """A self-signed X.509 certificate in PEM (moto checks that a signing certificate parses)."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "root-signing-certificate")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()
