"""The timeline's view: the part of the collection window where something happened (the events,
the journal's moments, the emergency window), with the scan's fine bins summed into columns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from breakglass_aws.evidence.report import Report
from breakglass_aws.evidence.report_scan import BINS, KINDS

__all__ = ["COLUMNS", "View", "view_of"]

COLUMNS = 240
PAD = 0.03  # of the span, on each side


@dataclass
class View:
    start: datetime
    end: datetime
    columns: dict[str, list[int]]  # counts per kind, COLUMNS each

    @property
    def span(self) -> float:
        return max((self.end - self.start).total_seconds(), 1.0)

    def fraction(self, when: datetime) -> float:
        return min(max((when - self.start).total_seconds() / self.span, 0.0), 1.0)

    def column(self, when: datetime) -> int:
        return min(int(self.fraction(when) * COLUMNS), COLUMNS - 1)

    def column_time(self, column: int) -> tuple[datetime, datetime]:
        width = self.span / COLUMNS
        first = self.start + timedelta(seconds=column * width)
        return first, first + timedelta(seconds=width)


def view_of(report: Report) -> View:
    start, end = report.context.axis
    width = max((end - start).total_seconds(), 1.0) / BINS
    low, high = _busy(report, start, end, width)
    pad = timedelta(seconds=max((high - low).total_seconds(), 1.0) * PAD)
    low, high = max(start, low - pad), min(end, high + pad)
    if high <= low:
        high = low + timedelta(seconds=1)
    view = View(low, high, {k: [0] * COLUMNS for k in KINDS})
    for kind in KINDS:
        for index, count in enumerate(report.scan.bins[kind]):
            if count:
                middle = start + timedelta(seconds=(index + 0.5) * width)
                view.columns[kind][view.column(middle)] += count
    return view


def _busy(report: Report, start: datetime, end: datetime, width: float) -> tuple[datetime, datetime]:
    ctx = report.context
    moments = [ctx.opened, min(ctx.ended, end)] + [m.time for m in report.journal.marks]
    used = [i for i in range(BINS) if any(report.scan.bins[k][i] for k in KINDS)]
    if used:
        moments += [start + timedelta(seconds=used[0] * width), start + timedelta(seconds=(used[-1] + 1) * width)]
    inside = [min(max(m, start), end) for m in moments]
    return min(inside), max(inside)
