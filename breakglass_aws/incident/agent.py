"""The incident's side of the credentials agent (role/agent.py): a `role assume` first asks the
agent of its (role, requester's credentials) for the open incident's credentials; only without
one, or near their expiry, does it open an incident, and then it starts the agent for it. The
close stops the agents of the incident it closes and journals how many consumers each served."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from breakglass_aws.errors import BreakglassError
from breakglass_aws.models import Incident, IncidentStatus
from breakglass_aws.role.agent import AgentUnavailable, agent_dir, ask, held, socket_for, start, stop_incident
from breakglass_aws.role.assume import Credentials
from breakglass_aws.runtime import Runtime

__all__ = ["Agent", "stop_agents"]


class Agent:
    """The agent slot of one (role, requester's credentials)."""

    def __init__(self, rt: Runtime, path: Path, role_arn: str) -> None:
        self.rt, self.path, self.role_arn = rt, path, role_arn

    @classmethod
    def find(cls, rt: Runtime, role_arn: str) -> Agent | None:
        """The slot, or None where no agent can be used (said once on stderr)."""
        try:
            folder = agent_dir()
        except AgentUnavailable as err:
            rt.progress(f"note: no credentials agent ({err}); each run opens its own incident")
            return None
        identity = _identity(rt)
        return cls(rt, socket_for(folder, role_arn, identity), role_arn) if identity else None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with held(self.path):
            yield

    def reuse(self) -> tuple[Incident, Credentials] | None:
        """The open incident's credentials, if its agent runs, they are not near their expiry and
        the incident is still active; else None (a stale agent is stopped)."""
        answer = ask(self.path, {"op": "get"})
        if answer is None or answer.get("role_arn") != self.role_arn:
            return None
        incident_id = str(answer.get("incident_id", ""))
        creds = _credentials(answer.get("credentials"))
        if creds is None:
            return None
        left = creds.expiration - self.rt.clock()
        if left <= self.rt.role.agent_refresh:
            self.rt.progress(
                f"the credentials of {incident_id} expire in {max(int(left.total_seconds()), 0)}s: "
                "opening the next incident (the expiring one is closed at its expiry)"
            )
            ask(self.path, {"op": "stop"})
            return None
        incident = self._still_active(incident_id)
        return (incident, creds) if incident is not None else None

    def _still_active(self, incident_id: str) -> Incident | None:
        try:
            incident = self.rt.store.get_incident(incident_id)
        except BreakglassError as err:
            raise BreakglassError(
                f"the credentials agent serves {incident_id}, but the store cannot be read to check it is "
                f"still open ({err.message})",
                f"retry when the store answers, or use: breakglass exec {incident_id} -- COMMAND",
            ) from err
        if incident.status is not IncidentStatus.ACTIVE:
            ask(self.path, {"op": "stop"})
            return None
        return incident

    def start(self, incident: Incident, creds: Credentials) -> None:
        """Start the agent for a newly opened incident (a failure is said, never raised)."""
        served: dict[str, Any] = {
            "incident_id": incident.incident_id,
            "role_arn": self.role_arn,
            "expires_at": creds.expiration.isoformat(),
            "expires_epoch": creds.expiration.timestamp(),
            "credentials": {
                "AccessKeyId": creds.access_key_id,
                "SecretAccessKey": creds.secret_access_key.get_secret_value(),
                "SessionToken": creds.session_token.get_secret_value(),
                "Expiration": creds.expiration.isoformat(),
            },
        }
        ask(self.path, {"op": "stop"})  # one agent per slot: a replaced incident's stops
        try:
            pid = start(self.path, served)
        except (AgentUnavailable, OSError) as err:
            self.rt.progress(f"note: the credentials agent did not start ({err}); later runs open new incidents")
            return
        with contextlib.suppress(BreakglassError):
            self.rt.store.append(
                incident.incident_id,
                "agent-started",
                {"pid": pid, "socket": str(self.path), "until": creds.expiration.isoformat()},
            )
        self.rt.progress(
            f"credentials agent (pid {pid}) serves {incident.incident_id} to later runs of this role "
            f"until {creds.expiration.isoformat(timespec='seconds')}; `breakglass close` stops it"
        )


def _identity(rt: Runtime) -> str | None:
    """Who asks, without a network call: the access key id of the credentials in use."""
    try:
        found = rt.factory.session().get_credentials()
    except BreakglassError:
        raise
    except Exception:  # no usable credentials: whoami says it properly right after
        return None
    return str(found.access_key) if found is not None and found.access_key else None


def _credentials(data: Any) -> Credentials | None:
    if not isinstance(data, dict):
        return None
    try:
        return Credentials(
            access_key_id=str(data["AccessKeyId"]),
            secret_access_key=SecretStr(str(data["SecretAccessKey"])),
            session_token=SecretStr(str(data["SessionToken"])),
            expiration=datetime.fromisoformat(str(data["Expiration"])),
        )
    except (KeyError, ValueError):
        return None


def stop_agents(rt: Runtime, incident_id: str) -> int:
    """Stop this user's agents serving `incident_id` (a close does); journaled when any ran."""
    stopped = stop_incident(incident_id)
    if stopped:
        with contextlib.suppress(BreakglassError):
            rt.store.append(incident_id, "agent-stopped", {"agents": stopped})
    return stopped
