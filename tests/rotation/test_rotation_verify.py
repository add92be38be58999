"""Verification of the new access key: GetCallerIdentity with it must name the rotated user; IAM's
eventual consistency is waited out (bounded, with an injected sleep: nothing really sleeps)."""

from __future__ import annotations

import pytest
from botocore.awsrequest import AWSResponse

from breakglass_aws.errors import PartialApplyError
from breakglass_aws.incident.rotation import rotate_standalone
from breakglass_aws.runtime import RotationDefaults, whoami
from tests.support.faults import _Raw
from tests.support.rotation import USER, keys, make_user, secret


class NewKeyIdentity:
    """A before-call hook on sts:GetCallerIdentity for calls made with any key but the caller's
    (the first one seen):
    the first `failures` get InvalidClientTokenId (a key IAM has not propagated yet); after that,
    `arn` (if given) replaces the answer, else the call goes through to moto."""

    def __init__(self, failures: int = 0, arn: str | None = None) -> None:
        self.failures = failures
        self.arn = arn
        self.calls = 0
        self.caller: str | None = None

    def __call__(self, request_signer=None, **_):
        key = request_signer._credentials.access_key
        self.caller = self.caller or key  # whoami comes first, with the caller's own key
        if key == self.caller:
            return None
        self.calls += 1
        if self.calls <= self.failures:
            parsed = {
                "Error": {"Code": "InvalidClientTokenId", "Message": "The security token is invalid."},
                "ResponseMetadata": {"HTTPStatusCode": 403},
            }
            return AWSResponse("https://injected", 403, {}, _Raw(b"")), parsed
        if self.arn is not None:
            parsed = {
                "Arn": self.arn,
                "Account": "123456789012",
                "UserId": "AIDAINJECTED",
                "ResponseMetadata": {"HTTPStatusCode": 200},
            }
            return AWSResponse("https://injected", 200, {}, _Raw(b"")), parsed
        return None


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def runtime(make_runtime, hook, timeout=60.0):
    sleeps = Sleeps()
    rt = make_runtime(
        hooks=[("before-call.sts.GetCallerIdentity", hook)],
        rotation=RotationDefaults(verify_timeout=timeout, sleep=sleeps),
    )
    return rt, sleeps


def rotate(rt):
    return rotate_standalone(rt, whoami(rt), USER, None, True, False, "test")


def test_verify_waits_out_eventual_consistency(aws_clients, make_runtime):
    iam, sm = aws_clients
    old = make_user(iam, sm, keys=1, login=True)
    hook = NewKeyIdentity(failures=3)
    rt, sleeps = runtime(make_runtime, hook)
    result = rotate(rt)
    assert hook.calls == 4, "three refusals, then the key works"
    assert sleeps.waits == [1.0, 2.0, 4.0], "exponential back-off, injected sleep"
    stored = secret(sm)
    assert keys(iam) == {stored["access_key_id"]: "Active"} and old[0] not in keys(iam)
    assert result.verified is not None and result.verified.old_keys_gone == old
    verified = [e for e in rt.store.entries(result.incident_id) if e.kind == "outcome" and e.data["ok"]]
    arns = [e.data["result"]["arn"] for e in verified if e.data["step"]["action"] == "verify-key"]
    assert arns == [f"arn:aws:iam::123456789012:user/{USER}"]


