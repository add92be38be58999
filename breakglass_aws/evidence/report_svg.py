"""The timeline as inline SVG: the journal's moments and one lane per kind of CloudTrail call on one
time axis (a bar per column whose height grows with the log of its count), the emergency window
shaded and the revocation cut-off marked. Its size is bounded whatever the number of events. Every
text is escaped; no script, no link, no external reference."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from breakglass_aws.evidence.report import Report
from breakglass_aws.evidence.report_journal import Mark
from breakglass_aws.evidence.report_scan import KINDS
from breakglass_aws.evidence.report_text import html_text, stamp
from breakglass_aws.evidence.report_view import COLUMNS, View, view_of

__all__ = ["COLOURS", "LANE_LABELS", "timeline_svg"]

WIDTH, LEFT, RIGHT, TOP, LANE, GAP = 1200, 200, 20, 40, 30, 8
TICKS = 6
MARK_LABELS = 8  # journal moments named in one column's tooltip
COLOURS = {
    "lifecycle": "#111827",
    "change": "#2563eb",
    "failed": "#b91c1c",
    "tool": "#2563eb",
    "session": "#ea580c",
    "other": "#6b7280",
    "error": "#a21caf",
    "denied": "#dc2626",
    "window": "#fef3c7",
    "cutoff": "#b91c1c",
}
LANE_LABELS = {
    "journal": "journal: transitions, changes",
    "tool": "the tool (requester)",
    "session": "break-glass credentials",
    "other": "other principals",
    "error": "errors",
    "denied": "access denied",
}
PLOT = WIDTH - LEFT - RIGHT


def timeline_svg(report: Report) -> str:
    axis = view_of(report)
    lanes = ["journal", *KINDS]
    height = TOP + len(lanes) * (LANE + GAP) + 52
    title = f"Timeline of incident {report.incident.incident_id}"
    parts = [
        f'<svg id="timeline-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{html_text(title)}" '
        'font-family="sans-serif" font-size="11">',
        f"<title>{html_text(title)}</title>",
        *_window(report, axis, height),
        *_lane_frames(lanes),
        *_marks(report.journal.marks, axis, height),
        *_bars(axis),
        *_cutoff(report, axis, height),
        *_ticks(axis, height),
        "</svg>",
    ]
    return "\n".join(parts)


def _x(axis: View, when: datetime) -> float:
    return round(LEFT + axis.fraction(when) * PLOT, 1)


def _lane_y(index: int) -> int:
    return TOP + index * (LANE + GAP)


def _window(report: Report, axis: View, height: int) -> list[str]:
    ctx = report.context
    left, right = _x(axis, ctx.opened), _x(axis, min(ctx.ended, axis.end))
    label = f"emergency window {stamp(ctx.opened)} to {stamp(ctx.ended)}"
    x, anchor = (left + 3, "start") if left < LEFT + PLOT / 2 else (right - 3, "end")
    return [
        f'<rect class="window" x="{left}" y="{TOP - 14}" width="{max(right - left, 1.0)}" '
        f'height="{height - TOP - 30}" fill="{COLOURS["window"]}"><title>{html_text(label)}</title></rect>',
        f'<text x="{x}" y="{TOP - 4}" text-anchor="{anchor}" fill="#92400e">emergency window</text>',
    ]


def _lane_frames(lanes: list[str]) -> list[str]:
    parts = []
    for index, lane in enumerate(lanes):
        y = _lane_y(index)
        parts.append(
            f'<rect x="{LEFT}" y="{y}" width="{PLOT}" height="{LANE}" fill="none" stroke="#e5e7eb"/>'
            f'<text x="{LEFT - 8}" y="{y + LANE / 2 + 4}" text-anchor="end">{html_text(LANE_LABELS[lane])}</text>'
        )
    return parts


def _bars(axis: View) -> list[str]:
    bins = axis.columns
    peak = max((c for kind in KINDS for c in bins[kind]), default=0)
    if peak == 0:
        return []
    width = PLOT / COLUMNS
    parts = []
    for index, kind in enumerate(KINDS, start=1):
        bottom = _lane_y(index) + LANE
        for column, count in enumerate(bins[kind]):
            if count:
                tall = max(2.0, LANE * math.log1p(count) / math.log1p(peak))
                first, last = axis.column_time(column)
                tip = f"{count} {LANE_LABELS[kind]}, {stamp(first)} to {stamp(last)}"
                parts.append(
                    f'<rect class="k-{kind}" x="{LEFT + column * width:.1f}" y="{bottom - tall:.1f}" '
                    f'width="{max(width - 0.6, 1.0):.1f}" height="{tall:.1f}" fill="{COLOURS[kind]}">'
                    f"<title>{html_text(tip)}</title></rect>"
                )
    return parts


def _marks(marks: list[Mark], axis: View, height: int) -> list[str]:
    """Lifecycle transitions as lines across every lane; the tool's changes as dots in the journal's
    lane (a failed one in red). Moments in one column share one mark, named in its tooltip."""
    by_column: dict[tuple[bool, int], list[Mark]] = {}
    for mark in marks:
        by_column.setdefault((mark.kind == "lifecycle", axis.column(mark.time)), []).append(mark)
    y = _lane_y(0)
    parts = []
    for (lifecycle, _), found in sorted(by_column.items()):
        x = _x(axis, found[0].time)
        title = f"<title>{html_text(_names(found), 2000)}</title>"
        if lifecycle:
            parts.append(
                f'<g class="mark-lifecycle">{title}<line x1="{x}" y1="{y}" x2="{x}" y2="{height - 40}" '
                f'stroke="{COLOURS["lifecycle"]}" stroke-opacity="0.45" stroke-width="1.5"/></g>'
            )
            continue
        kind = "failed" if any(m.kind == "failed" for m in found) else "change"
        parts.append(
            f'<g class="mark-{kind}">{title}<circle cx="{x}" cy="{y + LANE / 2}" r="4" fill="{COLOURS[kind]}"/></g>'
        )
    return parts


def _names(found: list[Mark]) -> str:
    names = [f"{stamp(m.time)} {m.label}" for m in found[:MARK_LABELS]]
    if len(found) > MARK_LABELS:
        names.append(f"and {len(found) - MARK_LABELS} more")
    return "; ".join(names)


def _cutoff(report: Report, axis: View, height: int) -> list[str]:
    cutoff = report.context.cutoff
    if cutoff is None or not axis.start <= cutoff <= axis.end:
        return []
    x = _x(axis, cutoff)
    label = f"revocation cut-off {stamp(cutoff)}"
    return [
        f'<line class="cutoff" x1="{x}" y1="{TOP - 16}" x2="{x}" y2="{height - 40}" stroke="{COLOURS["cutoff"]}" '
        f'stroke-dasharray="4 3"><title>{html_text(label)}</title></line>',
        f'<text x="{x}" y="{TOP - 20}" text-anchor="{_anchor(x)}" fill="{COLOURS["cutoff"]}">revocation cut-off</text>',
    ]


def _anchor(x: float) -> str:
    """A label at x stays inside the picture."""
    offset = (x - LEFT) / PLOT
    return "start" if offset < 0.15 else "end" if offset > 0.85 else "middle"


def _ticks(axis: View, height: int) -> list[str]:
    y = height - 40
    parts = [f'<line x1="{LEFT}" y1="{y}" x2="{LEFT + PLOT}" y2="{y}" stroke="#9ca3af"/>']
    for step in range(TICKS):
        when = axis.start + timedelta(seconds=axis.span * step / (TICKS - 1))
        x = _x(axis, when)
        anchor = "start" if step == 0 else "end" if step == TICKS - 1 else "middle"
        parts.append(
            f'<line x1="{x}" y1="{y}" x2="{x}" y2="{y + 4}" stroke="#9ca3af"/>'
            f'<text x="{x}" y="{y + 15}" text-anchor="{anchor}">{when.astimezone(UTC):%H:%M:%S}</text>'
        )
    caption = f"{stamp(axis.start)} to {stamp(axis.end)} (UTC)"
    parts.append(f'<text x="{LEFT}" y="{y + 31}" fill="#6b7280">{html_text(caption)}</text>')
    return parts
