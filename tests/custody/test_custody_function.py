"""The scheduled restore function seals too: a close cut off mid-rotation, finished by the
function configured as Terraform configures it (the custody settings in its environment), leaves
the credentials sealed for the custodians, and two of them open the key it made."""

from __future__ import annotations

import json
from typing import Any

import pytest

from breakglass_aws.lambda_handler import handler
from tests.custody.support import NAMES, caller_arn, configure, main_secret, open_print, share_of, share_secret
from tests.support.cli import show
from tests.support.crash import Crash
from tests.support.rotation import USER, keys, make_user
from tests.support.scp import scp_incident


def crash_at(operation: str) -> tuple[str, Any]:
    def hook(model: Any = None, **_: Any) -> None:
        if model.name == operation:
            raise Crash(operation)

    return "before-call", hook


def test_a_close_cut_off_mid_rotation_is_sealed_by_the_scheduled_function(org, aws_clients, cli, monkeypatch, tmp_path):
    iam, sm = aws_clients
    make_user(iam, sm, keys=1, login=True)
    incident_id, before = scp_incident(org, cli)
    with pytest.raises(Crash):  # the close planned the rotation; cut off before its secret was written
        cli("close", incident_id, "--yes", "--user", USER, hooks=[crash_at("PutSecretValue")])
    assert show(cli, incident_id)["status"] == "closing"
    custodians = configure(monkeypatch, tmp_path)  # the function's environment: BREAKGLASS_CUSTODY_*
    summary = handler({}, None)
    assert summary["failed"] == [] and summary["pending"] == [], summary
    assert show(cli, incident_id)["status"] == "closed"
    assert org.snapshot() == before
    stored = main_secret(sm)
    assert "secret_access_key" not in stored and stored["custody"]["threshold"] == 2
    assert sorted(stored["custody"]["custodians"]) == sorted(NAMES)
    assert {share_secret(sm, name)["rotation_id"] for name in NAMES} == {stored["rotation_id"]}
    opened = open_print(cli, share_of(cli, custodians, "bob"), share_of(cli, custodians, "carol"))
    assert opened.exit_code == 0, opened.stderr
    creds = json.loads(opened.stdout)
    assert keys(iam) == {creds["AccessKeyId"]: "Active"}
    assert caller_arn(creds).endswith(f":user/{USER}")
