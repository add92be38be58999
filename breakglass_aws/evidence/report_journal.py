"""What the bundle's journal says, read line by line: the lifecycle transitions and the tool's own
changes (for the timeline), and what the tool changed and put back (restore plans, the revocation,
rotated keys by id, a root task's policy by digest and size). Only named fields are taken from an
entry: a policy's text, a message id or anything else in it is never carried into the report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from breakglass_aws.evidence.report_text import parse_time
from breakglass_aws.models import JournalEntry

__all__ = ["MAX_MARKS", "JournalFacts", "Mark", "read_journal"]

MAX_MARKS = 300  # moments drawn on the timeline; every entry is counted
MAX_LISTED = 200  # rows of each list below
LIFECYCLE = {
    "opened": "opened",
    "approved": "approved",
    "denied": "denied",
    "activated": "active",
    "extended": "extended",
    "close-plan": "closing planned",
    "handed-over": "handed over",
    "evidence": "evidence collected",
}
STEP_SUBJECTS = ("policy_id", "user", "key_id", "resource", "role_name", "name", "credential", "target")


Taker = Callable[["JournalFacts", dict[str, Any]], None]


@dataclass
class Mark:
    """A journal moment on the timeline: a lifecycle transition or one of the tool's changes."""

    time: datetime
    kind: str  # "lifecycle" | "change" | "failed"
    label: str


@dataclass
class JournalFacts:
    entries: int = 0
    unreadable: int = 0
    marks: list[Mark] = field(default_factory=list)
    marks_total: int = 0
    changes: list[tuple[datetime | None, str, bool]] = field(default_factory=list)  # (time, change, ok)
    changes_total: int = 0
    close_steps: list[str] = field(default_factory=list)
    restore_plans: dict[str, dict[str, Any]] = field(default_factory=dict)  # the last one of each target
    revocations: list[dict[str, Any]] = field(default_factory=list)
    rotations: list[dict[str, Any]] = field(default_factory=list)
    policy_reads: list[dict[str, Any]] = field(default_factory=list)
    replacements: list[dict[str, Any]] = field(default_factory=list)
    read_backs: list[dict[str, Any]] = field(default_factory=list)
    anchors: list[dict[str, Any]] = field(default_factory=list)
    anchor_failures: int = 0
    signed: list[int] = field(default_factory=list)
    sign_failures: int = 0
    notified: int = 0
    notify_failures: int = 0
    watched: set[str] = field(default_factory=set)  # secret ids, schedules, users the tool touched


def read_journal(path: Path) -> JournalFacts:
    facts = JournalFacts()
    if not path.is_file():
        return facts
    with path.open("rb") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                entry = JournalEntry.model_validate_json(line)
            except (ValidationError, ValueError):
                facts.unreadable += 1
                continue
            facts.entries += 1
            _take(facts, entry)
    return facts


def _take(facts: JournalFacts, entry: JournalEntry) -> None:
    when, data = parse_time(entry.at), entry.data
    kind = entry.kind
    if kind in LIFECYCLE or kind.startswith("status:"):
        label = LIFECYCLE.get(kind) or kind.removeprefix("status:")
        _mark(facts, when, "lifecycle", label)
    elif kind == "outcome" and isinstance(data.get("step"), dict):
        _change(facts, when, data["step"], data.get("ok") is True)
    elif kind == "intent" and isinstance(data.get("step"), dict):
        _watch(facts, data["step"])
    _FACTS.get(kind, _ignore)(facts, data)


def _mark(facts: JournalFacts, when: datetime | None, kind: str, label: str) -> None:
    facts.marks_total += 1
    if when is not None and len(facts.marks) < MAX_MARKS:
        facts.marks.append(Mark(when, kind, label))


def _change(facts: JournalFacts, when: datetime | None, step: dict[str, Any], ok: bool) -> None:
    text = describe_step(step)
    _mark(facts, when, "change" if ok else "failed", text if ok else f"{text} (failed)")
    facts.changes_total += 1
    if len(facts.changes) < MAX_LISTED:
        facts.changes.append((when, text, ok))
    _watch(facts, step)


