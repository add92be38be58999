"""`check`'s custody findings, and the operations custody calls are all declared."""

from __future__ import annotations

import pytest

from breakglass_aws.permissions import CUSTODY_TASKS, OPERATION_ACTIONS
from breakglass_aws.readiness.custody import check_custody
from breakglass_aws.runtime import build_runtime
from breakglass_aws.settings import load_settings
from tests.custody.support import NAMES, configure
from tests.support.rotation import SECRET, USER, make_user


@pytest.fixture
def custodians(monkeypatch, tmp_path):
    return configure(monkeypatch, tmp_path)


def findings(users=(USER,)):
    return check_custody(build_runtime(load_settings()), list(users))


def test_check_reports_custody(aws_clients, cli, custodians):
    iam, sm = aws_clients
    make_user(iam, sm, keys=1)
    before = findings()
    assert any(f.severity == "error" and "plaintext" in f.message for f in before), "never rotated under custody"
    assert sum("share is missing" in f.message for f in before) == len(NAMES)
    assert cli("rotate", "--user", USER).exit_code == 0
    after = findings()
    assert [f.severity for f in after] == ["info"] and "2 of 3: alice, bob, carol" in after[0].message
    sm.delete_secret(SecretId=f"{SECRET}/custody/bob", ForceDeleteWithoutRecovery=True)
    assert [f.subject for f in findings() if f.severity == "error"] == [f"{SECRET}/custody/bob"]


def test_no_custody_no_findings(aws_clients):
    make_user(*aws_clients, keys=1)
    assert findings() == []


class Recorder:
    def __init__(self):
        self.calls: set[str] = set()

    def __call__(self, model=None, **_):
        self.calls.add(model.name)


def test_custody_calls_only_declared_operations(aws_clients, cli, custodians):
    make_user(*aws_clients, keys=1, login=True)
    recorded = {}
    for task in CUSTODY_TASKS:
        recorded[task] = Recorder()
    assert cli("rotate", "--user", USER, hooks=[("before-call", recorded["custody-rotate"])]).exit_code == 0
    blobs = []
    for name in ("alice", "bob"):
        run = cli(
            "custody",
            "share",
            "--user",
            USER,
            "--identity",
            str(custodians.identity(name)),
            hooks=[("before-call", recorded["custody-share"])],
        )
        blobs.append(run.stdout.strip())
    args = [a for b in blobs for a in ("--share", b)]
    opened = cli("custody", "open", "--user", USER, *args, hooks=[("before-call", recorded["custody-open"])])
    assert opened.exit_code == 0, opened.stderr
    for task, rec in recorded.items():
        assert rec.calls - set(CUSTODY_TASKS[task]) == set(), task
        assert rec.calls <= set(OPERATION_ACTIONS)
    assert "CreateSecret" in recorded["custody-rotate"].calls
