"""Event fields are attacker-controlled text (anyone who can call AWS chooses a session's calls, a
bucket name, request parameters): in the report they are inert. HTML: no tag, attribute or script
of theirs, bidi and invisible characters shown as code points. Markdown: no raw HTML, no link,
pipes and backticks escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from breakglass_aws.evidence.report_text import md_text, neutral
from breakglass_aws.evidence.report_write import render_report
from tests.support.report_bundle import (
    BIDI,
    IMG,
    INVISIBLE,
    MARKUP,
    SCRIPT,
    Page,
    hostile_events,
    incident,
    make_bundle,
)

NOW = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "nav", "a", "main",
    "section", "table", "thead", "tbody", "tr", "th", "td", "div", "svg", "rect", "text", "line", "circle",
    "g", "ul", "li", "span", "footer",
}  # fmt: skip


@pytest.fixture
def bundle(tmp_path):
    record = incident(reason=f"db down {SCRIPT} {IMG} {BIDI}", ticket=f"INC|`1`{BIDI}")
    return make_bundle(tmp_path, hostile_events(), record)


def test_html_keeps_hostile_text_inert(bundle):
    _, text = render_report(bundle, "html", NOW)
    page = Page(text)
    assert "<script" not in text.lower() and "<img" not in text.lower()
    assert {t for t, _ in page.tags} <= ALLOWED_TAGS
    assert not [k for _, attributes in page.tags for k in attributes if k.startswith("on")]
    assert not [c for c in BIDI + INVISIBLE if c in text]
    shown = page.all_text()
    assert SCRIPT in shown and IMG in shown  # as text, visible to the reader
    assert "[U+202E]" in shown and "[U+2066]" in shown and "[U+200B]" in shown
    assert "db down <script>alert(1)</script>" in page.facts[0]["Reason"]
    calls = page.rows("calls-table")
    assert [r[3] for r in calls] == ["1", "1", "1", "1"]
    assert "Get[U+202E]Object" + MARKUP[:20] in " ".join(r[1] for r in calls)


def test_markdown_keeps_hostile_text_inert(bundle):
    _, text = render_report(bundle, "md", NOW)
    assert "<" not in text and ">" not in text.replace("&gt;", "")
    assert not [c for c in BIDI + INVISIBLE if c in text]
    prose = [line for line in text.splitlines() if not line.startswith("```")]
    assert not [line for line in prose if re.search(r"(?<!\\)`", line)], "every backtick is escaped"
    assert not re.search(r"(?<!\\)\]\(", text), "no link can be formed"
    assert "http://evil" not in text and "www.evil" not in text
    for table in _tables(text):
        widths = {len(re.findall(r"(?<!\\)\|", row)) for row in table}
        assert len(widths) == 1, f"a pipe broke a table row: {table}"
    assert "db down &lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "INC\\|\\`1\\`\\[U+202E\\]" in text


def _tables(text: str) -> list[list[str]]:
    found: list[list[str]] = []
    current: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            found.append(current)
            current = []
    return found


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\u202eb", "a[U+202E]b"),
        ("line\nbreak\ttab", "line break tab"),
        ("x" * 250, "x" * 200 + "…"),
        ("plain text: ok", "plain text: ok"),
    ],
)
def test_neutral(raw, shown):
    assert neutral(raw) == shown


def test_md_text_escapes_every_construct():
    assert md_text("|`*_[]~!$<>&") == "\\|\\`\\*\\_\\[\\]\\~\\!\\$&lt;&gt;&amp;"
    assert md_text("see https://x.example and www.y.example") == "see https:\\/\\/x.example and www\\.y.example"
