"""`drill --sandbox` ends by writing the incident report of each of its two bundles, beside them,
and printing their paths: the SCP incident's (the policies detached and restored) and the role
incident's (the harmless call made with the break-glass credentials, the revocation, the rotation)."""

from __future__ import annotations

import re
from pathlib import Path

from breakglass_aws.evidence.bundle import verify_bundle
from tests.support.report_bundle import Page


def test_drill_sandbox_writes_the_two_reports(cli, tmp_path):
    out = tmp_path / "evidence"
    run = cli("drill", "--sandbox", "--out", str(out))
    assert run.exit_code == 0, run.stderr[-3000:]
    printed = re.findall(r"^incident report: (.+)$", run.stdout, re.MULTILINE)
    bundles = sorted(p for p in out.iterdir() if p.is_dir())
    assert sorted(printed) == [str(b.parent / f"{b.name}.report.html") for b in bundles]
    assert run.stdout.rstrip().splitlines()[-4:-2] == [f"incident report: {p}" for p in printed]
    pages = {b.name: Page(Path(f"{b}.report.html").read_text()) for b in bundles}
    for bundle in bundles:
        assert verify_bundle(bundle) == [], "the report is written beside the bundle, never inside it"
    by_mode = {page.facts[0]["Mode"]: page for page in pages.values()}
    assert sorted(by_mode) == ["role", "scp"]
    _scp_report(by_mode["scp"])
    _role_report(by_mode["role"])


def _scp_report(page: Page) -> None:
    assert page.sections == ["incident", "verification", "timeline", "findings", "calls", "changes"]
    assert page.facts[1]["Result"] == "intact"
    assert page.facts[1]["Final"].startswith("NOT FINAL: CloudTrail may still deliver events; final after ")
    policies = page.rows("policies-table")
    assert len(policies) == 1 and policies[0][3].startswith("restored: ")
    assert "DenyLeaveOrganization" in policies[0][1] and "DenyOutsideEU" in policies[0][1]
    calls = {(r[0], r[1]): r[3] for r in page.rows("calls-table")}
    assert calls == {("organizations", "DetachPolicy"): "2", ("organizations", "AttachPolicy"): "2"}
    assert "No findings." in page.all_text()


def _role_report(page: Page) -> None:
    assert page.facts[0]["SourceIdentity"] == "sandbox-engineer"
    assert [r[:4] for r in page.rows("calls-table")] == [["sts", "GetCallerIdentity", "read", "1"]]
    assert len(page.rows("sessions-table")) == 1
    assert [r[0] for r in page.rows("rotations-table")] == ["breakglass-1"]
    assert "(sessions issued before it are denied)" in page.all_text()
    assert any(t == "svg" for t, _ in page.tags)
