"""Edges of the dead-man switch and the restore function: a detach that stopped part-way is still
armed, and the function reports an unknown incident instead of failing."""

from __future__ import annotations

from typing import Any

from botocore.awsrequest import AWSResponse

from breakglass_aws.lambda_handler import handler
from tests.support.deadman import FUNCTION, scheduler  # noqa: F401 - fixture
from tests.support.faults import _Raw
from tests.support.store import TABLE, make_table


def second_call_fails(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
    calls.append(1)
    if len(calls) != 2:
        return None
    parsed = {"Error": {"Code": "ServiceException", "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": 500}}
    return AWSResponse("https://injected", 500, {}, _Raw(b"")), parsed


calls: list[int] = []


def test_a_detach_that_stopped_part_way_is_still_armed(org, scheduler, cli):  # noqa: F811
    calls.clear()
    first, second = org.new_policy("DenyA"), org.new_policy("DenyB")
    org.attach(first, org.account)
    org.attach(second, org.account)
    run = cli(
        "scp", "detach", "--target", org.account, "--reason", "x", "--yes",
        hooks=[("before-call.organizations.DetachPolicy", second_call_fails)],
    )  # fmt: skip
    assert run.exit_code == 8, run.stderr
    incident = cli("list", "--output", "json").json()[0]
    assert incident["status"] == "needs-attention"
    schedule = scheduler.get_schedule(Name=f"breakglass-restore-{incident['incident_id']}", GroupName="breakglass")
    assert schedule["Target"]["Arn"] == FUNCTION
    assert schedule["ScheduleExpression"] == f"at({incident['expires_at'].replace('Z', '')})"


def test_the_function_reports_an_unknown_incident(org, monkeypatch):
    make_table()
    monkeypatch.setenv("BREAKGLASS_STORE", f"dynamodb://{TABLE}")
    unknown = "bg-20261201-000000-abcdef"
    summary = handler({"incident_id": unknown}, None)
    assert summary["restored"] == []
    assert [f["incident_id"] for f in summary["failed"]] == [unknown]
    assert "no incident" in summary["failed"][0]["error"]


def test_package_lambda_into_a_file_is_a_usage_error(cli, tmp_path):
    taken = tmp_path / "dist"
    taken.write_text("not a folder")
    run = cli("package-lambda", "--out", str(taken))
    assert run.exit_code == 2, run.stderr
    assert run.stderr.strip().splitlines() == [
        f"error: --out {taken} is a file, not a folder (hint: give a folder, e.g. --out dist)"
    ]
    assert taken.read_text() == "not a folder"
