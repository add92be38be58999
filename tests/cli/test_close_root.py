"""`close` on a root-task incident: its own question (nothing more is sent; what is in doubt is
read back), never the configured users to rotate, and the status as the last line."""

from __future__ import annotations

import pytest

from breakglass_aws.incident.root import RootAsk, plan_root_task, run_root_task
from breakglass_aws.runtime import whoami
from breakglass_aws.testing import install_root_tasks
from tests.support.cli import one_line
from tests.support.crash import Crash
from tests.support.root import BUCKET, REGION, enable_root_access, locked_bucket


@pytest.fixture
def stopped_root_incident(org, make_runtime, monkeypatch):
    """An unlock-bucket incident whose run stopped just before its change (a crash)."""
    undo = install_root_tasks()
    enable_root_access()
    locked_bucket(org.account)
    monkeypatch.setenv("BREAKGLASS_ROTATE_USERS", '["breakglass-1"]')

    def crash(model=None, **_):
        if model.name == "DeleteBucketPolicy":
            raise Crash("killed before the change")

    rt = make_runtime(hooks=[("before-call", crash)])
    ask = RootAsk("unlock-bucket", org.account, REGION, BUCKET, None)
    requester = whoami(rt)
    plan_root_task(rt, ask, requester)
    with pytest.raises(Crash):
        run_root_task(rt, ask, requester, "INC-77", None)
    (incident,) = make_runtime().store.list_incidents()
    yield incident.incident_id, org.account
    undo()


def test_close_asks_what_ending_a_root_incident_does(stopped_root_incident, cli):
    incident_id, account = stopped_root_incident
    declined = cli("close", incident_id, input="n\n")
    assert declined.exit_code == 3
    question = declined.stderr.splitlines()[0]
    assert question.startswith(f"End {incident_id} (unlock-bucket on s3://{BUCKET}@{account}): nothing more is sent")
    assert "rotate" not in declined.stderr and "breakglass-1" not in declined.stderr
    refused = cli("close", incident_id, "--user", "breakglass-1", "--yes")
    assert refused.exit_code == 2 and "rotates no user" in one_line(refused.stderr)
    closed = cli("close", incident_id, "--yes")
    assert closed.exit_code == 0, closed.stderr
    assert "read back: delete the policy of bucket orders-data: it did not happen" in closed.stdout
    assert closed.stdout.splitlines()[-1] == f"{incident_id} closed"
    assert "already closed" not in closed.stdout, "ended now, not before"
