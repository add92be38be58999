"""The cryptography of custody: a fresh AES-256-GCM data key per rotation, split with Shamir's
scheme so that any k of n shares recover it.

pycryptodome's Shamir works on 16-byte secrets (GF(2^128)). The 32-byte key is split as two
16-byte halves, each with its own random polynomial, at the same share indices: share i is the
pair (half-share i of the first half, half-share i of the second). k - 1 shares say nothing about
either half (each split is information-theoretically hiding on its own), so nothing about the key.
The ciphertext's associated data binds it to the user and the rotation id: shares or a ciphertext
of another rotation never open it."""

from __future__ import annotations

import base64
import hashlib
import secrets

from Crypto.Protocol.SecretSharing import Shamir
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from breakglass_aws.errors import GuardRailError

__all__ = ["KEY_BYTES", "SHARE_BYTES", "combine_key", "decrypt", "encrypt", "fingerprint", "new_key", "split_key"]

KEY_BYTES = 32
HALF = 16
SHARE_BYTES = 2 * HALF
NONCE_BYTES = 12


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def _aad(user: str, rotation_id: str) -> bytes:
    return f"breakglass-custody/v1\n{user}\n{rotation_id}".encode()


def encrypt(plaintext: bytes, key: bytes, user: str, rotation_id: str) -> str:
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext, _aad(user, rotation_id))
    return base64.b64encode(nonce + sealed).decode()


def decrypt(ciphertext: str, key: bytes, user: str, rotation_id: str) -> bytes:
    try:
        raw = base64.b64decode(ciphertext, validate=True)
        return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(user, rotation_id))
    except (InvalidTag, ValueError) as err:
        raise GuardRailError(
            "the shares do not open the credentials (a share or the stored ciphertext was altered)",
            "ask each custodian for their share again; if it persists, the secret was tampered with: rotate",
        ) from err


def split_key(key: bytes, threshold: int, count: int) -> list[tuple[int, bytes]]:
    first = Shamir.split(threshold, count, key[:HALF])
    second = Shamir.split(threshold, count, key[HALF:])
    if [i for i, _ in first] != [j for j, _ in second]:  # pycryptodome numbers shares 1..n, always
        raise ValueError("the two halves were split at different indices")
    return [(i, a + b) for (i, a), (_, b) in zip(first, second, strict=True)]


def combine_key(shares: list[tuple[int, bytes]]) -> bytes:
    first = Shamir.combine([(i, s[:HALF]) for i, s in shares])
    second = Shamir.combine([(i, s[HALF:]) for i, s in shares])
    return bytes(first) + bytes(second)


def fingerprint(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()
