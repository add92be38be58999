"""`breakglass evidence report`: by bundle folder or incident id, HTML or Markdown, beside the bundle
or where --out says, never inside it; a changed bundle is reported, and exits 4."""

from __future__ import annotations

import json

import pytest

from breakglass_aws.evidence.bundle import verify_bundle
from tests.support.report_bundle import INCIDENT_ID, Page, make_bundle, seeded_events


@pytest.fixture
def bundle(tmp_path):
    return make_bundle(tmp_path, seeded_events())


def test_report_of_a_bundle_folder(cli, bundle):
    run = cli("evidence", "report", str(bundle))
    assert run.exit_code == 0, run.stderr
    written = bundle.parent / f"{INCIDENT_ID}.report.html"
    assert run.stdout.startswith(f"report {written} (html, ")
    assert "61 events, 12 finding(s); bundle intact" in run.stdout
    page = Page(written.read_text())
    assert page.sections == ["incident", "verification", "timeline", "findings", "calls", "changes"]
    assert verify_bundle(bundle) == []


def test_report_of_an_incident_reads_evidence_dir(cli, bundle, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_EVIDENCE_DIR", str(bundle.parent))
    run = cli("evidence", "report", INCIDENT_ID, "--format", "md", "--output", "json")
    assert run.exit_code == 0, run.stderr
    result = run.json()
    assert result["report"] == str(bundle.parent / f"{INCIDENT_ID}.report.md")
    assert (result["events"], result["findings"], result["intact"], result["final"]) == (61, 12, True, True)
    assert (
        (bundle.parent / f"{INCIDENT_ID}.report.md")
        .read_text()
        .startswith(f"# Break-glass incident report: {INCIDENT_ID}")
    )


def test_incident_without_a_bundle_says_collect_first(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("BREAKGLASS_EVIDENCE_DIR", str(tmp_path / "evidence"))
    run = cli("evidence", "report", "bg-20260301-030000-ffffff")
    assert run.exit_code == 2
    assert "no evidence bundle of bg-20260301-030000-ffffff" in run.stderr
    assert "collect it first: breakglass evidence collect bg-20260301-030000-ffffff" in run.stderr


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["nope"], "is neither a bundle folder nor an incident id"),
        (["{bundle}", "--format", "pdf"], "invalid --format 'pdf'"),
        (["{bundle}", "--out", "{bundle}/report.html"], "is inside the bundle"),
        (["{bundle}", "--out", "{tmp}/missing/report.html"], "does not exist"),
        (["{tmp}"], "is not an evidence bundle: it has no incident.json"),
    ],
)
def test_bad_input(cli, bundle, tmp_path, argv, fragment):
    args = [a.format(bundle=bundle, tmp=tmp_path) for a in argv]
    run = cli("evidence", "report", *args)
    assert run.exit_code == 2, run.stdout
    assert fragment in run.stderr
    assert sorted(p.name for p in bundle.iterdir()) == sorted(
        ["incident.json", "journal.jsonl", "cloudtrail-events.jsonl", "summary.json", "manifest.json"]
    )


def test_markdown_to_standard_output(cli, bundle):
    run = cli("evidence", "report", str(bundle), "--format", "md", "--out", "-")
    assert run.exit_code == 0, run.stderr
    assert run.stdout.startswith(f"# Break-glass incident report: {INCIDENT_ID}")
    assert "| ec2 | RunInstances | write | 7 | 0 | 0 |" in run.stdout
    assert not (bundle.parent / f"{INCIDENT_ID}.report.md").exists()


def test_changed_bundle_is_reported_and_exits_4(cli, bundle, tmp_path):
    events = bundle / "cloudtrail-events.jsonl"
    lines = events.read_text().splitlines()
    events.write_text("\n".join(lines[1:]) + "\n")  # an event removed
    out = tmp_path / "audit.html"
    run = cli("evidence", "report", str(bundle), "--out", str(out))
    assert run.exit_code == 4
    assert "failed verification: changed: cloudtrail-events.jsonl" in run.stderr
    page = Page(out.read_text())
    assert page.facts[1]["Result"] == "CHANGED (2 problem(s))"
    assert [r[0] for r in page.rows("problems")] == [
        "changed: cloudtrail-events.jsonl",
        "manifest.json: event_count 61 but cloudtrail-events.jsonl holds 60 events",
    ]
    assert "Bundle CHANGED: 2 problem(s) found; do not trust this copy" in page.all_text()
    json_run = cli("evidence", "report", str(bundle), "--out", str(out), "--output", "json")
    assert json_run.exit_code == 4 and json.loads(json_run.stdout)["intact"] is False


def test_damaged_incident_record(cli, bundle):
    (bundle / "incident.json").write_text("{not json")
    run = cli("evidence", "report", str(bundle))
    assert run.exit_code == 4
    assert "incident.json is not an incident record" in run.stderr
