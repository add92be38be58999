"""The report as a document: sections of paragraphs, label/value facts and tables of plain text,
shared by the HTML and the Markdown renderers (each escapes every value its own way)."""

from __future__ import annotations

from dataclasses import dataclass, field

from breakglass_aws.evidence.report import Report
from breakglass_aws.evidence.report_scan import MAX_FINDINGS, REASONS, Finding, Group
from breakglass_aws.evidence.report_text import stamp

__all__ = [
    "TOP_OPERATIONS",
    "Block",
    "Document",
    "Facts",
    "Heading",
    "Para",
    "Section",
    "Table",
    "Timeline",
    "calls_section",
    "findings_section",
    "header_section",
    "timeline_section",
    "verification_section",
]

TOP_OPERATIONS = 200  # rows of the grouped calls; the rest is counted in one line
MAX_PROBLEMS = 100


@dataclass
class Para:
    text: str
    tone: str = ""  # "" | "ok" | "warn" | "bad"


@dataclass
class Facts:
    rows: list[tuple[str, str]]


@dataclass
class Heading:
    text: str


@dataclass
class Table:
    id: str
    head: list[str]
    rows: list[list[str]]
    tones: list[str] = field(default_factory=list)  # one a row, or none
    more: str = ""  # "and N more ..." below the rows
    empty: str = "none"


@dataclass
class Timeline:
    """The timeline, drawn by each renderer from the report (SVG in HTML, a text strip in Markdown)."""


Block = Para | Facts | Heading | Table | Timeline


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block]


@dataclass
class Document:
    title: str
    verdict: Para
    sections: list[Section]
    footer: str


def header_section(report: Report) -> Section:
    i = report.incident
    role = i.role
    approvers = [f"{a.name} ({a.arn}) at {stamp(a.at)}" + (f": {a.comment}" if a.comment else "") for a in i.approvals]
    rows = [
        ("Incident", i.incident_id),
        ("Mode", i.mode.value),
        (
            "Final status",
            i.status.value + (f" ({i.status_reason})" if i.status_reason not in (None, i.status.value) else ""),
        ),
        ("Requester", f"{i.requester.name} ({i.requester.arn})"),
        ("SourceIdentity", role.source_identity if role else "- (no role session)"),
        ("Approvers", "; ".join(approvers) or f"none ({i.approvals_required} required)"),
        ("Emergency override", "YES: opened without the required approvals" if i.override else "no"),
        ("Reason", i.reason),
        ("Ticket", i.ticket or "-"),
        ("Targets", ", ".join(i.targets) or "-"),
        ("Opened", stamp(i.created_at)),
        ("Expiry", stamp(i.expires_at)),
        ("Closed", stamp(i.closed_at) if i.closed_at else "not closed"),
    ]
    if role is not None:
        rows.append(("Break-glass role", f"{role.role_arn} (session {role.session_name})"))
    if i.root is not None:
        rows.append(
            ("Root task", f"{i.root.task} on {i.root.account}" + (f": {i.root.resource}" if i.root.resource else ""))
        )
    return Section("incident", "Incident", [Facts(rows)])


def verdict(report: Report) -> Para:
    v = report.verification
    if not v.intact:
        return Para(f"Bundle CHANGED: {len(v.problems)} problem(s) found; do not trust this copy", "bad")
    final = _final_line(report)
    tone = "ok" if v.manifest is not None and v.manifest.final else "warn"
    return Para(f"Bundle intact: every hash, the journal chain and the manifest's facts verify. {final}", tone)


def _final_line(report: Report) -> str:
    manifest = report.verification.manifest
    if manifest is None:
        return ""
    if manifest.final:
        return "Final: collected after CloudTrail's delivery delay."
    after = report.verification.final_after
    line = f"NOT FINAL: CloudTrail may still deliver events; final after {stamp(after)}"
    if after is not None and report.generated_at >= after:
        line += " (that time has passed: collect again to finalize it)"
    return line + f": breakglass evidence collect {report.incident.incident_id}"


def verification_section(report: Report) -> Section:
    v, j = report.verification, report.journal
    m = v.manifest
    rows = [
        ("Result", "intact" if v.intact else f"CHANGED ({len(v.problems)} problem(s))"),
        ("Manifest SHA-256", v.manifest_sha256 or "no manifest"),
        ("Signature", v.signature),
        ("Final", _final_line(report) or "unknown (no readable manifest)"),
        ("Journal", f"{j.entries} entries, hash-chained; chain head {m.journal_chain_head if m else '-'}"),
        ("Anchors", _anchors_line(report)),
        ("Signed journal heads", ", ".join(f"entry {s}" for s in j.signed) or "none"),
    ]
    if m is not None:
        rows += [
            ("Collected", m.collected_at),
            ("CloudTrail window", f"{m.window_start} to {m.window_end}"),
            ("Events", f"{m.event_count} in {', '.join(m.regions)}"),
        ]
    blocks: list[Block] = [Facts(rows)]
    if v.problems:
        shown = v.problems[:MAX_PROBLEMS]
        more = f"and {len(v.problems) - len(shown)} more" if len(v.problems) > len(shown) else ""
        blocks.append(Table("problems", ["problem"], [[p] for p in shown], ["bad"] * len(shown), more))
    return Section("verification", "Verification", blocks)


