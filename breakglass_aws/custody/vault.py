"""Where the shares go: one Secrets Manager secret per custodian (created when missing), and, when
asked, a file per custodian in a folder for an offline safe. Only encrypted shares are written."""

from __future__ import annotations

import base64
import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from breakglass_aws.custody.policy import share_secret_id
from breakglass_aws.errors import GuardRailError
from breakglass_aws.parallel import together

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = ["StoredShare", "read_share", "share_file", "write_share", "write_share_file"]


@dataclass(frozen=True)
class StoredShare:
    user: str
    rotation_id: str
    custodian: str
    encrypted: bytes = field(repr=False)


def _value(share: StoredShare) -> str:
    return json.dumps(
        {
            "user": share.user,
            "rotation_id": share.rotation_id,
            "custodian": share.custodian,
            "age": base64.b64encode(share.encrypted).decode(),
        }
    )


def write_share(sm: SecretsManagerClient, base: str, share: StoredShare) -> None:
    secret_id = share_secret_id(base, share.custodian)
    try:
        sm.put_secret_value(SecretId=secret_id, SecretString=_value(share))
    except sm.exceptions.ResourceNotFoundException:
        sm.create_secret(
            Name=secret_id,
            SecretString=_value(share),
            Description=f"break-glass custody: {share.custodian}'s share of {share.user}'s credentials",
            Tags=[{"Key": "breakglass:custodian", "Value": share.custodian}],
        )


def write_shares(sm: SecretsManagerClient, base: str, shares: list[StoredShare]) -> None:
    together([functools.partial(write_share, sm, base, share) for share in shares])


def share_file(folder: Path, share: StoredShare) -> Path:
    incident = share.rotation_id.split(":", 1)[0]
    return folder / f"{share.user}.{share.custodian}.{incident}.age"


def write_share_file(folder: Path, share: StoredShare) -> Path:
    """The age file (`age -d -i KEY FILE` prints the share), 0600, never overwritten by another."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = share_file(folder, share)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(share.encrypted)
    return path


def read_share(sm: SecretsManagerClient, base: str, custodian: str) -> StoredShare:
    secret_id = share_secret_id(base, custodian)
    try:
        value = sm.get_secret_value(SecretId=secret_id)["SecretString"]
    except sm.exceptions.ResourceNotFoundException:
        raise GuardRailError(
            f"no share of {custodian} in {secret_id}", "the rotation did not finish: rerun breakglass rotate"
        ) from None
    try:
        body = json.loads(value)
        return StoredShare(body["user"], body["rotation_id"], body["custodian"], base64.b64decode(body["age"]))
    except (ValueError, KeyError, TypeError) as err:
        raise GuardRailError(f"the share in {secret_id} is unreadable", "rotate to write new shares") from err