def test_verify_timeout_keeps_the_old_key(aws_clients, make_runtime):
    iam, sm = aws_clients
    old = make_user(iam, sm, keys=1, login=True)
    hook = NewKeyIdentity(failures=1_000)
    rt, sleeps = runtime(make_runtime, hook, timeout=20.0)
    with pytest.raises(PartialApplyError) as caught:
        rotate(rt)
    assert caught.value.exit_code == 8
    message = caught.value.message
    assert "verify the new key works" in message and "still does not work after waiting 15s" in message
    assert "InvalidClientTokenId" in message and "the old key was kept" in message
    assert sum(sleeps.waits) <= 20.0 and sleeps.waits == [1.0, 2.0, 4.0, 8.0], "a bounded wait"
    assert hook.calls == 5
    stored = secret(sm)
    assert keys(iam) == {old[0]: "Active", stored["access_key_id"]: "Active"}, "the old key is NOT deleted"
    outcomes = [e.data for e in rt.store.entries(caught.value.incident_id) if e.kind == "outcome"]
    answered = [(o["step"]["action"], o["ok"], o.get("sent", True)) for o in outcomes]
    assert ("set-password", True, True) in answered, "the password is set beside the new key's check"
    assert ("verify-key", False, True) in answered
    old_key_steps = [a for a in answered if a[0] in ("deactivate-key", "delete-key")]
    assert old_key_steps == [("deactivate-key", False, False), ("delete-key", False, False)], "never sent"
    # once IAM catches up, the same command finishes without a second rotation
    rt2, _ = runtime(make_runtime, NewKeyIdentity())
    finished = rotate(rt2)
    assert finished.resumed is True and finished.incident_id == caught.value.incident_id
    assert finished.password_reset is False, "the password set beside the failed check is not set again"
    assert keys(iam) == {stored["access_key_id"]: "Active"} and secret(sm) == stored


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:sts::123456789012:user/moto",  # moto's answer for a key it does not know
        "arn:aws:iam::123456789012:user/someone-else",
        f"arn:aws:iam::999999999999:user/{USER}",
        f"arn:aws:sts::123456789012:assumed-role/{USER}/x",
    ],
)
def test_verify_refuses_a_key_that_is_not_the_users(aws_clients, make_runtime, arn):
    iam, sm = aws_clients
    old = make_user(iam, sm, keys=1, login=True)
    rt, sleeps = runtime(make_runtime, NewKeyIdentity(arn=arn))
    with pytest.raises(PartialApplyError) as caught:
        rotate(rt)
    assert caught.value.exit_code == 8
    assert f"answers as {arn}, not as arn:aws:iam::123456789012:user/{USER}" in caught.value.message
    assert sleeps.waits == [], "a wrong identity is not retried"
    stored = secret(sm)
    assert keys(iam) == {old[0]: "Active", stored["access_key_id"]: "Active"}, "the old key is NOT deleted"
    incident = rt.store.get_incident(caught.value.incident_id)
    assert incident.status.value == "needs-attention"
    reason = incident.status_reason or ""
    assert reason.startswith(f"rotation stopped: rotation of {USER} stopped at step")
    assert "(verify the new key works of" in reason and reason.endswith(
        "to finish: the old key was kept; check the secret and the account"
    )


def test_verify_accepts_a_user_path(aws_clients, make_runtime):
    iam, sm = aws_clients
    iam.create_user(UserName=USER, Path="/breakglass/")
    sm.create_secret(Name=f"breakglass/{USER}", SecretString="{}")
    rt, _ = runtime(make_runtime, NewKeyIdentity())
    result = rotate(rt)
    assert keys(iam) == {secret(sm)["access_key_id"]: "Active"}
    assert result.verified is not None and result.verified.active_key_id == secret(sm)["access_key_id"]


def test_rotation_end_state_is_read_back(aws_clients, make_runtime, cli):
    """A key that appears during the rotation (someone else, a script) fails the read-back: exit 8
    naming the key, after a bounded re-read; the rerun removes it and proves one active key."""
    iam, sm = aws_clients
    make_user(iam, sm, keys=1)
    stray: list[str] = []

    def add_stray(model=None, **_):
        if model.name == "DeleteAccessKey" and not stray:
            stray.append(iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"])

    sleeps = Sleeps()
    rt = make_runtime(hooks=[("after-call", add_stray)], rotation=RotationDefaults(sleep=sleeps))
    with pytest.raises(PartialApplyError) as caught:
        rotate(rt)
    assert caught.value.exit_code == 8
    assert f"rotation of {USER} does not check out" in caught.value.message and stray[0] in caught.value.message
    assert "read back after the rotation" in caught.value.message
    assert sleeps.waits == [1.0, 1.0], "re-read twice (eventual consistency), then give up"
    stored = secret(sm)
    assert keys(iam) == {stored["access_key_id"]: "Active", stray[0]: "Active"}
    again = cli("rotate", "--user", USER, "--output", "json")
    assert again.exit_code == 0, again.stderr
    assert again.json()["resumed"] is True and again.json()["deleted_keys"] == [stray[0]]
    assert keys(iam) == {stored["access_key_id"]: "Active"} and secret(sm) == stored
    assert again.json()["verified"]["active_key_id"] == stored["access_key_id"]
