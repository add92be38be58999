"""The report as one self-contained HTML file: inline CSS (allowed by its hash in a strict
Content-Security-Policy) and inline SVG; no script, no style attribute, no external asset, no
form. Every value from the bundle goes through `html_text`."""

from __future__ import annotations

import base64
import hashlib

from breakglass_aws.evidence.report import Report
from breakglass_aws.evidence.report_doc import Block, Document, Facts, Heading, Para, Section, Table, Timeline
from breakglass_aws.evidence.report_scan import KINDS
from breakglass_aws.evidence.report_svg import COLOURS, LANE_LABELS, timeline_svg
from breakglass_aws.evidence.report_text import html_text

__all__ = ["CSS", "csp", "render_html"]

_BASE_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; color: #111827; margin: 0 auto; max-width: 1240px; padding: 16px; }
h1 { font-size: 22px; margin: 0 0 8px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #d1d5db; }
h3 { font-size: 15px; margin: 18px 0 6px; }
nav a { margin-right: 12px; color: #1d4ed8; }
table { border-collapse: collapse; margin: 6px 0; width: 100%; }
th, td { border: 1px solid #e5e7eb; padding: 3px 6px; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
thead th { background: #f3f4f6; white-space: nowrap; }
table.facts th { width: 210px; background: #f9fafb; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.time { white-space: nowrap; }
tr.bad td { background: #fef2f2; } tr.warn td { background: #fffbeb; }
p.verdict { padding: 8px 10px; border-radius: 4px; font-weight: 600; }
p.ok { background: #ecfdf5; color: #065f46; } p.warn { background: #fffbeb; color: #92400e; }
p.bad { background: #fef2f2; color: #991b1b; }
p.more, td.empty { color: #6b7280; font-style: italic; }
div.timeline { overflow-x: auto; } svg { max-width: 100%; height: auto; }
ul.legend { list-style: none; padding: 0; } ul.legend li { display: inline-block; margin-right: 16px; }
span.swatch { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: middle; }
footer { margin-top: 32px; color: #6b7280; font-size: 12px; }
"""
CSS = _BASE_CSS + "".join(f"span.s-{k} {{ background: {COLOURS[k]}; }}\n" for k in (*KINDS, "lifecycle", "window"))
NUMERIC = {"calls", "errors", "denied", "count"}
TIMES = {"time", "first", "last", "issued", "expires"}  # columns of the report's own timestamps: kept on one line


def csp(style: str) -> str:
    """Nothing may load or run: only this page's one <style> element, allowed by its hash."""
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; font-src 'none'; "
        "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'"
    )


def render_html(document: Document, report: Report) -> str:
    nav = " ".join(f'<a href="#{s.id}">{html_text(s.title)}</a>' for s in document.sections)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{csp(CSS)}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html_text(document.title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        f"<header><h1>{html_text(document.title)}</h1>{_para(document.verdict, 'verdict')}<nav>{nav}</nav></header>",
        "<main>",
        *(_section(s, report) for s in document.sections),
        "</main>",
        f"<footer>{html_text(document.footer, 2000)}</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _section(section: Section, report: Report) -> str:
    blocks = "\n".join(_block(b, report) for b in section.blocks)
    return f'<section id="{section.id}">\n<h2>{html_text(section.title)}</h2>\n{blocks}\n</section>'


def _block(block: Block, report: Report) -> str:
    if isinstance(block, Para):
        return _para(block)
    if isinstance(block, Heading):
        return f"<h3>{html_text(block.text)}</h3>"
    if isinstance(block, Facts):
        rows = "".join(
            f'<tr><th scope="row">{html_text(k)}</th><td>{html_text(v, 2000)}</td></tr>' for k, v in block.rows
        )
        return f'<table class="facts">{rows}</table>'
    if isinstance(block, Table):
        return _table(block)
    return _timeline(block, report)


def _para(para: Para, extra: str = "") -> str:
    classes = " ".join(c for c in (extra, para.tone) if c)
    attribute = f' class="{classes}"' if classes else ""
    return f"<p{attribute}>{html_text(para.text, 2000)}</p>"


def _table(table: Table) -> str:
    head = "".join(f'<th scope="col">{html_text(h)}</th>' for h in table.head)
    classes = [' class="num"' if h in NUMERIC else ' class="time"' if h in TIMES else "" for h in table.head]
    rows = []
    for index, row in enumerate(table.rows):
        tone = table.tones[index] if index < len(table.tones) else ""
        cells = "".join(f"<td{classes[i]}>{html_text(c, 1000)}</td>" for i, c in enumerate(row))
        rows.append(f'<tr class="{tone}">{cells}</tr>' if tone else f"<tr>{cells}</tr>")
    if not rows:
        rows.append(f'<tr><td class="empty" colspan="{len(table.head)}">{html_text(table.empty)}</td></tr>')
    more = f'<p class="more">{html_text(table.more)}</p>' if table.more else ""
    body = "".join(rows)
    return f'<table id="{table.id}" class="grid"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}'


def _timeline(_block: Timeline, report: Report) -> str:
    legend = "".join(f'<li><span class="swatch s-{k}"></span>{html_text(LANE_LABELS[k])}</li>' for k in KINDS) + (
        '<li><span class="swatch s-lifecycle"></span>journal moment</li>'
        '<li><span class="swatch s-window"></span>emergency window</li>'
    )
    return f'<div class="timeline">\n{timeline_svg(report)}\n</div>\n<ul class="legend">{legend}</ul>'
