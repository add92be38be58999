"""Anchors of the journal outside the writer's reach: each lifecycle event's journal head (its
sequence and hash) is written as a small object under S3 Object Lock, and, with a signing key,
the head at close and every evidence manifest are signed with KMS (ECDSA P-256 over a RAW
message). Whoever can rewrite the local store or the table cannot rewrite a locked object, nor
sign without the key: `journal verify` and `evidence verify` hold the journal against them.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from breakglass_aws.aws import ClientFactory
from breakglass_aws.models import LockMode

__all__ = [
    "Anchor",
    "AnchorStore",
    "KmsSigner",
    "Signature",
    "head_message",
    "manifest_message",
    "verify_signature",
]

ANCHOR_FORMAT = "breakglass-anchor/1"
ALGORITHM: Literal["ECDSA_SHA_256"] = "ECDSA_SHA_256"
ANCHORS = "anchors"


class Signature(BaseModel):
    """A KMS signature of `message` (the exact text signed, RAW), base64 DER."""

    model_config = ConfigDict(extra="forbid")
    key_id: str
    algorithm: Literal["ECDSA_SHA_256"] = ALGORITHM
    message: str
    signature: str


class Anchor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: str = ANCHOR_FORMAT
    incident_id: str
    seq: int
    hash: str
    event: str
    at: str
    signature: Signature | None = None


def head_message(incident_id: str, seq: int, digest: str) -> str:
    """What is signed for a journal head: the incident, the entry and its hash."""
    return f"breakglass-journal-head/1 {incident_id} {seq} {digest}"


def manifest_message(incident_id: str, manifest_sha256: str) -> str:
    """What is signed for an evidence bundle: the incident and the SHA-256 of its manifest."""
    return f"breakglass-evidence-manifest/1 {incident_id} {manifest_sha256}"


class KmsSigner:
    """Signs with an asymmetric KMS key (ECC_NIST_P256, SIGN_VERIFY); the private key never
    leaves KMS. The public key verifies offline."""

    def __init__(self, factory: ClientFactory, key_id: str) -> None:
        self.factory, self.key_id = factory, key_id

    def sign(self, message: str) -> Signature:
        answer = self.factory.client("kms").sign(
            KeyId=self.key_id, Message=message.encode(), MessageType="RAW", SigningAlgorithm=ALGORITHM
        )
        return Signature(
            key_id=str(answer.get("KeyId") or self.key_id),
            message=message,
            signature=base64.b64encode(answer["Signature"]).decode(),
        )

    def public_key_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        der = self.factory.client("kms").get_public_key(KeyId=self.key_id)["PublicKey"]
        key = serialization.load_der_public_key(der)
        return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def verify_signature(signature: Signature, public_pem: bytes, expected_message: str | None = None) -> str | None:
    """None when the signature is good (and signs `expected_message`, when given); else why not."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    if expected_message is not None and signature.message != expected_message:
        return f"it signs {signature.message!r}, not {expected_message!r}"
    try:
        key = load_pem_public_key(public_pem)
    except ValueError:
        return "the public key is not a PEM public key"
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return "the public key is not an elliptic-curve (ECC_NIST_P256) key"
    try:
        key.verify(base64.b64decode(signature.signature), signature.message.encode(), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return "the signature does not verify with that public key"
    return None


class AnchorStore:
    """`s3://BUCKET/PREFIX/anchors/INCIDENT/SEQ.json`, each written once with Object Lock
    retention (the bucket must have Object Lock enabled, as the control-plane module makes it)."""

    def __init__(
        self,
        factory: ClientFactory,
        bucket: str,
        prefix: str,
        lock_mode: LockMode = "GOVERNANCE",
        retain_days: int = 365,
    ) -> None:
        self.factory, self.bucket, self.prefix = factory, bucket, prefix.strip("/")
        self.lock_mode, self.retain_days = lock_mode, retain_days

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self._base()}"

    def _base(self) -> str:
        return f"{self.prefix}/{ANCHORS}" if self.prefix else ANCHORS

    def key(self, incident_id: str, seq: int) -> str:
        return f"{self._base()}/{incident_id}/{seq:08d}.json"

    def write(self, anchor: Anchor, now: datetime) -> str:
        answer = self.factory.client("s3").put_object(
            Bucket=self.bucket,
            Key=self.key(anchor.incident_id, anchor.seq),
            Body=json.dumps(anchor.model_dump(), sort_keys=True).encode(),
            ContentType="application/json",
            ObjectLockMode=self.lock_mode,
            ObjectLockRetainUntilDate=now + timedelta(days=self.retain_days),
        )
        return str(answer.get("VersionId") or "")

    def read(self, incident_id: str) -> tuple[list[Anchor], list[str]]:
        """The incident's anchors, oldest first, and the keys that are not readable anchors."""
        s3 = self.factory.client("s3")
        anchors: list[Anchor] = []
        bad: list[str] = []
        for key in self._keys(f"{self._base()}/{incident_id}/"):
            body = s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            try:
                anchor = Anchor.model_validate_json(body)
            except (ValidationError, ValueError):
                bad.append(key)
                continue
            if anchor.incident_id != incident_id or key != self.key(incident_id, anchor.seq):
                bad.append(key)
                continue
            anchors.append(anchor)
        return sorted(anchors, key=lambda a: a.seq), bad

    def incidents(self) -> list[str]:
        """Every incident that has an anchor."""
        s3 = self.factory.client("s3")
        found: list[str] = []
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self._base()}/", Delimiter="/"
        )
        for page in pages:
            found += [p["Prefix"].rstrip("/").rsplit("/", 1)[-1] for p in page.get("CommonPrefixes", [])]
        return sorted(found)

    def _keys(self, prefix: str) -> list[str]:
        s3 = self.factory.client("s3")
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(str(o["Key"]) for page in pages for o in page.get("Contents", []))
