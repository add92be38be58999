"""Is an incident's history what happened? Its journal's chain, the record against the journal,
and the journal against the anchors written outside the writer's reach (and their signatures).

Three verdicts: tampered (something was changed that no crash explains), interrupted (a write
an earlier version left half done, which the next close or restore of the incident finishes),
and intact; with what was checked, so an intact verdict says how far it reaches.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from breakglass_aws.aws import aws_errors
from breakglass_aws.journal.anchor import Anchor, AnchorStore, Signature, head_message, verify_signature
from breakglass_aws.journal.chain import verify_chain
from breakglass_aws.models import ENDED_STATUSES, Incident, IncidentStatus, JournalEntry
from breakglass_aws.runtime import Runtime
from breakglass_aws.validate import validate_incident_id

__all__ = ["JournalReport", "deleted_incidents", "journal_problems", "journal_report"]


class JournalReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    incident_id: str
    tampered: list[str] = []
    interrupted: list[str] = []
    checked: list[str] = []

    @property
    def intact(self) -> bool:
        return not self.tampered and not self.interrupted


def journal_problems(rt: Runtime, incident_id: str) -> list[str]:
    """Every problem, tampering and interrupted writes alike (empty: intact)."""
    report = journal_report(rt, incident_id)
    return report.tampered + report.interrupted


def journal_report(rt: Runtime, incident_id: str, public_key: bytes | None = None) -> JournalReport:
    validate_incident_id(incident_id)
    incident = rt.store.get_incident(incident_id)
    entries = rt.store.entries(incident_id)
    report = JournalReport(incident_id=incident_id)
    if not entries:
        report.interrupted.append("the journal is empty: the incident was stored, its opening was not journaled")
        return report
    report.tampered += verify_chain(entries)
    report.checked.append(f"hash chain of {len(entries)} entries")
    _record_against_journal(incident, entries, report)
    if rt.anchors is not None:
        _against_anchors(rt, rt.anchors, incident_id, entries, report, public_key)
    else:
        report.checked.append("no anchors (evidence_bucket is not set): a consistent rewrite of the store is not seen")
    _signed_entries(rt, incident_id, entries, report, public_key)
    return report


def _pending(requester: object) -> bool:
    from breakglass_aws.models import PENDING_ARN

    return isinstance(requester, dict) and requester.get("arn") == PENDING_ARN


def _snapshots(value: object) -> object:
    """Journaled snapshots as the model reads them today (fields added since carry their
    defaults), so a record written by an earlier version compares equal when nothing changed."""
    from breakglass_aws.models import ScpTargetSnapshot

    if not isinstance(value, list):
        return value
    try:
        return [ScpTargetSnapshot.model_validate(s).model_dump(mode="json") for s in value]
    except ValueError:
        return value


def _record_against_journal(incident: Incident, entries: list[JournalEntry], report: JournalReport) -> None:
    opened = next((e for e in entries if e.kind == "opened"), None)
    if opened is None:
        report.tampered.append("the 'opened' entry is missing")
        return
    recorded = dict(opened.data.get("incident", {}))
    for entry in entries:
        if entry.kind == "snapshot":
            recorded["scp"] = entry.data["scp"]
        elif entry.kind == "identified" and _pending(recorded.get("requester")):  # once, from pending only
            recorded["requester"] = entry.data["requester"]
    recorded["scp"] = _snapshots(recorded.get("scp"))
    for key in ("requester", "reason", "ticket", "targets", "created_at", "scp", "mode"):
        if recorded.get(key) != incident.public().get(key):
            report.tampered.append(f"incident field {key!r} differs from the journal")
    statuses = [e.kind.removeprefix("status:") for e in entries if e.kind.startswith("status:")]
    stored = incident.status.value
    ended = {s.value for s in ENDED_STATUSES}
    if statuses and statuses[-1] in ended and stored != statuses[-1]:
        report.tampered.append(f"the journal ends the incident {statuses[-1]}, the record says {stored}")
    if stored == IncidentStatus.CLOSED.value and IncidentStatus.CLOSED.value not in statuses:
        if incident.closing is None:  # an earlier version saved the record first, then the entry
            report.interrupted.append(
                "the record says closed, the journal never recorded the close (a crash of an earlier version)"
            )
        else:  # both are written in one write now: no crash parts them
            report.tampered.append("the record says closed, the journal never recorded the close")
    activated = [e for e in entries if e.kind == "activated"]
    if activated and activated[-1].data.get("expires_at") != incident.public()["expires_at"]:
        report.tampered.append("the expiry differs from the one journaled at activation")
    report.checked.append("the record against the journal")


def _against_anchors(
    rt: Runtime,
    store: AnchorStore,
    incident_id: str,
    entries: list[JournalEntry],
    report: JournalReport,
    public_key: bytes | None,
) -> None:
    with aws_errors():
        anchors, unreadable = store.read(incident_id)
    report.tampered += [f"anchor {key} is not a readable anchor of this incident" for key in unreadable]
    by_seq = {e.seq: e for e in entries}
    for anchor in anchors:
        entry = by_seq.get(anchor.seq)
        if entry is None:
            report.tampered.append(f"entry {anchor.seq} ({anchor.event}) was anchored at {anchor.at} but is gone")
        elif entry.hash != anchor.hash:
            report.tampered.append(f"entry {anchor.seq} ({entry.kind}) differs from its anchor written at {anchor.at}")
        if anchor.signature is not None:
            _check_signature(rt, anchor, anchor.signature, report, public_key)
    seqs = ", ".join(str(a.seq) for a in anchors) or "none"
    report.checked.append(f"{len(anchors)} anchor(s) in {store.where}/{incident_id}/ (entries {seqs})")


def _check_signature(
    rt: Runtime, anchor: Anchor, signature: Signature, report: JournalReport, public_key: bytes | None
) -> None:
    pem = public_key or _public_key(rt)
    if pem is None:
        report.checked.append(f"the signature of entry {anchor.seq} was not checked: no public key")
        return
    expected = head_message(anchor.incident_id, anchor.seq, anchor.hash)
    problem = verify_signature(signature, pem, expected)
    if problem:
        report.tampered.append(f"the signature of entry {anchor.seq}: {problem}")
    else:
        report.checked.append(f"the signature of entry {anchor.seq} (key {signature.key_id})")


def _signed_entries(
    rt: Runtime, incident_id: str, entries: list[JournalEntry], report: JournalReport, public_key: bytes | None
) -> None:
    """`signed` entries: the signature must be of the entry it names, as it is now."""
    by_seq = {e.seq: e for e in entries}
    for entry in (e for e in entries if e.kind == "signed"):
        seq = int(entry.data.get("seq", 0))
        signed = by_seq.get(seq)
        fields = {k: entry.data[k] for k in ("key_id", "algorithm", "message", "signature") if k in entry.data}
        pem = public_key or _public_key(rt)
        if signed is None or pem is None:
            why = "no public key" if pem is None else "no such entry"
            report.checked.append(f"the signature of entry {seq} was not checked: {why}")
            continue
        problem = verify_signature(Signature(**fields), pem, head_message(incident_id, seq, signed.hash))
        if problem:
            report.tampered.append(f"the signature journaled for entry {seq}: {problem}")
        else:
            report.checked.append(f"the journaled signature of entry {seq}")


def _public_key(rt: Runtime) -> bytes | None:
    if rt.signer is None:
        return None
    with aws_errors():
        return rt.signer.public_key_pem()


def deleted_incidents(rt: Runtime) -> list[str]:
    """Incidents anchored outside the store but absent from it: deleted (or the store replaced)."""
    if rt.anchors is None:
        return []
    unreadable: list[str] = []
    known = {i.incident_id for i in rt.store.list_incidents(limit=100_000, skipped=unreadable)} | set(unreadable)
    with aws_errors():
        anchored = rt.anchors.incidents()
    return [incident_id for incident_id in anchored if incident_id not in known]
