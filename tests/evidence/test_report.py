"""The incident report of a seeded bundle: the sections, the exact counts of the grouped calls and
of the findings, write calls first, what the tool changed, the verification; the same in Markdown;
large bundles capped in the lists and exact in the counts."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from breakglass_aws.evidence.bundle import verify_bundle
from breakglass_aws.evidence.report_html import CSS, csp
from breakglass_aws.evidence.report_write import render_report, write_report
from breakglass_aws.models import Approval, Mode, RootTask
from tests.support.report_bundle import (
    INCIDENT_ID,
    KEY,
    Page,
    at,
    event,
    incident,
    make_bundle,
    seeded_events,
)

NOW = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
SECTIONS = ["incident", "verification", "timeline", "findings", "calls", "changes"]


@pytest.fixture
def bundle(tmp_path):
    return make_bundle(tmp_path, seeded_events())


@pytest.fixture
def page(bundle):
    _, text = render_report(bundle, "html", NOW)
    return Page(text)


def test_sections_header_and_verification(page):
    assert page.sections == SECTIONS
    header = page.facts[0]
    assert header["Incident"] == INCIDENT_ID
    assert header["Mode"] == "role"
    assert header["Final status"] == "closed"
    assert header["Requester"] == "alice (arn:aws:iam::123456789012:user/alice)"
    assert header["SourceIdentity"] == "alice"
    assert header["Approvers"] == "none (0 required)"
    assert header["Emergency override"] == "no"
    assert (header["Reason"], header["Ticket"]) == ("IdP down", "INC-42")
    assert header["Opened"] == "2026-03-01 03:00:00Z" and header["Closed"] == "2026-03-01 03:30:00Z"
    assert header["Expiry"] == "2026-03-01 04:00:00Z"
    verification = page.facts[1]
    assert verification["Result"] == "intact"
    assert verification["Final"].startswith("Final: collected after CloudTrail's delivery delay")
    assert verification["Signature"].startswith("unsigned")
    assert verification["Events"] == "61 in eu-west-1, us-east-1"
    assert "Bundle intact" in page.all_text()


def test_calls_grouped_write_first_with_exact_counts(page):
    rows = page.rows("calls-table")
    assert [r[:6] for r in rows] == [
        ["ec2", "RunInstances", "write", "7", "0", "0"],
        ["ec2", "TerminateInstances", "write", "3", "1", "1"],
        ["iam", "PutUserPolicy", "write", "2", "0", "0"],
        ["cloudtrail", "StopLogging", "write", "1", "0", "0"],
        ["iam", "DeleteRolePolicy", "write", "1", "1", "1"],
        ["s3", "GetObject", "read", "40", "0", "0"],
        ["kms", "Decrypt", "read", "1", "1", "0"],
        ["s3", "ListBuckets", "read", "1", "0", "0"],
        ["secretsmanager", "GetSecretValue", "read", "1", "0", "0"],
    ]
    assert rows[5][6:] == ["2026-03-01 03:01:00Z", "2026-03-01 03:04:54Z"]
    assert f"57 call(s) by session breakglass-{INCIDENT_ID} (access keys {KEY})" in page.all_text()


def test_findings_counted_and_listed(page):
    counts = {r[0]: int(r[1]) for r in page.rows("finding-counts")}
    assert counts == {
        "a change to IAM or CloudTrail made with the break-glass credentials": 4,
        "access denied": 2,
        "a call with the break-glass credentials outside the emergency window": 2,
        "a call on the break-glass resources themselves": 2,
        "a call with the break-glass credentials after the revocation cut-off": 1,
        "a change of the kind the tool makes, by another principal": 1,
    }
    listed = {r[5]: r for r in page.rows("findings-table")}
    assert list(listed) == [f"evt-000{n}" for n in (700, 202, 300, 301, 400, 500, 903, 600)]  # by time
    late = listed["evt-000600"]
    assert late[1].split("; ") == [
        "access denied",
        "a call with the break-glass credentials outside the emergency window",
        "a call with the break-glass credentials after the revocation cut-off",
        "a change to IAM or CloudTrail made with the break-glass credentials",
        "a call on the break-glass resources themselves",
    ]
    assert late[0] == "2026-03-01 03:35:00Z"
    assert late[2:5] == [
        "iam:DeleteRolePolicy",
        f"breakglass-{INCIDENT_ID}",
        "write; error AccessDenied; not authorized: explicit deny",
    ]
    assert listed["evt-000903"][1:4] == [
        "a change of the kind the tool makes, by another principal",
        "iam:DeleteRolePolicy",
        "mallory",
    ]
    assert listed["evt-000500"][1:3] == [
        "a call on the break-glass resources themselves",
        "secretsmanager:GetSecretValue",
    ]
    assert "12 finding(s) for an auditor, on 8 call(s)" in page.all_text()


def test_timeline_svg_lanes_window_and_cutoff(page):
    tags = [t for t, _ in page.tags]
    assert "svg" in tags
    bars = [a for t, a in page.tags if t == "rect" and str(a.get("class", "")).startswith("k-")]
    assert {a["class"] for a in bars} == {"k-tool", "k-session", "k-other", "k-error", "k-denied"}
    assert any(t == "rect" and a.get("class") == "window" for t, a in page.tags)
    assert any(t == "line" and a.get("class") == "cutoff" for t, a in page.tags)
    marks = {a["class"] for t, a in page.tags if t == "g"}
    assert {"mark-lifecycle", "mark-change"} <= marks
    text = page.all_text()
    assert "61 CloudTrail events: 3 by the tool (the requester's identity), 54 with the break-glass credentials" in text
    assert "1 by other principals, 1 errors, 2 access denied" in text


def test_changes_revocation_rotation_and_sessions(page):
    assert page.rows("sessions-table") == [[KEY, "2026-03-01 03:00:00Z", "2026-03-01 04:00:00Z"]]
    assert page.rows("rotations-table") == [["breakglass-1", "AKIANEWKEY0000000001", "AKIAOLDKEY0000000001"]]
    changes = [r[1] for r in page.rows("changes-table")]
    assert changes == [
        "assume-role",
        "revoke-sessions BreakGlassAdmin",
        "create-key breakglass-1",
        "delete-key breakglass-1",
    ]
    text = page.all_text()
    assert "2026-03-01 03:30:00Z (sessions issued before it are denied)" in text
    assert "inline policy AWSRevokeOlderSessions" in text


def test_html_is_self_contained_and_inert(page, bundle):
    _, text = render_report(bundle, "html", NOW)
    tags = {t for t, _ in page.tags}
    assert not tags & {"script", "img", "iframe", "object", "embed", "link", "form", "base", "image", "use"}
    assert not [k for _, a in page.tags for k in a if k.startswith("on") or k == "style"]
    assert [a["href"] for t, a in page.tags if t == "a"] == [f"#{s}" for s in SECTIONS]
    policy = [a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert policy == [csp(CSS)] and "default-src 'none'" in policy[0] and "script-src 'none'" in policy[0]
    assert f"<style>{CSS}</style>" in text
    assert not re.search(r"(?i)\b(src|href)\s*=\s*[\"']?(https?:|//|data:|javascript:)", text)


def test_write_beside_the_bundle_leaves_it_intact(bundle):
    result = write_report(bundle, "html", NOW)
    assert result.report == str(bundle.parent / f"{INCIDENT_ID}.report.html")
    assert (result.events, result.findings, result.intact, result.final) == (61, 12, True, True)
    assert verify_bundle(bundle) == []


def test_markdown_has_the_same_sections_and_counts(bundle):
    _, text = render_report(bundle, "md", NOW)
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    assert headings == [
        "Incident",
        "Verification",
        "Timeline",
        "Findings",
        "Calls made with the break-glass credentials",
        "What the tool changed and put back",
    ]
    assert "| ec2 | TerminateInstances | write | 3 | 1 | 1 | 2026-03-01 03:06:00Z | 2026-03-01 03:06:00Z |" in text
    assert "| access denied | 2 |" in text
    assert "12 finding(s) for an auditor, on 8 call(s)" in text
    assert "| breakglass-1 | AKIANEWKEY0000000001 | AKIAOLDKEY0000000001 |" in text
    strip = re.search(r"```text\n(.*?)```", text, re.DOTALL)
    assert strip is not None and "break-glass credentials |" in strip.group(1)
    assert "<" not in text


def test_large_bundle_lists_are_capped_and_counts_exact(tmp_path):
    """300 operations and 700 access denials: 200 rows and 500 findings listed, every one counted."""
    events = [
        event(
            n,
            f"Op{n % 300:03d}",
            at(1 + (n % 600) / 60),
            "ec2",
            read_only=True,
            error="AccessDenied" if n < 700 else None,
        )
        for n in range(1500)
    ]
    folder = make_bundle(tmp_path, events)
    _, text = render_report(folder, "html", NOW)
    page = Page(text)
    assert len(page.rows("calls-table")) == 200
    assert "and 100 more operation(s), 500 call(s)" in text
    assert {r[0]: int(r[1]) for r in page.rows("finding-counts")} == {"access denied": 700}
    assert len(page.rows("findings-table")) == 500
    assert "and 200 more call(s) (the first 500 are listed)" in text
    assert "1500 call(s) by session" in text


def test_incident_without_a_session_groups_every_call(tmp_path):
    record = incident()
    record.role = None
    folder = make_bundle(tmp_path, [event(1, "GetCallerIdentity", at(1), "sts", username="alice", key=None)], record)
    page = Page(render_report(folder, "html", NOW)[1])
    assert [r[:6] for r in page.rows("calls-table")] == [["sts", "GetCallerIdentity", "read", "1", "0", "0"]]
    assert "This incident issued no break-glass session: all 1 call(s) of the bundle" in page.all_text()
    assert page.facts[0]["SourceIdentity"] == "- (no role session)"


def test_root_task_policy_by_digest_never_its_text(tmp_path):
    """The lockout policy's text is in the bundle's journal; the report names it by SHA-256 and size."""
    text = '{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Sid":"TEXT-MARKER"}]}'
    record = incident().model_copy(
        update={
            "mode": Mode.ROOT,
            "role": None,
            "override": True,
            "approvals": [Approval(principal="bob", arn="arn:aws:iam::123456789012:user/bob", name="bob", at=at(1))],
            "root": RootTask(
                task="unlock-bucket",
                account="210987654321",
                task_policy_arn="arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy",
                region="us-east-1",
                duration_seconds=900,
                resource="orders-data",
            ),
        }
    )
    read = {"resource": "orders-data", "kind": "bucket", "region": "us-east-1", "by": "root-task", "first": True}
    entries = [
        ("opened", {"incident": record.public()}),
        ("policy-read", {**read, "found": True, "policy": text, "sha256": "ab" * 32, "bytes": len(text)}),
        ("outcome", {"ok": True, "step": {"action": "delete-policy", "resource": "orders-data", "kind": "bucket"}}),
        ("verified", {"resource": "orders-data", "found": False, "matches": True, "sha256": None}),
        ("status:closed", {"reason": "closed"}),
    ]
    folder = make_bundle(tmp_path, [], record, entries)
    for fmt in ("html", "md"):
        rendered = render_report(folder, fmt, NOW)[1]
        assert "TEXT-MARKER" not in rendered and "Deny" not in rendered
    page = Page(render_report(folder, "html", NOW)[1])
    root = page.facts[-1]
    assert root["Task"] == "unlock-bucket" and root["Resource"] == "orders-data"
    assert root["Policy read (root-task)"] == f"sha256 {'ab' * 32}, {len(text)} bytes (the lockout)"
    assert root["Read back"] == "orders-data: no policy, as asked"
    assert [r[1:] for r in page.rows("changes-table")] == [["delete-policy orders-data", "ok"]]
    header = page.facts[0]
    assert header["Emergency override"] == "YES: opened without the required approvals"
    assert header["Approvers"] == "bob (arn:aws:iam::123456789012:user/bob) at 2026-03-01 03:01:00Z"
    assert header["Root task"] == "unlock-bucket on 210987654321: orders-data"
