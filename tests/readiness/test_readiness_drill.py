"""`drill --account` on the sandbox staging (moto, in-process): SCPs on the account, on the parent
OU (--scp-target), and a step that fails: the failure is always recorded and the drill never left ACTIVE."""

from __future__ import annotations

import json

import boto3
import pytest

from breakglass_aws.journal import SqliteStore
from breakglass_aws.readiness.sandbox import stage
from breakglass_aws.testing import install_cloudtrail_lookup


@pytest.fixture
def sandbox(aws, monkeypatch, tmp_path):
    sb = stage()
    for key, value in sb.settings().items():
        if key not in ("evidence_dir", "store"):
            text = json.dumps(value) if isinstance(value, list) else str(value)
            monkeypatch.setenv(f"BREAKGLASS_{key.upper()}", text)
    undo = install_cloudtrail_lookup(lambda region: [])
    yield sb
    undo()


def org():
    return boto3.client("organizations", region_name="us-east-1")


def scps(target):
    found = org().list_policies_for_target(TargetId=target, Filter="SERVICE_CONTROL_POLICY")["Policies"]
    return {p["Name"] for p in found}


def parent(account):
    return org().list_parents(ChildId=account)["Parents"][0]["Id"]


def drills(tmp_path):
    store = SqliteStore(tmp_path / "state" / "breakglass" / "journal.sqlite3")
    found = [i for i in store.list_incidents(limit=100) if i.mode.value == "drill"]
    return [(i, [e.data for e in store.entries(i.incident_id) if e.kind == "drill-step"]) for i in found]


def drill(cli, account, *extra, hooks=None, tmp_path=None):
    return cli(
        "drill", "--account", account, "--token-code", "123456", "--out", str(tmp_path / "ev"), *extra, hooks=hooks
    )


def move_scps_to_ou(account):
    ou = parent(account)
    for policy in org().list_policies_for_target(TargetId=account, Filter="SERVICE_CONTROL_POLICY")["Policies"]:
        if policy["Id"] != "p-FullAWSAccess":
            org().attach_policy(PolicyId=policy["Id"], TargetId=ou)
            org().detach_policy(PolicyId=policy["Id"], TargetId=account)
    return ou


def test_drill_on_the_account(sandbox, cli, tmp_path):
    before = scps(sandbox.account)
    run = drill(cli, sandbox.account, tmp_path=tmp_path)
    assert run.exit_code == 0, run.stderr
    assert f"on {sandbox.account}: PASSED" in run.stdout
    assert scps(sandbox.account) == before == {"FullAWSAccess", "DenyLeaveOrganization", "DenyOutsideEU"}
    [(incident, steps)] = drills(tmp_path)
    assert incident.status.value == "closed"
    assert all(s["ok"] for s in steps) and "choose the break-glass role" in [s["name"] for s in steps]
    # bundles collected at once are not final: the drill says until when, and how to finalize each
    assert "not final until 20" in run.stdout and "(CloudTrail's delivery delay)" in run.stdout
    for folder in sorted((tmp_path / "ev").iterdir()):
        command = f"breakglass evidence collect {folder.name} --out {folder} --wait-for-delivery"
        assert command in run.stdout
        assert json.loads((folder / "manifest.json").read_text())["final"] is False


def test_drill_when_the_scps_sit_on_the_ou(sandbox, cli, tmp_path):
    ou = move_scps_to_ou(sandbox.account)
    run = drill(cli, sandbox.account, tmp_path=tmp_path)
    assert run.exit_code == 4
    assert f"nothing to detach: the account {sandbox.account} holds only FullAWSAccess" in run.stderr
    assert f"--scp-target {ou}" in run.stderr and "DenyOutsideEU" in run.stderr
    assert scps(ou) == {"FullAWSAccess", "DenyLeaveOrganization", "DenyOutsideEU"}  # nothing changed
    [(incident, steps)] = drills(tmp_path)
    assert incident.status.value == "failed"
    assert [(s["name"], s["ok"]) for s in steps] == [(f"plan SCP detach on {sandbox.account}", False)]

    run = drill(cli, sandbox.account, "--scp-target", ou, tmp_path=tmp_path)
    assert run.exit_code == 0, run.stderr
    assert f"on {sandbox.account} (SCPs on {ou}): PASSED" in run.stdout
    assert scps(ou) == {"FullAWSAccess", "DenyLeaveOrganization", "DenyOutsideEU"}  # restored
    assert scps(sandbox.account) == {"FullAWSAccess"}


