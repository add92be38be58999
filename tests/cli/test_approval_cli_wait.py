"""`--wait`: progress on stderr while the approval comes in from another (moto) identity, and a
stdout that is exactly the primary output: one JSON document, or eval-able exports."""

from __future__ import annotations

import json
import subprocess
import time
import types

import pytest

from breakglass_aws.models import FULL_AWS_ACCESS
from tests.conftest import ACCOUNT
from tests.support.approvals import locked_out


@pytest.fixture
def approve_while_waiting(people, monkeypatch):
    """The first poll of `--wait` sleeps; during that sleep bob approves through the library,
    as his own moto identity (never the waiting process's credentials)."""
    import botocore.session

    from breakglass_aws.aws import ClientFactory
    from breakglass_aws.incident.approvals import approve
    from breakglass_aws.journal import SqliteStore
    from breakglass_aws.runtime import Runtime, whoami
    from breakglass_aws.settings import default_state_dir

    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) > 1:
            return
        key, secret, _ = people["bob"]
        session = botocore.session.Session()
        session.set_credentials(key, secret)
        rt = Runtime(
            factory=ClientFactory(botocore_session=session), store=SqliteStore(default_state_dir() / "journal.sqlite3")
        )
        (incident,) = rt.store.list_incidents()
        approve(rt, incident.incident_id, whoami(rt), "go")

    fake = types.SimpleNamespace(monotonic=time.monotonic, sleep=sleep)
    monkeypatch.setattr("breakglass_aws.cli.common.request.time", fake)
    monkeypatch.setenv("BREAKGLASS_APPROVALS_REQUIRED", "1")
    return sleeps


def test_scp_detach_wait_json_is_one_document(org, as_, approve_while_waiting):
    locked_out(org)
    run = as_("alice", "scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--wait", "--output", "json")
    assert run.exit_code == 0, run.stderr
    opened = json.loads(run.stdout)  # exactly one document: json.loads refuses "extra data"
    assert opened["status"] == "active" and opened["override"] is False
    assert org.scps(org.account) == {FULL_AWS_ACCESS}
    incident_id = opened["incident_id"]
    assert f"breakglass approve {incident_id}" in run.stderr
    assert f"waiting for approval of {incident_id}: 0/1" in run.stderr
    assert f"{incident_id} approved by " in run.stderr
    assert approve_while_waiting, "it polled"
    shown = as_("alice", "show", incident_id, "--output", "json").json()
    assert [a["arn"] for a in shown["approvals"]] == [f"arn:aws:iam::{ACCOUNT}:user/bob"]


def test_scp_detach_wait_text(org, as_, approve_while_waiting):
    locked_out(org)
    run = as_("alice", "scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--wait")
    assert run.exit_code == 0, run.stderr
    assert "requested: nothing changed yet" in run.stderr and "requested" not in run.stdout
    assert " active: " in run.stdout and org.scps(org.account) == {FULL_AWS_ACCESS}


def test_role_assume_wait_env_is_evalable(iam, org, as_, approve_while_waiting):
    run = as_("alice", "role", "assume", "--account", ACCOUNT, "--reason", "x", "--wait")
    assert run.exit_code == 0, run.stderr
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    assert lines and all(line.startswith(("export ", "#")) for line in lines), run.stdout
    shell = subprocess.run(
        ["bash", "-c", 'eval "$EXPORTS" && printf %s "$AWS_ACCESS_KEY_ID"'],
        env={"EXPORTS": run.stdout, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert shell.stdout.startswith("ASIA") and shell.stderr == ""
    assert "waiting for approval" in run.stderr


def test_role_assume_wait_credential_process_is_one_document(iam, org, as_, approve_while_waiting):
    run = as_(
        "alice", "role", "assume", "--account", ACCOUNT, "--reason", "x", "--wait", "--format", "credential-process"
    )
    assert run.exit_code == 0, run.stderr
    answer = json.loads(run.stdout)
    assert answer["Version"] == 1 and answer["AccessKeyId"]
