"""AWS access: the one client factory, retry configuration, call logging, and the one place
where botocore errors become user-facing errors.

boto3 and botocore are imported lazily so that `breakglass --help` stays fast.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, overload

from breakglass_aws.aws_calls import CallLog
from breakglass_aws.errors import (
    SEE_CALLS,
    AwsAccessError,
    AwsFailure,
    BreakglassError,
    ConfigError,
    UsageError,
)
from breakglass_aws.permissions import iam_action

if TYPE_CHECKING:
    from botocore.session import Session
    from mypy_boto3_cloudtrail import CloudTrailClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_organizations import OrganizationsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sts import STSClient

__all__ = ["ClientFactory", "Hook", "aws_errors", "is_cut_off", "translate_error"]

Hook = tuple[str, Callable[..., Any]]
ORGANIZATIONS_REGION = "us-east-1"
DEFAULT_REGION = "us-east-1"
EXTRA_RETRY_CODES = frozenset({"ConcurrentModificationException", "PolicyChangesInProgressException"})


@dataclass
class ClientFactory:
    """Builds (and caches) boto3 clients from one session. Injected everywhere; tests pass hooks."""

    profile: str | None = None
    region: str | None = None
    retry_mode: str = "standard"
    max_attempts: int = 5
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    hooks: Sequence[Hook] = ()
    botocore_session: Any = None  # share one across factories to reuse loaded service models
    control_plane_timeout: float = 4.0
    control_plane_attempts: int = 3
    _session: Session | None = field(default=None, init=False, repr=False)
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, init=False, repr=False)
    # botocore builds clients on one thread at a time: requests in flight together may need one
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)

    def session(self) -> Session:
        """A botocore session (boto3 is not needed: this saves a tenth of a second per start)."""
        with self._lock:
            return self._session_once()

    def _session_once(self) -> Session:
        if self._session is None:
            import botocore.session
            from botocore.exceptions import ProfileNotFound

            session = self.botocore_session or botocore.session.Session(profile=self.profile)
            try:
                session.get_scoped_config()
            except ProfileNotFound as err:
                raise ConfigError(
                    f"AWS profile {self.profile!r} not found", "list profiles with: aws configure list-profiles"
                ) from err
            _refuse_own_credential_process(session)
            self._session = session
        return self._session

    def region_name(self) -> str:
        configured = self.session().get_config_variable("region")
        return self.region or (str(configured) if configured else DEFAULT_REGION)

    def profile_region(self) -> str:
        """The profile's (or environment's) own region, ignoring --region: for resources pinned
        to one region whatever region the emergency work happens in (the shared store)."""
        configured = self.session().get_config_variable("region")
        return str(configured) if configured else DEFAULT_REGION

    @overload
    def client(self, service: Literal["cloudtrail"], region: str | None = None) -> CloudTrailClient: ...
    @overload
    def client(self, service: Literal["dynamodb"], region: str | None = None) -> DynamoDBClient: ...
    @overload
    def client(self, service: Literal["events"], region: str | None = None) -> EventBridgeClient: ...
    @overload
    def client(self, service: Literal["iam"], region: str | None = None) -> IAMClient: ...
    @overload
    def client(self, service: Literal["kms"], region: str | None = None) -> KMSClient: ...
    @overload
    def client(self, service: Literal["lambda"], region: str | None = None) -> LambdaClient: ...
    @overload
    def client(self, service: Literal["organizations"], region: str | None = None) -> OrganizationsClient: ...
    @overload
    def client(self, service: Literal["s3"], region: str | None = None) -> S3Client: ...
    @overload
    def client(self, service: Literal["scheduler"], region: str | None = None) -> EventBridgeSchedulerClient: ...
    @overload
    def client(self, service: Literal["secretsmanager"], region: str | None = None) -> SecretsManagerClient: ...
    @overload
    def client(self, service: Literal["sns"], region: str | None = None) -> SNSClient: ...
    @overload
    def client(self, service: Literal["sqs"], region: str | None = None) -> SQSClient: ...
    @overload
    def client(self, service: Literal["sts"], region: str | None = None) -> STSClient: ...
    def client(self, service: str, region: str | None = None) -> Any:
        """A cached client; the overloads above give each service its stub type (boto3-stubs)."""
        where = region or (ORGANIZATIONS_REGION if service == "organizations" else self.region_name())
        key = (service, where)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._build(service, where)
            return self._clients[key]

    def client_once(self, service: Literal["iam"], region: str | None = None) -> IAMClient:
        """A client that never retries: for calls that are not idempotent (CreateAccessKey), whose
        retry after a lost answer would repeat the effect. The caller reconciles instead."""
        where = region or self.region_name()
        key = (f"{service}#once", where)
        if key not in self._clients:
            config = self._config(service).merge(_no_retry_config())
            client = self.session().create_client(service, region_name=where, config=config)
            self._clients[key] = self._configure(client, service)
        once: IAMClient = self._clients[key]
        return once

    def client_failover(self, region: str) -> STSClient:
        """STS in `region` for a caller that has other regions to try: a timeout or a dropped
        connection is not retried here (the next region is the retry); throttling keeps its budget."""
        key = ("sts#failover", region)
        with self._lock:
            if key not in self._clients:
                session = self.session()
                session.set_config_variable("sts_regional_endpoints", "regional")
                client = session.create_client("sts", region_name=region, config=self._config("sts"))
                self._configure(client, "sts")
                client.meta.events.register_first("needs-retry.sts", _StopRetryingTimeouts(1))
                self._clients[key] = client
            failover: STSClient = self._clients[key]
        return failover

    def client_quick(self, service: Literal["iam"]) -> IAMClient:
        """One try with short timeouts: an optional read that must never hold up the emergency
        (its failure only means a check is left to AWS's own refusal)."""
        from botocore.config import Config

        key = (f"{service}#quick", self.region_name())
        if key not in self._clients:
            config = Config(
                retries={"mode": self.retry_mode, "total_max_attempts": 1},  # type: ignore[arg-type]
                connect_timeout=min(self.connect_timeout, self.control_plane_timeout, NOTIFY_TIMEOUT),
                read_timeout=min(self.read_timeout, self.control_plane_timeout, NOTIFY_TIMEOUT),
                user_agent_extra="breakglass-aws",
            )
            client = self.session().create_client(service, region_name=key[1], config=config)
            self._clients[key] = self._configure(client, service)
        quick: IAMClient = self._clients[key]
        return quick

    @overload
    def client_as(
        self, service: Literal["iam"], key_id: str, secret: str, token: str | None, region: str | None = None
    ) -> IAMClient: ...
    @overload
    def client_as(
        self, service: Literal["sts"], key_id: str, secret: str, token: str | None, region: str | None = None
    ) -> STSClient: ...
    def client_as(
        self,
        service: Literal["iam", "sts"],
        key_id: str,
        secret: str,
        token: str | None,
        region: str | None = None,
    ) -> Any:
        """A client acting with explicit temporary credentials (another account's role)."""
        client = self.session().create_client(
            service,
            region_name=region or self.region_name(),
            config=self._config(service),
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            aws_session_token=token,
        )
        return self._configure(client, service)

    def _config(self, service: str = "") -> Any:
        """Control-plane services fail fast (a short, bounded budget); the rest use the settings."""
        from botocore.config import Config

        if service in NOTIFY_SERVICES:  # a notification never holds up the emergency: one short try
            return Config(
                retries={"mode": self.retry_mode, "total_max_attempts": 1},  # type: ignore[arg-type]
                connect_timeout=min(self.connect_timeout, NOTIFY_TIMEOUT),
                read_timeout=min(self.read_timeout, NOTIFY_TIMEOUT),
                user_agent_extra="breakglass-aws",
            )
        fast = service in FAIL_FAST
        attempts = min(self.max_attempts, self.control_plane_attempts) if fast else self.max_attempts
        return Config(
            retries={"mode": self.retry_mode, "total_max_attempts": attempts},  # type: ignore[arg-type]
            connect_timeout=min(self.connect_timeout, self.control_plane_timeout) if fast else self.connect_timeout,
            read_timeout=min(self.read_timeout, 1.25 * self.control_plane_timeout) if fast else self.read_timeout,
            user_agent_extra="breakglass-aws",
        )

    def _configure(self, client: Any, service: str) -> Any:
        events = client.meta.events
        events.register("after-call-error", _tag_error(service, client.meta.region_name))
        events.register("after-call", _tag_error_answer(service, client.meta.region_name))
        if service == "dynamodb":
            events.register("before-parameter-build.dynamodb", _remember_table)
        events.register_first(f"needs-retry.{service}", _RetryExtraCodes(self.max_attempts))
        if service in FAIL_FAST:
            events.register_first(f"needs-retry.{service}", _stop_retrying_timeouts)
        CallLog(client.meta.region_name).register(events)  # -v and -vv
        for event_name, handler in self.hooks:
            events.register_first(event_name, handler)
        return client

    def _build(self, service: str, region: str) -> Any:
        session = self.session()
        if service == "sts":
            session.set_config_variable("sts_regional_endpoints", "regional")
        client = session.create_client(service, region_name=region, config=self._config(service))
        return self._configure(client, service)


def _refuse_own_credential_process(session: Session) -> None:
    """A profile (or a source_profile it chains to) whose credential_process runs breakglass
    without --profile would start breakglass again for every credential lookup: refused
    before any call. Credentials in the environment come first in the chain: then it is not used."""
    import os
    import shlex
    from pathlib import PurePath

    if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        return
    profiles: dict[str, dict[str, Any]] = session.full_config.get("profiles", {})
    name: str | None = session.profile or "default"
    seen: set[str] = set()
    while name and name not in seen:
        seen.add(name)
        config = profiles.get(name, {})
        command = str(config.get("credential_process", ""))
        try:
            words = shlex.split(command)
        except ValueError:
            words = command.split()
        runs_breakglass = any("breakglass" in PurePath(word).name for word in words[:3])
        if runs_breakglass and "--profile" not in words:
            raise ConfigError(
                f"AWS profile {name!r} gets its credentials by running breakglass (credential_process), "
                "and breakglass would use that profile too: it would start itself again and again",
                f"run breakglass with --profile BASE (a profile with credentials of its own), or add "
                f"--profile BASE to the credential_process of {name!r}",
            )
        name = config.get("source_profile")


def _no_retry_config() -> Any:
    from botocore.config import Config

    return Config(retries={"mode": "standard", "total_max_attempts": 1})


CONTROL_PLANE = frozenset({"organizations", "iam"})
FAIL_FAST = CONTROL_PLANE | {"dynamodb", "sts"}  # an outage is better reported quickly: the hint names a way around it
NOTIFY_SERVICES = frozenset({"sns"})
NOTIFY_TIMEOUT = 2.0
SERVICE_NAMES = {"organizations": "Organizations", "iam": "IAM", "sts": "STS", "dynamodb": "DynamoDB"}


def _tag_error(service: str, region: str) -> Callable[..., None]:
    """Remember which service and region an error came from, for an honest message."""

    def tag(exception: BaseException | None = None, context: Any = None, **_: Any) -> None:
        if exception is not None:
            exception.breakglass_where = (service, region)  # type: ignore[attr-defined]
            if isinstance(context, dict) and context.get("breakglass_table"):
                exception.breakglass_table = context["breakglass_table"]  # type: ignore[attr-defined]

    return tag


def _tag_error_answer(service: str, region: str) -> Callable[..., None]:
    """The same for an error answer (a ClientError): noted in the parsed answer it is built from."""

    def tag(parsed: Any = None, context: Any = None, **_: Any) -> None:
        if isinstance(parsed, dict) and "Error" in parsed:
            table = context.get("breakglass_table") if isinstance(context, dict) else None
            parsed[WHERE_KEY] = {"service": service, "region": region, "table": table, "bucket": _bucket(context)}

    return tag


WHERE_KEY = "BreakglassWhere"


def _bucket(context: Any) -> str | None:
    """The bucket an S3 call is about (botocore notes it in the request context)."""
    noted = context.get("s3_redirect") if isinstance(context, dict) else None
    bucket = noted.get("bucket") if isinstance(noted, dict) else None
    return str(bucket) if bucket else None


def _where(err: Any) -> tuple[str, str, str | None] | None:
    response = getattr(err, "response", None)
    noted = response.get(WHERE_KEY) if isinstance(response, dict) else None
    if isinstance(noted, dict):
        return str(noted["service"]), str(noted["region"]), noted.get("table")
    where = getattr(err, "breakglass_where", None)
    return (where[0], where[1], getattr(err, "breakglass_table", None)) if where else None


def _remember_table(params: Any = None, context: Any = None, **_: Any) -> None:
    """Which table a DynamoDB call is about, so that a missing table is named in the error."""
    if not isinstance(params, dict) or not isinstance(context, dict):
        return
    table = params.get("TableName")
    for item in params.get("TransactItems") or []:
        for action in item.values() if isinstance(item, dict) else []:
            table = table or (action.get("TableName") if isinstance(action, dict) else None)
    if table:
        context["breakglass_table"] = str(table)


def _missing_table(err: Any) -> BreakglassError | None:
    """A shared store whose table does not exist (in that region) is a configuration error:
    rerunning cannot help."""
    where = _where(err)
    if not where or where[0] != "dynamodb":
        return None
    table = where[2] or "?"
    return ConfigError(
        f"the shared incident store table {table!r} does not exist in {where[1]} (or is not visible to you)",
        "check store = dynamodb://TABLE?region=REGION (or store_region) in the config; "
        "--region does not move the store; create it with the Terraform module",
    )


def _outage(err: BaseException, detail: str) -> BreakglassError | None:
    noted = _where(err)
    where = noted[:2] if noted else None
    if not where and getattr(err, "operation_name", None):  # an HTTP error answer: known by its operation
        service = iam_action(str(getattr(err, "operation_name", ""))).split(":", 1)[0]
        where = (
            (service, "us-east-1" if service in CONTROL_PLANE else "its region") if service in SERVICE_NAMES else None
        )
    if not where:
        return None
    service, region = where
    name = SERVICE_NAMES.get(service, service)
    if service in CONTROL_PLANE:
        return AwsFailure(
            f"{name} ({service} control plane, {region}) is unavailable: {detail}; nothing more was changed",
            "the role path still works (breakglass role assume --account ID --reason ...); "
            "rerun this command when the service is back: it resumes from the journal",
            fix="wait for the service to be back; the role path still works (breakglass role assume ...)",
            resumable=True,
        )
    if service == "dynamodb":
        return AwsFailure(
            f"the shared incident store ({name}, {region}) is unavailable: {detail}",
            "in an emergency add --offline-store (a local journal), then run `breakglass sync` later",
        )
    if service == "sts":
        return AwsFailure(
            f"STS in {region} is unavailable: {detail}; nothing was changed",
            "use another region's STS endpoint: add --region (e.g. --region us-west-2); "
            "role assume tries the sts_regions by itself",
            fix="pass --region with a region whose STS answers",
        )
    return AwsFailure(f"{name} in {region} is unavailable: {detail}", f"retry shortly; {SEE_CALLS}")


TIMEOUT_ATTEMPTS = 2  # a hung endpoint: one more try, then the outage message (throttling keeps its budget)


class _StopRetryingTimeouts:
    """Fail-fast services: a timeout or a refused connection is tried `limit` times (default
    TIMEOUT_ATTEMPTS), not control_plane_attempts times: at the defaults a hung control plane is
    reported within ~12 s."""

    def __init__(self, limit: int = TIMEOUT_ATTEMPTS) -> None:
        self.limit = limit

    def __call__(self, caught_exception: BaseException | None = None, attempts: int = 1, **_: Any) -> None:
        if caught_exception is not None and attempts >= self.limit and is_cut_off(caught_exception):
            raise caught_exception


def is_cut_off(err: BaseException | None) -> bool:
    """A timeout, a refused or dropped connection: the endpoint did not answer."""
    from botocore.exceptions import ConnectionClosedError, ReadTimeoutError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    return isinstance(err, BotoConnectionError | ReadTimeoutError | ConnectionClosedError)


_stop_retrying_timeouts = _StopRetryingTimeouts()


class _RetryExtraCodes:
    """Adds ConcurrentModificationException and PolicyChangesInProgressException to botocore's
    own retry loop (standard mode only retries throttling and transient codes)."""

    def __init__(self, max_attempts: int) -> None:
        self.max_attempts = max_attempts

    def __call__(self, response: Any = None, attempts: int = 1, **_: Any) -> float | None:
        if response is None or attempts >= self.max_attempts:
            return None
        code = response[1].get("Error", {}).get("Code") if isinstance(response[1], dict) else None
        if code not in EXTRA_RETRY_CODES:
            return None
        return float(min(20.0, random.random() * 2 ** (attempts - 1)))  # noqa: S311 - jitter


_ACCESS_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
_CREDENTIAL_CODES = {
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "InvalidSignatureException",
}
_CLOCK_CODES = {"RequestTimeTooSkewed", "RequestExpired"}
_NOT_FOUND_CODES = {
    "TargetNotFoundException",
    "AccountNotFoundException",
    "OrganizationalUnitNotFoundException",
    "RootNotFoundException",
    "ParentNotFoundException",
    "PolicyNotFoundException",
    "ChildNotFoundException",
    "NoSuchEntity",
}
_THROTTLE_CODES = {
    "TooManyRequestsException",
    "Throttling",
    "ThrottlingException",
    "ConcurrentModificationException",
    "PolicyChangesInProgressException",
}


def translate_error(err: BaseException) -> BreakglassError:
    """Turn any botocore error into the tool's error with an exit code and remediation."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        CredentialRetrievalError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ProfileNotFound,
        ReadTimeoutError,
    )

    if isinstance(err, BreakglassError):
        return err
    if isinstance(err, ClientError):
        return _translate_client_error(err)
    if isinstance(err, NoCredentialsError | PartialCredentialsError):
        return AwsAccessError(
            "no AWS credentials found", "set AWS_PROFILE / --profile, or export the break-glass credentials"
        )
    if isinstance(err, CredentialRetrievalError):
        detail = " ".join(str(err).split())[:400]
        return ConfigError(
            f"the profile's credential_process failed: {detail}",
            "run that command by hand to see why; or use --profile with another profile",
        )
    if isinstance(err, ProfileNotFound):
        return ConfigError(f"AWS profile not found: {err}", "list profiles with: aws configure list-profiles")
    if isinstance(err, NoRegionError):
        return ConfigError("no AWS region configured", "pass --region or set region in the config file")
    if isinstance(err, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError | ConnectionClosedError):
        return _outage(err, type(err).__name__) or AwsFailure(
            f"cannot reach AWS: {err}", "check network access and AWS_ENDPOINT_URL; retry"
        )
    if isinstance(err, BotoCoreError) or type(err).__module__.startswith("botocore"):
        return _outage(err, type(err).__name__) or AwsFailure(
            f"AWS client error: {type(err).__name__}: {err}", f"retry; {SEE_CALLS}"
        )
    return BreakglassError(f"unexpected error: {type(err).__name__}", "this is a bug; please report it")


@dataclass
class _Answer:
    """What an error answer says: its code and message, the IAM action, the HTTP status, retries."""

    err: Any
    code: str
    message: str
    action: str
    status: int
    attempts: int


def _answer_of(err: Any) -> _Answer:
    error = err.response.get("Error", {})
    meta = err.response.get("ResponseMetadata", {})
    operation = str(getattr(err, "operation_name", "") or "")
    action = iam_action(operation)
    where = _where(err)
    if ":" not in action and where:  # an operation not in OPERATION_ACTIONS: its service's prefix
        action = f"{where[0]}:{operation}"
    return _Answer(
        err,
        str(error.get("Code", "Unknown")),
        str(error.get("Message", "")).strip(),
        action,
        int(meta.get("HTTPStatusCode") or 0),
        int(meta.get("RetryAttempts", 0) or 0) + 1,
    )


def _translate_client_error(err: Any) -> BreakglassError:
    answer = _answer_of(err)
    for read in (_server_error, _who_you_are, _not_there, _refused):
        found = read(answer)
        if found is not None:
            return found
    return AwsFailure(
        f"{answer.action} failed: {answer.code}: {answer.message}",
        "rerun the same command; it resumes where it stopped",
        resumable=True,
    )


def _server_error(a: _Answer) -> BreakglassError | None:
    """HTTP 5xx from a known service: its outage message (a rerun when it is back finishes)."""
    if a.status < 500:
        return None
    shown = f" {a.code}" if a.code and a.code != str(a.status) else ""
    return _outage(a.err, f"HTTP {a.status}{shown} after {a.attempts} attempt(s)")


def _who_you_are(a: _Answer) -> BreakglassError | None:
    """Credentials, the clock, an access denial (any 403): exit 6, never a rerun as such."""
    if a.code in _CREDENTIAL_CODES:
        return AwsAccessError(
            f"AWS credentials are invalid or expired ({a.code})",
            "refresh the credentials (aws sso login, or the vault) and retry",
        )
    if a.code in _CLOCK_CODES:
        return AwsAccessError(
            f"AWS refused the request's signature time ({a.code}): this computer's clock is off",
            "set the clock right (e.g. enable NTP), then run the command again",
        )
    if a.code in _ACCESS_CODES or a.status == 403:
        return _access_denied(a.action, a.message, _noted_bucket(a.err))
    if a.code == "AWSOrganizationsNotInUseException":
        return ConfigError(
            "these credentials are not in an AWS organization",
            "use credentials of the organization's management account",
        )
    return None


def _not_there(a: _Answer) -> BreakglassError | None:
    if a.code == "ResourceNotFoundException":
        return _missing_table(a.err)
    if a.code in _NOT_FOUND_CODES:
        where = (
            "check the name and account"
            if a.code == "NoSuchEntity"
            else "check the id: aws organizations list-accounts"
        )
        return UsageError(f"{a.message or a.code}", where)
    return None


def _refused(a: _Answer) -> BreakglassError | None:
    """Throttling (a rerun after a wait finishes); any other 4xx: the same request gets the same
    answer, so the hint is what to fix, not a rerun."""
    if a.code in _THROTTLE_CODES:
        return AwsFailure(
            f"{a.action} still failing with {a.code} after {a.attempts} attempts",
            "wait a minute and rerun the same command; it resumes where it stopped",
            fix="wait a minute",
            resumable=True,
        )
    if a.code == "RegionDisabledException":
        where = _where(a.err)
        return AwsFailure(
            f"{a.action} refused: STS is not activated in {where[1] if where else 'this region'} for this account",
            fix="pass --region with a region whose STS is activated (role assume tries the sts_regions), "
            "or activate it: IAM > Account settings > Security Token Service (STS)",
        )
    if 400 <= a.status < 500:
        return AwsFailure(
            f"{a.action} failed: {a.code}: {a.message}",
            fix=f"AWS refused the request ({a.code}, HTTP {a.status}): fix what its message names",
        )
    return None


def _noted_bucket(err: Any) -> str | None:
    response = getattr(err, "response", None)
    noted = response.get(WHERE_KEY) if isinstance(response, dict) else None
    bucket = noted.get("bucket") if isinstance(noted, dict) else None
    return str(bucket) if bucket else None


_POLICY_KINDS = (
    ("service control policy", "a service control policy (SCP)"),
    ("resource control policy", "a resource control policy (RCP)"),
    ("resource-based policy", "the resource's own policy"),
    ("permissions boundary", "the identity's permissions boundary"),
    ("session policy", "the session policy"),
    ("identity-based policy", "the identity's IAM policies"),
    ("vpc endpoint policy", "the VPC endpoint policy"),
)


def _access_denied(action: str, message: str, bucket: str | None = None) -> AwsAccessError:
    """Exit 6, naming the IAM action refused and the policy to change (from AWS's message when it
    says which kind denied it). A rerun cannot help until a policy changes: no rerun advice."""
    on = f" on s3://{bucket}" if bucket else ""
    said = message.lower()
    kind = next((name for phrase, name in _POLICY_KINDS if phrase in said), None)
    if kind is None and bucket:
        fix = (
            f"grant {action} to the identity running breakglass, and allow it in the bucket policy of {bucket}: "
            "a Deny there refuses every identity"
        )
    elif kind is None:
        fix = f"grant {action} to the identity running breakglass"
    elif "explicit deny" in said:
        fix = f"{kind} denies {action} explicitly: exempt the identity running breakglass from that Deny"
    else:
        fix = f"allow {action} for the identity running breakglass in {kind}"
    return AwsAccessError(f"access denied calling {action}{on}", fix)


@contextmanager
def aws_errors() -> Iterator[None]:
    """Translate botocore errors raised inside the block; let the tool's own errors through."""
    try:
        yield
    except BreakglassError:
        raise
    except Exception as err:
        if type(err).__module__.startswith(("botocore", "boto3")):
            raise translate_error(err) from err
        raise