def describe_step(step: dict[str, Any]) -> str:
    """`detach p-123 from 111122223333`, `create-key for breakglass-1`, `revoke-sessions BreakGlassAdmin`."""
    action = str(step.get("action", "step"))
    if action in ("attach", "detach"):
        where = "to" if action == "attach" else "from"
        return f"{action} {step.get('policy_id')} {where} {step.get('target')}"
    subject = next((str(step[k]) for k in STEP_SUBJECTS if step.get(k)), "")
    return f"{action} {subject}".strip()


def _watch(facts: JournalFacts, step: dict[str, Any]) -> None:
    for key in ("secret_id", "user", "role_name", "name", "policy_id", "resource"):
        value = step.get(key)
        if isinstance(value, str) and len(value) >= 3 and value != "p-FullAWSAccess":
            facts.watched.add(value)


def _ignore(_facts: JournalFacts, _data: dict[str, Any]) -> None:
    return None


def _close_step(facts: JournalFacts, data: dict[str, Any]) -> None:
    if len(facts.close_steps) < MAX_LISTED:
        facts.close_steps.append(str(data.get("name")))


def _restore_plan(facts: JournalFacts, data: dict[str, Any]) -> None:
    target = str(data.get("target"))
    if target in facts.restore_plans or len(facts.restore_plans) < MAX_LISTED:
        facts.restore_plans[target] = {k: data.get(k) for k in ("expected", "drift", "unrecoverable")}


def _verified(facts: JournalFacts, data: dict[str, Any]) -> None:
    if "cutoff" in data:
        _append(facts.revocations, {k: data.get(k) for k in ("cutoff", "policy_name", "role_arn")})
    elif "rotation_id" in data:
        user = str(data.get("rotation_id", "")).rsplit(":", 1)[-1]
        taken = {"user": user, "active_key_id": data.get("active_key_id"), "old_keys_gone": data.get("old_keys_gone")}
        _append(facts.rotations, taken)
    elif "resource" in data:
        _append(facts.read_backs, {k: data.get(k) for k in ("resource", "found", "matches", "sha256")})


def _policy_read(facts: JournalFacts, data: dict[str, Any]) -> None:
    # the text (data["policy"]) is the record of the lockout: it stays in the bundle, not in the report
    _append(
        facts.policy_reads, {k: data.get(k) for k in ("resource", "kind", "by", "first", "found", "sha256", "bytes")}
    )


def _replacement(facts: JournalFacts, data: dict[str, Any]) -> None:
    _append(facts.replacements, {k: data.get(k) for k in ("sha256", "bytes")})


def _anchored(facts: JournalFacts, data: dict[str, Any]) -> None:
    _append(facts.anchors, {k: data.get(k) for k in ("seq", "key", "version")})


def _signed(facts: JournalFacts, data: dict[str, Any]) -> None:
    seq = data.get("seq")
    if isinstance(seq, int) and len(facts.signed) < MAX_LISTED:
        facts.signed.append(seq)


def _count(name: str) -> Taker:
    def bump(facts: JournalFacts, _data: dict[str, Any]) -> None:
        setattr(facts, name, getattr(facts, name) + 1)

    return bump


def _append(items: list[dict[str, Any]], item: dict[str, Any]) -> None:
    if len(items) < MAX_LISTED:
        items.append(item)


_FACTS: dict[str, Taker] = {
    "close-step": _close_step,
    "restore-plan": _restore_plan,
    "verified": _verified,
    "policy-read": _policy_read,
    "replacement": _replacement,
    "anchored": _anchored,
    "anchor-failed": _count("anchor_failures"),
    "signed": _signed,
    "sign-failed": _count("sign_failures"),
    "notified": _count("notified"),
    "notify-failed": _count("notify_failures"),
}
