"""The testing kit, for whoever tests their own automation against moto: a moto server on
127.0.0.1 whose CloudTrail answers LookupEvents from seeded events and which stands in for
centralized root access (AssumeRoot), with a seeded organization; started, and stopped, by PID.

The pytest plugin (`breakglass_sandbox`), `breakglass sandbox serve` and the project's own tests
all start it through `start_sandbox`. It needs moto's server: pip install 'moto[server]'.
Nothing here is imported by the tool itself.
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from importlib.util import find_spec
from pathlib import Path
from types import TracebackType
from typing import Any

from breakglass_aws.errors import AwsFailure, ConfigError, UsageError
from breakglass_aws.testing import LOOPBACK, REGION, MotoServer, endpoint_variables, env_for, free_port

__all__ = ["OrgIds", "Sandbox", "seed_organization", "start_sandbox"]


@dataclass(frozen=True)
class OrgIds:
    """The seeded organization: root -> OU `workloads` -> one member account."""

    organization: str
    root: str
    ou: str
    account: str  # the member account, in the OU
    management: str  # the management account: the fake credentials' own


def seed_organization(client: Any) -> OrgIds:
    """Create the organization, its OU and a member account through an Organizations client."""
    client.create_organization(FeatureSet="ALL")
    org = client.describe_organization()["Organization"]
    root = client.list_roots()["Roots"][0]["Id"]
    ou = client.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
    created = client.create_account(Email="workload@example.com", AccountName="workload")["CreateAccountStatus"]
    client.move_account(AccountId=created["AccountId"], SourceParentId=root, DestinationParentId=ou)
    return OrgIds(org["Id"], root, ou, created["AccountId"], org["MasterAccountId"])


def _record(event: Mapping[str, Any], region: str) -> dict[str, Any]:
    """One line of the seed file: LookupEvents' shape, with an id, a time and a region by default."""
    record = {"EventId": str(uuid.uuid4()), "EventTime": time.time(), "region": region, **event}
    if isinstance(record["EventTime"], datetime):
        record["EventTime"] = record["EventTime"].timestamp()
    if isinstance(record.get("CloudTrailEvent"), Mapping):
        record["CloudTrailEvent"] = json.dumps(record["CloudTrailEvent"])
    return record


@dataclass
class Sandbox:
    """A running kit: its endpoint, the variables to use it, the organization's ids, the seed file."""

    server: MotoServer
    seed_file: Path
    org: OrgIds | None
    with_org: bool = True
    region: str = REGION
    _scratch: Path | None = field(default=None, repr=False)  # the kit's own folder (its seed file)

    @property
    def endpoint_url(self) -> str:
        return self.server.url

    @property
    def pid(self) -> int | None:
        return self.server.pid

    @property
    def env(self) -> dict[str, str]:
        """AWS_ENDPOINT_URL, fake credentials and the region: what to export for any SDK or CLI."""
        return endpoint_variables(self.endpoint_url, self.region)

    def environ(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """A whole environment for a subprocess: `base` (default: this process's) pointed at the
        sandbox, without what would point a client elsewhere (AWS_PROFILE, AWS_ENDPOINT_URL_*...)."""
        return env_for(self.endpoint_url, base, self.region)

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client of the sandbox, whatever the environment says (AWS_PROFILE included)."""
        import boto3
        import botocore.session

        env = self.env
        session = botocore.session.Session(session_vars={"profile": (None, None, None, None)})  # no profile
        return boto3.session.Session(botocore_session=session).client(
            service,  # type: ignore[call-overload]
            region_name=region or self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )

    def seed_events(self, events: Iterable[Mapping[str, Any]], region: str | None = None) -> None:
        """Add CloudTrail events (LookupEvents' shape: EventName, Username, EventSource, EventTime,
        AccessKeyId, Resources, CloudTrailEvent...) that LookupEvents answers in `region`; EventId,
        EventTime (now) and the region are filled in when absent. The server re-reads the file on
        every request: they are seen at once."""
        lines = "".join(json.dumps(_record(e, region or self.region), default=str) + "\n" for e in events)
        with self.seed_file.open("a") as out:
            out.write(lines)

    def clear_events(self) -> None:
        self.seed_file.write_text("")

    def reset(self) -> None:
        """Wipe moto's state, and the seeded events if the kit made the seed file; then seed the
        organization again (new ids, in `org`)."""
        self.server.reset()
        if self._scratch is not None:
            self.clear_events()
        self.org = seed_organization(self.client("organizations")) if self.with_org else None

    def wait(self, stop: threading.Event, poll: float = 0.5) -> None:
        """Serve until `stop` is set; a server that ends by itself is an error."""
        while not stop.wait(poll):
            if not self.server.running():
                code = self.server.process.poll() if self.server.process is not None else None
                raise AwsFailure(f"the moto server (pid {self.pid}) ended by itself (exit {code})", "start it again")

    def describe(self) -> dict[str, Any]:
        return {
            "endpoint_url": self.endpoint_url,
            "pid": self.pid,
            "env": self.env,
            "seed_file": str(self.seed_file),
            "org": asdict(self.org) if self.org else None,
        }

    def stop(self) -> None:
        """Stop the server by its PID and remove the kit's own folder."""
        self.server.stop()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def _check(port: int | None, seed: Path | None) -> None:
    if find_spec("moto") is None or find_spec("flask") is None:
        raise ConfigError("the sandbox needs moto's server", "pip install 'moto[server]>=5'")
    if port is not None:
        if not 1 <= port <= 65535:
            raise UsageError(f"--port must be 1 to 65535, got {port}", "leave --port out for a free one")
        with socket.socket() as sock:
            try:
                sock.bind((LOOPBACK, port))
            except OSError:
                raise UsageError(
                    f"port {port} on {LOOPBACK} is in use", "choose another --port, or leave it out for a free one"
                ) from None
    if seed is not None and (seed.is_dir() or not seed.parent.is_dir()):
        raise UsageError(f"--seed {seed} is not a file in an existing folder", "pass a JSON-lines file of events")


def start_sandbox(
    port: int | None = None,
    seed: Path | str | None = None,
    org: bool = True,
    environment: Mapping[str, str] | None = None,
) -> Sandbox:
    """Start the kit: a moto server on 127.0.0.1:`port` (a free one by default) answering
    LookupEvents from `seed` (a JSON-lines file, one event with its "region" a line; by default a
    new empty file of the kit's own), with the root-task stand-ins, and with `org` a seeded
    organization. `environment`: extra variables for the server process (e.g.
    MOTO_IAM_LOAD_MANAGED_POLICIES=true)."""
    seed_path = Path(seed) if seed is not None else None
    _check(port, seed_path)
    scratch = None
    if seed_path is None:
        scratch = Path(tempfile.mkdtemp(prefix="breakglass-sandbox-"))  # 0700, never a fixed path
        seed_path = scratch / "cloudtrail.jsonl"
        seed_path.write_text("")
    server = MotoServer(port=port or free_port(), cloudtrail_seed=str(seed_path), environment=dict(environment or {}))
    sandbox = Sandbox(server, seed_path, None, org, _scratch=scratch)
    try:
        server.start()
        if org:
            sandbox.org = seed_organization(sandbox.client("organizations"))
    except RuntimeError as err:
        sandbox.stop()
        raise ConfigError(
            f"the sandbox did not start: {err}", "run `python -m moto.server --help` to check moto"
        ) from err
    except BaseException:
        sandbox.stop()
        raise
    return sandbox
