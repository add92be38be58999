"""Custody inside the incident model: a custodian reveals their share; k custodians open the glass.
Opening is an incident of its own (a rotation of the user, left active): journaled and notified
with who supplied shares (never a share), and finished by `breakglass rotate --user NAME` after use."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from breakglass_aws.aws import aws_errors
from breakglass_aws.custody import (
    Credentials,
    CustodyDocument,
    ShareBlob,
    StoredShare,
    custody_of,
    custody_policy,
    open_credentials,
    read_share,
    reveal_share,
)
from breakglass_aws.custody.age import parse_identity
from breakglass_aws.errors import ConfigError, GuardRailError
from breakglass_aws.incident.notice import notify
from breakglass_aws.incident.records import open_record
from breakglass_aws.journal.base import TargetLocked
from breakglass_aws.models import Incident, IncidentStatus, Mode, Requester, new_incident_id
from breakglass_aws.runtime import Runtime

__all__ = ["Opened", "open_glass", "read_custody", "reveal"]


@dataclass(frozen=True)
class Opened:
    credentials: Credentials
    incident_id: str
    arn: str | None  # what GetCallerIdentity answered with the opened key (None: not checked)


def read_custody(rt: Runtime, user: str) -> CustodyDocument:
    """The custody document of the user's main secret (ciphertext and public metadata)."""
    secret_id = rt.rotation.secret_for(user)
    sm = rt.factory.client("secretsmanager")
    with aws_errors():
        value = sm.get_secret_value(SecretId=secret_id).get("SecretString") or "{}"
    try:
        stored: Any = json.loads(value)
    except json.JSONDecodeError:
        stored = {}
    doc = custody_of(stored) if isinstance(stored, dict) else None
    if doc is None:
        raise ConfigError(
            f"{secret_id} holds no custody document",
            "configure custody_threshold and custodians, then rotate: breakglass rotate --user " + user,
        )
    return doc


def reveal(rt: Runtime, user: str, identity_text: str, share_file: Path | None = None) -> ShareBlob:
    """A custodian's share of the current rotation, decrypted with their identity (in memory)."""
    identity, recipient = parse_identity(identity_text)
    policy = custody_policy(rt.rotation.custody_threshold, rt.rotation.custodians)
    custodian = policy.by_recipient(recipient) if policy else None
    if custodian is None:
        raise GuardRailError("this identity is not a configured custodian's", "check the custodians setting")
    doc = read_custody(rt, user)
    if share_file is not None:
        stored = StoredShare(user, "", custodian.name, share_file.read_bytes())  # its content names the rotation
    else:
        with aws_errors():
            stored = read_share(rt.factory.client("secretsmanager"), rt.rotation.secret_for(user), custodian.name)
    return reveal_share(doc, stored, identity)


def open_glass(rt: Runtime, requester: Requester, user: str, texts: list[str], reason: str, check: bool) -> Opened:
    """Recombine k shares in memory and decrypt; the opening is journaled and notified before the
    credentials are handed out. `check`: prove the key works (GetCallerIdentity with it)."""
    doc = read_custody(rt, user)
    credentials = open_credentials(doc, texts)
    incident_id = _record(rt, requester, doc, credentials, reason)
    arn = _identity(rt, credentials) if check else None
    return Opened(credentials, incident_id, arn)


def _identity(rt: Runtime, credentials: Credentials) -> str:
    sts = rt.factory.client_as("sts", credentials.access_key_id, credentials.secret_access_key, None)
    with aws_errors():
        return str(sts.get_caller_identity()["Arn"])


def _record(rt: Runtime, requester: Requester, doc: CustodyDocument, opened: Credentials, reason: str) -> str:
    supplied = list(opened.custodians)
    entry = {
        "rotation_id": doc.rotation_id,
        "custodians": supplied,
        "fingerprints": {name: doc.custodians[name].fingerprint for name in supplied},
        "access_key_id": opened.access_key_id,
    }
    now = rt.clock()
    incident = Incident(
        incident_id=new_incident_id(now),
        mode=Mode.ROTATE,
        status=IncidentStatus.ACTIVE,
        requester=requester,
        reason=f"custody open ({', '.join(supplied)}): {reason}",
        targets=[f"user/{doc.user}"],
        created_at=now,
        expires_at=now,
    )
    try:
        open_record(rt, incident, extra=[("custody-open", entry)])
    except TargetLocked as held:  # an unfinished rotation of the user: the opening joins its journal
        rt.store.append(held.holder, "custody-open", entry)
        incident = rt.store.get_incident(held.holder)
    detail = f"{doc.user}'s credentials opened with the shares of {', '.join(supplied)}; rotate after use"
    notify(rt, incident, "custody-opened", detail)
    return incident.incident_id
