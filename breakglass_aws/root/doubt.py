"""What a root incident's journal says about its changes, and what a read-back says about a change
in doubt: the changes announced (their intents), those whose outcome was never journaled (the
process stopped meanwhile), the lockout's first read, and the MFA devices an earlier run set out to
deactivate. Reads journal entries; never writes them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from breakglass_aws.models import JournalEntry
from breakglass_aws.root.credentials import CREDENTIAL_ACTIONS, CredentialStep, RootCredentials, is_done
from breakglass_aws.root.inputs import canonical_sha256
from breakglass_aws.root.policy import PolicyStep

__all__ = [
    "MUTATING",
    "Resolved",
    "deactivated",
    "first_read",
    "held",
    "mutating_intents",
    "read_entry",
    "resolve_credential",
    "resolve_policy",
    "unanswered",
]

MUTATING = frozenset({"delete-policy", "put-policy"}) | CREDENTIAL_ACTIONS
Change = PolicyStep | CredentialStep


@dataclass
class Resolved:
    """A change in doubt, judged from a read-back: happened, did not, or cannot be told (None)."""

    step: Change
    happened: bool | None
    found: str

    def verdict(self) -> str:
        if self.happened is None:
            return "cannot be told"
        return "it happened" if self.happened else "it did not happen, and is not sent"


def held(policy: str | None) -> str:
    return "no policy" if policy is None else f"a policy (sha256 {canonical_sha256(policy)})"


def read_entry(resource: str, kind: str, region: str, policy: str | None, by: str, first: bool) -> dict[str, Any]:
    """The journal entry of one read of a bucket or queue policy, with its text: the first read of
    an incident is the record of the lockout."""
    data: dict[str, Any] = {"resource": resource, "kind": kind, "region": region, "by": by}
    data |= {"found": policy is not None, "first": first}
    if policy is not None:
        data |= {"policy": policy, "sha256": canonical_sha256(policy), "bytes": len(policy.encode())}
    return data


def first_read(entries: list[JournalEntry]) -> dict[str, Any] | None:
    return next((e.data for e in entries if e.kind == "policy-read" and e.data.get("first")), None)


def _step(entry: JournalEntry) -> dict[str, Any] | None:
    step = entry.data.get("step")
    return step if isinstance(step, dict) else None


def mutating_intents(entries: list[JournalEntry]) -> list[dict[str, Any]]:
    return [s for e in entries if e.kind == "intent" and (s := _step(e)) and s.get("action") in MUTATING]


def unanswered(entries: list[JournalEntry]) -> list[Change]:
    """The changes announced whose outcome was never journaled."""
    answered = [_step(e) for e in entries if e.kind == "outcome"]
    pending: list[Change] = []
    for step in mutating_intents(entries):
        if step in answered:
            answered.remove(step)
            continue
        model = PolicyStep if step.get("action") in ("delete-policy", "put-policy") else CredentialStep
        pending.append(model.model_validate(step))
    return pending


def deactivated(entries: list[JournalEntry]) -> list[str]:
    """MFA devices an earlier run set out to deactivate whose deletion is not known done (once
    deactivated, a device is no longer listed)."""

    def credentials(kind: str, action: str, ok: bool | None) -> set[str]:
        return {
            str(s.get("credential"))
            for e in entries
            if e.kind == kind
            and (s := _step(e))
            and s.get("action") == action
            and (ok is None or e.data.get("ok") is ok)
        }

    deleted = credentials("outcome", "delete-virtual-mfa-device", True)
    return sorted(credentials("intent", "deactivate-mfa-device", None) - deleted)


def resolve_policy(step: PolicyStep, current: str | None) -> Resolved:
    if step.action == "delete-policy":
        return Resolved(step, current is None, held(current))
    happened = current is not None and canonical_sha256(current) == step.policy_sha256
    return Resolved(step, happened, held(current))


def resolve_credential(step: CredentialStep, now: RootCredentials) -> Resolved:
    return Resolved(step, is_done(step, now), "; ".join(now.lines()))
