"""Custody of the glass: the break-glass credentials sealed at every rotation so that any k of n
custodians, and no fewer, can open them (a fresh AES-256-GCM data key, split with Shamir's
scheme, each share encrypted to one custodian's age key)."""

from __future__ import annotations

from breakglass_aws.custody.blob import ShareBlob, parse_blob
from breakglass_aws.custody.document import CustodyDocument, Sealed, custody_of, seal_credentials
from breakglass_aws.custody.opening import Credentials, open_credentials, reveal_share
from breakglass_aws.custody.policy import Custodian, CustodyPolicy, custody_policy, share_secret_id
from breakglass_aws.custody.vault import StoredShare, read_share, write_share_file, write_shares

__all__ = [
    "Credentials",
    "Custodian",
    "CustodyDocument",
    "CustodyPolicy",
    "Sealed",
    "ShareBlob",
    "StoredShare",
    "custody_of",
    "custody_policy",
    "open_credentials",
    "parse_blob",
    "read_share",
    "reveal_share",
    "seal_credentials",
    "share_secret_id",
    "write_share_file",
    "write_shares",
]
