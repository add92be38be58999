"""age (X25519) through pyrage: encrypting a share to a custodian, decrypting it with their identity."""

from __future__ import annotations

from typing import Any

import pyrage  # type: ignore[import-untyped]  # pyrage ships no type information
from pyrage import x25519

from breakglass_aws.errors import GuardRailError, UsageError

__all__ = ["Identity", "decrypt", "encrypt", "new_identity", "parse_identity", "valid_recipient"]

Identity = Any  # pyrage.x25519.Identity


def valid_recipient(text: str) -> bool:
    try:
        x25519.Recipient.from_str(text)
    except Exception:  # pyrage raises its own RecipientError (or ValueError) for a bad key
        return False
    return True


def encrypt(data: bytes, recipient: str) -> bytes:
    encrypted: bytes = pyrage.encrypt(data, [x25519.Recipient.from_str(recipient)])
    return encrypted


def new_identity() -> tuple[str, str]:
    """A new age X25519 identity: its secret text (AGE-SECRET-KEY-1...) and its public recipient."""
    identity = x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def parse_identity(text: str) -> tuple[Identity, str]:
    """An age identity file's key (comments and blank lines skipped) and its public recipient."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if len(lines) != 1 or not lines[0].startswith("AGE-SECRET-KEY-1"):
        raise UsageError("the identity file holds no single age X25519 key", "pass the file age-keygen wrote")
    try:
        identity = x25519.Identity.from_str(lines[0])
    except Exception as err:  # IdentityError: the message could echo the key, never shown
        raise UsageError("the identity file holds no valid age key", "pass the file age-keygen wrote") from err
    return identity, str(identity.to_public())


def decrypt(data: bytes, identity: Identity) -> bytes:
    try:
        plain: bytes = pyrage.decrypt(data, [identity])
    except Exception as err:  # DecryptError: wrong identity, or the share was altered
        raise GuardRailError(
            "the share does not decrypt with this identity (another custodian's share, or altered)",
            "use your own identity file; if it is yours, the stored share was altered: rotate",
        ) from err
    return plain
