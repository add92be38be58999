"""Opening the glass: a custodian reveals their share; k shares recombine the data key in memory,
which decrypts the credentials. Every refusal is one line and exits 4 (2 for bad input)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from breakglass_aws.custody.age import Identity
from breakglass_aws.custody.age import decrypt as decrypt_with
from breakglass_aws.custody.blob import ShareBlob, parse_blob
from breakglass_aws.custody.document import CustodyDocument
from breakglass_aws.custody.seal import combine_key, decrypt, fingerprint
from breakglass_aws.custody.vault import StoredShare
from breakglass_aws.errors import GuardRailError

__all__ = ["Credentials", "open_credentials", "reveal_share"]


@dataclass(frozen=True)
class Credentials:
    user: str
    rotation_id: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    password: str | None = field(default=None, repr=False)
    custodians: tuple[str, ...] = ()  # who supplied the shares that opened them


def _other_rotation(found: str, doc: CustodyDocument) -> GuardRailError:
    return GuardRailError(
        f"a share of rotation {found}, not of the current one ({doc.rotation_id})",
        f"ask for a share of {doc.rotation_id}: breakglass custody share --user {doc.user}",
    )


def reveal_share(doc: CustodyDocument, stored: StoredShare, identity: Identity) -> ShareBlob:
    """The custodian's share of the current rotation, checked against the main secret's metadata:
    its rotation, then its fingerprint (the stored share is the one the rotation wrote)."""
    blob = parse_blob(decrypt_with(stored.encrypted, identity).decode("ascii", errors="replace"))
    if blob.rotation_id != doc.rotation_id or blob.user != doc.user:
        raise _other_rotation(blob.rotation_id, doc)
    record = doc.custodians.get(stored.custodian)
    if record is None or fingerprint(stored.encrypted) != record.fingerprint:
        raise GuardRailError(
            f"the stored share of {stored.custodian} does not match its fingerprint in the main secret",
            "a share was altered or replaced: rotate to re-split the glass",
        )
    if (blob.custodian, blob.index) != (stored.custodian, record.index):
        raise GuardRailError(f"the share of {stored.custodian} is labelled for another custodian", "rotate")
    return blob


def _chosen(doc: CustodyDocument, blobs: list[ShareBlob]) -> list[ShareBlob]:
    """k shares of distinct custodians of this rotation, each at its custodian's index."""
    distinct: dict[str, ShareBlob] = {}
    for blob in blobs:
        if blob.user != doc.user or blob.rotation_id != doc.rotation_id:
            raise _other_rotation(f"{blob.rotation_id} ({blob.user})", doc)
        record = doc.custodians.get(blob.custodian)
        if record is None or record.index != blob.index:
            raise GuardRailError(f"{blob.custodian!r} holds no share of index {blob.index} here", "check the share")
        distinct.setdefault(blob.custodian, blob)
    if len(distinct) < doc.threshold:
        raise GuardRailError(
            f"{len(distinct)} share(s) of distinct custodians; {doc.threshold} of {len(doc.custodians)} are needed",
            f"collect {doc.threshold - len(distinct)} more: breakglass custody share --user {doc.user}",
        )
    return list(distinct.values())[: doc.threshold]


def open_credentials(doc: CustodyDocument, texts: list[str]) -> Credentials:
    chosen = _chosen(doc, [parse_blob(text) for text in texts if text.strip()])
    key = combine_key([(blob.index, blob.share) for blob in chosen])
    plain = json.loads(decrypt(doc.ciphertext, key, doc.user, doc.rotation_id))
    return Credentials(
        user=doc.user,
        rotation_id=doc.rotation_id,
        access_key_id=str(plain["access_key_id"]),
        secret_access_key=str(plain["secret_access_key"]),
        password=str(plain["password"]) if plain.get("password") else None,
        custodians=tuple(sorted(blob.custodian for blob in chosen)),
    )
