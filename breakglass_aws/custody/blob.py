"""A decrypted share as a custodian hands it over: one line of text carrying the user, the
rotation id, the custodian's name and index, and a checksum.

    bgshare1.<base64url of {"v":1,"u":USER,"r":ROTATION,"c":CUSTODIAN,"i":INDEX,"s":SHARE}>.<8 hex>

A line that is not of this shape is bad input (exit 2); a checksum that does not match means the
line was altered (exit 4). Its text is never logged or journaled."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field

from breakglass_aws.custody.seal import SHARE_BYTES
from breakglass_aws.errors import GuardRailError, UsageError

__all__ = ["PREFIX", "ShareBlob", "parse_blob"]

PREFIX = "bgshare1"


@dataclass(frozen=True)
class ShareBlob:
    user: str
    rotation_id: str
    custodian: str
    index: int
    share: bytes = field(repr=False)

    def text(self) -> str:
        body = {"v": 1, "u": self.user, "r": self.rotation_id, "c": self.custodian, "i": self.index}
        body["s"] = base64.b64encode(self.share).decode()
        payload = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")
        return f"{PREFIX}.{payload}.{_check(payload)}"


def _check(payload: str) -> str:
    return hashlib.sha256(f"{PREFIX}.{payload}".encode()).hexdigest()[:8]


def _bad(why: str) -> UsageError:
    return UsageError(f"not a custody share: {why}", "paste the whole bgshare1.... line a custodian printed")


def parse_blob(text: str) -> ShareBlob:
    parts = text.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise _bad(f"expected {PREFIX}.<data>.<check>")
    payload, check = parts[1], parts[2]
    if _check(payload) != check.lower():
        raise GuardRailError(
            "a custody share was altered (its checksum does not match)", "ask its custodian to print it again"
        )
    try:
        body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        share = base64.b64decode(body["s"], validate=True)
        blob = ShareBlob(str(body["u"]), str(body["r"]), str(body["c"]), int(body["i"]), share)
    except (ValueError, KeyError, TypeError, binascii.Error) as err:
        raise _bad("its data does not decode") from err
    if body.get("v") != 1 or len(share) != SHARE_BYTES or not 1 <= blob.index <= 255:
        raise _bad("unknown version, or a share of the wrong size")
    return blob