def test_drill_bad_scp_target(sandbox, cli, tmp_path):
    run = drill(cli, sandbox.account, "--scp-target", "ou-nope", tmp_path=tmp_path)
    assert run.exit_code == 2 and "invalid target" in run.stderr
    assert drills(tmp_path) == []


def incidents(tmp_path, mode):
    store = SqliteStore(tmp_path / "state" / "breakglass" / "journal.sqlite3")
    return [i for i in store.list_incidents(limit=100) if i.mode.value == mode]


def test_drill_step_failing_with_an_unexpected_error_is_recorded(sandbox, cli, tmp_path):
    class Boom(Exception):
        pass

    def boom(model=None, **_):
        if model.name == "AssumeRole":
            raise Boom("the network vanished")

    before = scps(sandbox.account)
    run = drill(cli, sandbox.account, hooks=[("before-call", boom)], tmp_path=tmp_path)
    assert run.exit_code == 1, run.stderr  # a bug: exit 1
    assert "drill failed at 'assume the break-glass role': unexpected error: Boom" in run.stderr
    [(incident, steps)] = drills(tmp_path)
    assert incident.status.value == "failed"
    assert incident.status_reason.startswith("assume the break-glass role failed: unexpected error: Boom")
    assert [(s["name"], s["ok"]) for s in steps][-1] == ("assume the break-glass role", False)
    assert scps(sandbox.account) == {"FullAWSAccess"}  # detached: the SCP incident is still open
    [scp] = incidents(tmp_path, "scp")
    assert cli("close", scp.incident_id, "--yes").exit_code == 0
    assert scps(sandbox.account) == before


def test_drill_step_failing_names_what_to_close(sandbox, cli, tmp_path):
    from botocore.exceptions import ClientError

    def denied(model=None, **_):
        if model.name == "AssumeRole":
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "AssumeRole")

    run = drill(cli, sandbox.account, hooks=[("before-call", denied)], tmp_path=tmp_path)
    assert run.exit_code == 6, run.stderr  # access denied keeps its exit code
    assert "drill failed at 'assume the break-glass role'" in run.stderr
    [scp] = incidents(tmp_path, "scp")
    assert f"breakglass close {scp.incident_id}" in run.stderr
    [(incident, steps)] = drills(tmp_path)
    assert incident.status.value == "failed"
    assert [(s["name"], s["ok"]) for s in steps][-1] == ("assume the break-glass role", False)


def test_drill_step_raising_a_non_tool_error_is_recorded(sandbox, cli, tmp_path, monkeypatch):
    """Not an AWS call, not a BreakglassError (a bug in the step itself): still recorded as failed."""
    from breakglass_aws.readiness import drill as drill_module

    def broken(rt, creds):
        raise KeyError("Arn")

    monkeypatch.setattr(drill_module, "_harmless_call", broken)
    try:
        run = drill(cli, sandbox.account, tmp_path=tmp_path)
        assert run.exit_code == 1, run.stderr
    except KeyError:
        pass  # the in-process runner re-raises what the command did not map
    [(incident, steps)] = drills(tmp_path)
    assert incident.status.value == "failed"
    assert incident.status_reason == "harmless call with the credentials failed: unexpected KeyError: 'Arn'"
    assert [(s["name"], s["ok"]) for s in steps][-1] == ("harmless call with the credentials", False)