def _anchors_line(report: Report) -> str:
    j = report.journal
    if not j.anchors and not j.anchor_failures:
        return "none written (no evidence_bucket was configured)"
    seqs = ", ".join(str(a.get("seq")) for a in j.anchors)
    failed = f"; {j.anchor_failures} anchor write(s) FAILED" if j.anchor_failures else ""
    return (
        f"{len(j.anchors)} journal head(s) anchored in the Object Lock bucket (entries {seqs}){failed}; "
        f"breakglass journal verify {report.incident.incident_id} checks them against the bucket"
    )


def timeline_section(report: Report) -> Section:
    s = report.scan
    counts = ", ".join(f"{s.by_kind[k]} {KIND_LABELS[k]}" for k in KIND_LABELS)
    blocks: list[Block] = [
        Para(f"{s.events} CloudTrail events: {counts}. {report.journal.marks_total} journal moments."),
        Timeline(),
    ]
    edges = [
        f"{s.before_axis} before the window's start" if s.before_axis else "",
        f"{s.after_axis} after its end" if s.after_axis else "",
        f"{s.untimed} without a readable time (not drawn)" if s.untimed else "",
        f"{s.unreadable} unreadable line(s)" if s.unreadable else "",
    ]
    if any(edges):
        blocks.append(Para("Events outside the axis: " + "; ".join(e for e in edges if e), "warn"))
    return Section("timeline", "Timeline", blocks)


KIND_LABELS = {
    "tool": "by the tool (the requester's identity)",
    "session": "with the break-glass credentials",
    "other": "by other principals",
    "error": "errors",
    "denied": "access denied",
}


def findings_section(report: Report) -> Section:
    s = report.scan
    total = s.findings_total
    if not total:
        return Section("findings", "Findings", [Para("No findings.", "ok")])
    blocks: list[Block] = [Para(f"{total} finding(s) for an auditor, on {s.flagged} call(s)", "bad")]
    counts = [[REASONS[r], str(n)] for r, n in s.finding_counts.most_common()]
    blocks.append(Table("finding-counts", ["finding", "count"], counts))
    rows = [_finding_row(f) for f in sorted(s.findings, key=lambda f: (f.time is None, f.time))]
    more = (
        f"and {s.flagged - len(rows)} more call(s) (the first {MAX_FINDINGS} are listed)"
        if s.flagged > len(rows)
        else ""
    )
    head = ["time", "findings", "call", "by", "detail", "event id"]
    blocks.append(Table("findings-table", head, rows, ["bad"] * len(rows), more))
    return Section("findings", "Findings", blocks)


def _finding_row(f: Finding) -> list[str]:
    reasons = "; ".join(REASONS[r] for r in f.reasons)
    return [stamp(f.time), reasons, f"{f.service}:{f.name}", f.who, f.detail, f.event_id]


def calls_section(report: Report) -> Section:
    s, ctx = report.scan, report.context
    if ctx.has_session:
        title = "Calls made with the break-glass credentials"
        intro = (
            f"{s.grouped} call(s) by session {ctx.session_name} (access keys {', '.join(sorted(ctx.session_keys))}), "
            f"first {stamp(s.session_first)}, last {stamp(s.session_last)}; write calls first."
        )
    else:
        title = "Calls in the bundle"
        intro = (
            f"This incident issued no break-glass session: all {s.grouped} call(s) of the bundle; write calls first."
        )
    groups = sorted(s.groups.values(), key=lambda g: (not g.write, -g.count, g.service, g.name))
    shown = groups[:TOP_OPERATIONS]
    rest = groups[TOP_OPERATIONS:] + ([s.others] if s.others.count else [])
    more = ""
    if rest:
        more = f"and {len(groups) - len(shown)} more operation(s), {sum(g.count for g in rest)} call(s)"
    head = ["service", "operation", "kind", "calls", "errors", "denied", "first", "last"]
    rows = [_group_row(g) for g in shown]
    tones = ["bad" if g.denied else "warn" if g.errors else "" for g in shown]
    return Section("calls", title, [Para(intro), Table("calls-table", head, rows, tones, more)])


def _group_row(g: Group) -> list[str]:
    kind = "write" if g.write else "read"
    return [g.service, g.name, kind, str(g.count), str(g.errors), str(g.denied), stamp(g.first), stamp(g.last)]
