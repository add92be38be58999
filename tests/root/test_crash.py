"""A crash (kill -9) before or after every AWS call of a root task, then either a rerun of the same
command (it resumes the same incident, never opens a second, never deletes a replacement it put)
or the expiry sweep (it sends no change, reads back what is in doubt, journals it and closes)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from breakglass_aws.clock import utcnow
from breakglass_aws.incident.root import RootAsk, plan_root_task, run_root_task
from breakglass_aws.incident.sweep import sweep
from breakglass_aws.incident.verify import journal_problems
from breakglass_aws.models import IncidentStatus
from breakglass_aws.root.inputs import same_policy
from breakglass_aws.runtime import whoami
from breakglass_aws.testing import seed_root_credentials
from tests.support.crash import Crash
from tests.support.root import (
    BUCKET,
    REGION,
    bucket_policy,
    corrected,
    locked_bucket,
    locked_queue,
    policy_reads,
    queue_policy,
)

pytestmark = pytest.mark.reliability

UNLOCK_CALLS = ("AssumeRoot", "GetBucketPolicy", "DeleteBucketPolicy", "PutBucketPolicy")
CHANGES = ("DeleteBucketPolicy", "PutBucketPolicy", "SetQueueAttributes")
EVENTS = ("before-call", "after-call")


def crash_at(k: int, names: tuple[str, ...]):
    """Raise Crash at the k-th call among `names` (counted across the run)."""
    seen = 0

    def hook(model=None, **_):
        nonlocal seen
        if model.name in names:
            seen += 1
            if seen == k:
                raise Crash(f"crash at {model.name} (call {k})")

    return hook


def _ask(account, replacement=None):
    return RootAsk("unlock-bucket", account, REGION, BUCKET, replacement)


def _run(rt, ask):
    requester = whoami(rt)
    plan_root_task(rt, ask, requester)
    return run_root_task(rt, ask, requester, "INC-77", None)


def _replacement(account):
    return json.dumps(corrected(f"arn:aws:s3:::{BUCKET}", account), indent=1)


def _crash(make_runtime, ask, event, k):
    crashing = make_runtime(hooks=[(event, crash_at(k, UNLOCK_CALLS))])
    with pytest.raises(Crash):
        _run(crashing, ask)


CALLS_IN_A_RUN = 4  # AssumeRoot, GetBucketPolicy, the change, GetBucketPolicy (read back)
MATRIX = [(event, k, mode) for event in EVENTS for k in range(1, CALLS_IN_A_RUN + 1) for mode in ("delete", "replace")]


@pytest.mark.parametrize(("event", "k", "mode"), MATRIX)
def test_a_rerun_finishes_the_same_incident(ready, make_runtime, event, k, mode):
    lockout = locked_bucket(ready.account)
    ask = _ask(ready.account, _replacement(ready.account) if mode == "replace" else None)
    _crash(make_runtime, ask, event, k)
    changes: list[str] = []
    fresh = make_runtime(hooks=[("before-call", lambda model=None, **_: changes.append(model.name))])
    result = _run(fresh, ask)
    (incident,) = fresh.store.list_incidents()
    assert result.incident_id == incident.incident_id and result.resumed, "the same incident, resumed"
    assert incident.status is IncidentStatus.CLOSED
    now = bucket_policy(ready.account)
    assert same_policy(now, ask.replacement) if mode == "replace" else now is None
    if mode == "replace":
        assert "DeleteBucketPolicy" not in changes, "a replacement is never deleted"
        assert changes.count("PutBucketPolicy") <= 1
    if event == "after-call" and k == 3:  # the change was made, its outcome never journaled
        assert not set(changes) & set(CHANGES), "the change is not sent twice"
    first = [r for r in policy_reads(fresh.store.entries(incident.incident_id)) if r["first"]]
    assert [r["policy"] for r in first] == [lockout], "the lockout's text is journaled once, as it was"
    assert journal_problems(fresh, incident.incident_id) == []


@pytest.mark.parametrize(("event", "k", "mode"), MATRIX)
def test_the_sweep_ends_a_stale_incident_without_sending_the_change(ready, make_runtime, event, k, mode):
    lockout = locked_bucket(ready.account)
    ask = _ask(ready.account, _replacement(ready.account) if mode == "replace" else None)
    _crash(make_runtime, ask, event, k)
    later = utcnow() + timedelta(minutes=16)
    calls: list[str] = []
    swept = make_runtime(clock=lambda: later, hooks=[("before-call", lambda model=None, **_: calls.append(model.name))])
    result = sweep(swept)
    (incident,) = swept.store.list_incidents()
    assert incident.status is IncidentStatus.CLOSED, incident.status_reason
    assert [r.incident_id for r in result.restored] == [incident.incident_id] and not result.pending
    assert not set(calls) & set(CHANGES), "no change is sent after expiry"
    made = k == 4 or (event == "after-call" and k == 3)  # the change itself was made before the crash
    now = bucket_policy(ready.account)
    if made:
        assert same_policy(now, ask.replacement) if mode == "replace" else now is None
    else:
        assert now == lockout
    entries = swept.store.entries(incident.incident_id)
    change = "put-policy" if mode == "replace" else "delete-policy"
    outcomes = [e.data for e in entries if e.kind == "outcome" and e.data["step"]["action"] == change]
    in_doubt = k == 3  # the change was announced (its intent journaled), its outcome never was
    if in_doubt:
        (resolved,) = outcomes
        assert resolved["ok"] is made and (resolved.get("resolved_by") == "sweep" or not made)
        assert calls == ["AssumeRoot", "GetBucketPolicy"], "read back with a fresh root session"
    else:
        assert [o["ok"] for o in outcomes] == ([True] if made else [])
        assert "AssumeRoot" not in calls, "nothing in doubt: nothing read"
    assert journal_problems(swept, incident.incident_id) == []


def test_the_sweep_leaves_needs_attention_when_it_cannot_read(ready, make_runtime):
    locked_bucket(ready.account)
    _crash(make_runtime, _ask(ready.account), "after-call", 3)

    def refuse(model=None, **_):
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "SCP"}}, model.name)

    later = utcnow() + timedelta(minutes=16)
    swept = make_runtime(clock=lambda: later, hooks=[("before-call.sts.AssumeRoot", refuse)])
    result = sweep(swept)
    (incident,) = swept.store.list_incidents()
    assert incident.status is IncidentStatus.NEEDS_ATTENTION
    assert "could not read whether 'delete the policy of bucket orders-data' happened" in (incident.status_reason or "")
    assert result.pending == [incident.incident_id]
    assert bucket_policy(ready.account) is None, "the delete had happened; nothing else was done"
    assert sweep(make_runtime(clock=lambda: later)).pending == [], "the next sweep finishes it"
    assert swept.store.get_incident(incident.incident_id).status is IncidentStatus.CLOSED


@pytest.mark.parametrize("event", EVENTS)
def test_a_queue_unlock_survives_a_crash_at_its_change(ready, make_runtime, event):
    url, _ = locked_queue(ready.account)
    ask = RootAsk("unlock-queue", ready.account, REGION, url)
    crashing = make_runtime(hooks=[(event, crash_at(1, ("SetQueueAttributes",)))])
    with pytest.raises(Crash):
        _run(crashing, ask)
    result = _run(make_runtime(), ask)
    assert result.resumed and result.status is IncidentStatus.CLOSED
    assert queue_policy(ready.account, url) is None
    assert result.policy_sha256 and result.policy_found


DELETE_CALLS = (
    "DeleteLoginProfile",
    "DeleteAccessKey",
    "DeleteSigningCertificate",
    "DeactivateMFADevice",
    "DeleteVirtualMFADevice",
)


@pytest.mark.parametrize("event", EVENTS)
@pytest.mark.parametrize("k", range(1, len(DELETE_CALLS) + 2))  # two access keys
def test_delete_credentials_survives_a_crash_at_each_deletion(ready, make_runtime, event, k):
    seed_root_credentials(ready.account, access_keys=2)
    ask = RootAsk("delete-credentials", ready.account, REGION)
    crashing = make_runtime(hooks=[(event, crash_at(k, DELETE_CALLS))])
    with pytest.raises(Crash):
        _run(crashing, ask)
    result = _run(make_runtime(), ask)
    assert result.resumed and result.status is IncidentStatus.CLOSED
    assert result.remaining is not None and result.remaining.empty()
    from moto.iam.models import iam_backends

    assert ready.account not in {d.split(":")[4] for d in iam_backends[ready.account]["aws"].virtual_mfa_devices}
    assert journal_problems(make_runtime(), result.incident_id) == []


def test_close_ends_a_crashed_incident_the_same_way(ready, make_runtime, cli):
    """`breakglass close ID` on a root incident: no change sent, the one in doubt read back."""
    lockout = locked_bucket(ready.account)
    _crash(make_runtime, _ask(ready.account), "before-call", 3)  # the delete announced, never sent
    (incident,) = make_runtime().store.list_incidents()
    calls: list[str] = []
    closed = cli(
        "close",
        incident.incident_id,
        "--yes",
        hooks=[("before-call", lambda model=None, **_: calls.append(model.name))],
    )
    assert closed.exit_code == 0, closed.stderr
    assert "delete the policy of bucket orders-data: it did not happen, and is not sent" in closed.stdout
    assert calls == ["AssumeRoot", "GetBucketPolicy"] and bucket_policy(ready.account) == lockout
    ended = make_runtime().store.get_incident(incident.incident_id)
    assert ended.status is IncidentStatus.CLOSED and ended.status_reason.startswith("ended by close")
    again = cli("close", incident.incident_id, "--yes")
    assert again.exit_code == 0 and "already closed" in again.stdout
