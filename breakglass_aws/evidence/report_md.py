"""The report as Markdown, for a ticket: the same sections as the HTML, with the timeline as a
strip of block characters in a code block (built from counts only: no value from the bundle ever
enters it). Every value from the bundle goes through `md_text`: no raw HTML, no link, pipes and
backticks escaped."""

from __future__ import annotations

from breakglass_aws.evidence.report import Report
from breakglass_aws.evidence.report_doc import Block, Document, Facts, Heading, Para, Section, Table, Timeline
from breakglass_aws.evidence.report_scan import KINDS
from breakglass_aws.evidence.report_svg import LANE_LABELS
from breakglass_aws.evidence.report_text import md_text, stamp
from breakglass_aws.evidence.report_view import COLUMNS, view_of

__all__ = ["render_md"]

STRIP = 60  # characters of the text timeline
LEVELS = " ▁▂▃▄▅▆▇█"
MAX_MOMENTS = 60  # journal moments listed under the strip


def render_md(document: Document, report: Report) -> str:
    lines = [f"# {md_text(document.title)}", "", _para(document.verdict)]
    for section in document.sections:
        lines += ["", *_section(section, report)]
    lines += ["", "---", "", f"*{md_text(document.footer, 2000)}*"]
    return "\n".join(lines) + "\n"


def _section(section: Section, report: Report) -> list[str]:
    lines = [f"## {md_text(section.title)}"]
    for block in section.blocks:
        lines += ["", *_block(block, report)]
    return lines


def _block(block: Block, report: Report) -> list[str]:
    if isinstance(block, Para):
        return [_para(block)]
    if isinstance(block, Heading):
        return [f"### {md_text(block.text)}"]
    if isinstance(block, Facts):
        return ["| field | value |", "|---|---|", *(f"| {md_text(k)} | {md_text(v, 2000)} |" for k, v in block.rows)]
    if isinstance(block, Table):
        return _table(block)
    return _timeline(block, report)


def _para(para: Para) -> str:
    text = md_text(para.text, 2000)
    return f"**{text}**" if para.tone in ("bad", "warn") else text


def _table(table: Table) -> list[str]:
    lines = ["| " + " | ".join(md_text(h) for h in table.head) + " |", "|" + "---|" * len(table.head)]
    lines += ["| " + " | ".join(md_text(c, 1000) for c in row) + " |" for row in table.rows]
    if not table.rows:
        lines.append("| " + md_text(table.empty) + " |" + " |" * (len(table.head) - 1))
    if table.more:
        lines += ["", f"*{md_text(table.more)}*"]
    return lines


def _timeline(_block: Timeline, report: Report) -> list[str]:
    width = max(len(label) for label in LANE_LABELS.values())
    view = view_of(report)
    strips = [f"{LANE_LABELS[k]:>{width}} |{_strip(view.columns[k])}|" for k in KINDS]
    span = f"{stamp(view.start)} to {stamp(view.end)} (UTC), {STRIP} columns"
    lines = ["```text", f"{'':>{width}}  {span}", *strips, "```"]
    return lines + _moments(report)


def _strip(bins: list[int]) -> str:
    per = COLUMNS // STRIP
    sums = [sum(bins[i : i + per]) for i in range(0, COLUMNS, per)]
    peak = max(sums, default=0)
    if peak == 0:
        return " " * len(sums)
    return "".join(LEVELS[min(len(LEVELS) - 1, -(-count * (len(LEVELS) - 1) // peak))] for count in sums)


def _moments(report: Report) -> list[str]:
    marks = report.journal.marks[:MAX_MOMENTS]
    if not marks:
        return []
    lines = ["", "| time | journal moment |", "|---|---|"]
    lines += [f"| {stamp(m.time)} | {md_text(m.label)} |" for m in marks]
    if report.journal.marks_total > len(marks):
        lines += ["", f"*and {report.journal.marks_total - len(marks)} more journal moments*"]
    return lines
