"""What the main secret holds under custody: the ciphertext and public metadata only (threshold,
custodians with their share index and fingerprint, rotation id). Built at each rotation by
`seal_credentials`, which also gives each custodian's share, already encrypted to them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from breakglass_aws.custody.age import encrypt as encrypt_to
from breakglass_aws.custody.blob import ShareBlob
from breakglass_aws.custody.policy import CustodyPolicy
from breakglass_aws.custody.seal import encrypt, fingerprint, new_key, split_key

__all__ = ["CustodyDocument", "Sealed", "ShareRecord", "custody_of", "seal_credentials"]


class ShareRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    index: int
    fingerprint: str  # sha256 of the share as encrypted to the custodian (what is stored)


class CustodyDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Literal[1] = 1
    cipher: Literal["AES-256-GCM"] = "AES-256-GCM"
    split: Literal["shamir-gf128-2x16"] = "shamir-gf128-2x16"
    user: str
    rotation_id: str
    threshold: int
    custodians: dict[str, ShareRecord]
    ciphertext: str  # base64(nonce || AES-256-GCM ciphertext and tag)

    def fingerprints(self) -> dict[str, str]:
        return {name: record.fingerprint for name, record in self.custodians.items()}


@dataclass
class Sealed:
    document: CustodyDocument
    shares: dict[str, bytes] = field(repr=False)  # custodian -> share encrypted to them (age)


def seal_credentials(policy: CustodyPolicy, user: str, rotation_id: str, credentials: dict[str, str]) -> Sealed:
    """Encrypt the credentials under a fresh data key, split the key, encrypt each share to its
    custodian. The data key and the plain shares live only in this call."""
    key = new_key()
    ciphertext = encrypt(json.dumps(credentials).encode(), key, user, rotation_id)
    pieces = split_key(key, policy.threshold, len(policy.custodians))
    shares: dict[str, bytes] = {}
    records: dict[str, ShareRecord] = {}
    for custodian, (index, piece) in zip(policy.custodians, pieces, strict=True):
        blob = ShareBlob(user, rotation_id, custodian.name, index, piece)
        shares[custodian.name] = encrypt_to(blob.text().encode(), custodian.recipient)
        records[custodian.name] = ShareRecord(index=index, fingerprint=fingerprint(shares[custodian.name]))
    document = CustodyDocument(
        user=user, rotation_id=rotation_id, threshold=policy.threshold, custodians=records, ciphertext=ciphertext
    )
    return Sealed(document, shares)


def custody_of(stored: dict[str, Any]) -> CustodyDocument | None:
    """The custody document of a main secret's value, None when it has none (or an unreadable one)."""
    found = stored.get("custody")
    if not isinstance(found, dict):
        return None
    try:
        return CustodyDocument.model_validate(found)
    except ValidationError:
        return None
