"""The report's "what the tool changed and put back": SCPs and RCPs before and after, the sessions
issued, the revocation cut-off, the keys rotated (by id), a root task's policy (by SHA-256 and
size, never its text) and every change journaled. No secret is in a bundle; none is shown."""

from __future__ import annotations

from typing import Any

from breakglass_aws.evidence.report import Report
from breakglass_aws.evidence.report_doc import Block, Facts, Heading, Para, Section, Table
from breakglass_aws.evidence.report_journal import MAX_LISTED
from breakglass_aws.evidence.report_text import stamp
from breakglass_aws.models import RCP_TYPE, PolicyRef, ScpTargetSnapshot

__all__ = ["changes_section"]


def changes_section(report: Report) -> Section:
    blocks: list[Block] = []
    for part in (_policies, _sessions, _revocation, _rotations, _root_task, _journaled):
        blocks += part(report)
    if not blocks:
        blocks.append(Para("The journal records no change."))
    return Section("changes", "What the tool changed and put back", blocks)


def _policies(report: Report) -> list[Block]:
    snapshots = report.incident.scp
    if not snapshots:
        return []
    rows = [_policy_row(report, snap) for snap in snapshots]
    tones = ["" if row[3].startswith("restored") else "bad" for row in rows]
    head = ["target", "before", "detached during the incident", "after", "drift"]
    return [Heading("SCPs and RCPs"), Table("policies-table", head, rows, tones)]


def _policy_row(report: Report, snap: ScpTargetSnapshot) -> list[str]:
    before = ", ".join(_policy(p) for p in snap.original)
    detached = ", ".join(snap.detach) + ("; FullAWSAccess attached for the incident" if snap.attach_full_access else "")
    plan = report.journal.restore_plans.get(snap.target, {})
    restored = f"restore:{snap.target}" in report.journal.close_steps
    expected = plan.get("expected")
    holds = ", ".join(str(p) for p in expected) if isinstance(expected, list) else "as before"
    after = f"restored: {holds}" if restored else "NOT restored: the journal has no restore step for it"
    drift = [str(d) for d in (plan.get("drift") or [])] + [
        f"unrecoverable: {u}" for u in plan.get("unrecoverable") or []
    ]
    return [f"{snap.target} ({snap.kind})", before, detached or "-", after, "; ".join(drift) or "-"]


def _policy(p: PolicyRef) -> str:
    kind = "RCP" if p.type == RCP_TYPE else "SCP"
    digest = f", sha256 {p.content_sha256[:12]}" if p.content_sha256 else ""
    return f"{p.id} {p.name} ({kind}{digest})".replace(" ()", "")


def _sessions(report: Report) -> list[Block]:
    role = report.incident.role
    if role is None or not role.sessions:
        return []
    rows = [[s.access_key_id, stamp(s.issued_at), stamp(s.expiration)] for s in role.sessions]
    intro = Para(f"Role {role.role_arn}, session {role.session_name}, SourceIdentity {role.source_identity}.")
    return [Heading("Sessions issued"), intro, Table("sessions-table", ["access key id", "issued", "expires"], rows)]


def _revocation(report: Report) -> list[Block]:
    cutoff = report.context.cutoff
    checks = report.journal.revocations
    if cutoff is None and not checks:
        return []
    rows = [("Cut-off", stamp(cutoff) + " (sessions issued before it are denied)" if cutoff else "-")]
    rows += [
        ("Verified", f"inline policy {c.get('policy_name')} on {c.get('role_arn')}, cut-off {c.get('cutoff')}")
        for c in checks
    ]
    return [Heading("Revocation"), Facts(rows)]


def _rotations(report: Report) -> list[Block]:
    done = report.journal.rotations
    if not done:
        return []
    rows = [[str(r["user"]), str(r.get("active_key_id")), ", ".join(_ids(r.get("old_keys_gone")))] for r in done]
    return [Heading("Credentials rotated"), Table("rotations-table", ["user", "new access key id", "removed"], rows)]


def _ids(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _root_task(report: Report) -> list[Block]:
    root, j = report.incident.root, report.journal
    if root is None:
        return []
    rows = [("Task", root.task), ("Account", root.account), ("Task policy", root.task_policy_arn)]
    if root.resource:
        rows.append(("Resource", root.resource))
    rows += [(f"Policy read ({r.get('by')})", _digest(r)) for r in j.policy_reads]
    rows += [("Replacement", f"sha256 {r.get('sha256')}, {r.get('bytes')} bytes") for r in j.replacements]
    rows += [("Read back", _read_back(r)) for r in j.read_backs]
    note = Para("Policies appear by SHA-256 and size; the lockout policy's text is in the bundle's journal.")
    return [Heading("Root task"), Facts(rows), note]


def _digest(read: dict[str, Any]) -> str:
    if not read.get("found"):
        return "no policy"
    first = " (the lockout)" if read.get("first") else ""
    return f"sha256 {read.get('sha256')}, {read.get('bytes')} bytes{first}"


def _read_back(check: dict[str, Any]) -> str:
    held = f"sha256 {check.get('sha256')}" if check.get("found") else "no policy"
    return f"{check.get('resource')}: {held}, {'as asked' if check.get('matches') else 'NOT as asked'}"


def _journaled(report: Report) -> list[Block]:
    j = report.journal
    if not j.changes:
        return []
    rows = [[stamp(when), text, "ok" if ok else "FAILED"] for when, text, ok in j.changes]
    tones = ["" if ok else "bad" for _, _, ok in j.changes]
    more = (
        f"and {j.changes_total - len(rows)} more (the first {MAX_LISTED} are listed)"
        if j.changes_total > len(rows)
        else ""
    )
    return [
        Heading("Every change the tool journaled"),
        Table("changes-table", ["time", "change", "outcome"], rows, tones, more),
    ]
