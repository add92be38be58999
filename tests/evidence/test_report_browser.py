"""The HTML report in a real browser: headless Chromium (the Debian package; .ci/run installs it)
renders it to a PNG, and the DOM it builds holds the timeline's SVG and the grouped calls. Skipped,
with the reason, where Chromium is not installed."""

from __future__ import annotations

import struct
import subprocess
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from breakglass_aws.evidence.report_write import write_report
from tests.support.report_bundle import SCRIPT, hostile_events, make_bundle, seeded_events

CHROMIUM = "/usr/bin/chromium"
NOW = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run installs it when it runs as root)",
)


def chromium(tmp_path: Path, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "profile"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
    )


def png_facts(path: Path) -> tuple[int, int, int]:
    """Width, height, and how many distinct byte values its pixels hold (a blank page has few)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    chunks, offset = [], 8
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if kind == b"IDAT":
            chunks.append(data[offset + 8 : offset + 8 + size])
        offset += 12 + size
    return width, height, len(set(zlib.decompress(b"".join(chunks))))


@pytest.fixture
def report(tmp_path):
    events = seeded_events() + [{**e, "EventId": f"x-{e['EventId']}"} for e in hostile_events()]
    bundle = make_bundle(tmp_path / "bundle", events)
    return Path(write_report(bundle, "html", NOW).report)


def test_chromium_renders_the_report(tmp_path, report):
    shot = tmp_path / "report.png"
    run = chromium(tmp_path, report, f"--screenshot={shot}", "--window-size=1280,2000")
    assert shot.is_file(), run.stderr[-2000:]
    width, height, variety = png_facts(shot)
    assert (width, height) == (1280, 2000)
    assert shot.stat().st_size > 30_000 and variety > 100, "the screenshot is nearly blank"


def test_chromium_dom_holds_the_timeline_and_the_grouped_calls(tmp_path, report):
    run = chromium(tmp_path, report, "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    assert '<svg id="timeline-svg"' in dom and 'class="k-session"' in dom
    assert '<table id="calls-table"' in dom
    assert "<td>RunInstances</td>" in dom and '<td class="num">7</td>' in dom
    assert "<script" not in dom.lower(), "no script in the page, and none was added by the hostile fields"
    assert SCRIPT.replace("<", "&lt;").replace(">", "&gt;") in dom
