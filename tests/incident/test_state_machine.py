"""Beyond the cases we thought of: random sequences of detach, join, restore, close (with a
rotation), the expiry sweep and reruns, on either store, each step possibly cut off by a crash or
a store fault at a random call. After every step: no target ever holds zero SCPs, every journal
verifies, no ended incident holds a target, the break-glass user has one active key (the one in
its secret) whenever no close is under way, a healthy sweep leaves nothing closing, and once
nothing is open the target holds exactly what it held before.

The suite runs a bounded number of examples; BREAKGLASS_STATE_EXAMPLES raises it (docs/reliability.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from breakglass_aws.aws import ClientFactory
from breakglass_aws.errors import BreakglassError
from breakglass_aws.incident.close import close_incident, restore_incident
from breakglass_aws.incident.scp import open_scp_incident, plan_scp_detach
from breakglass_aws.incident.sweep import sweep
from breakglass_aws.incident.verify import journal_problems
from breakglass_aws.journal import SqliteStore
from breakglass_aws.journal.dynamodb import DynamoStore, create_table
from breakglass_aws.models import ACTIVE_STATUSES, ENDED_STATUSES, FULL_AWS_ACCESS, IncidentStatus
from breakglass_aws.runtime import RotationDefaults, Runtime, whoami
from tests.conftest import DENY_DOC, _shared_boto3, _shared_botocore
from tests.support.crash import Crash
from tests.support.faults import answer

pytestmark = pytest.mark.reliability

EXAMPLES = int(os.environ.get("BREAKGLASS_STATE_EXAMPLES", "12"))
USER, SECRET, TABLE = "breakglass-1", "breakglass/breakglass-1", "breakglass-store"
AWS_WRITES = {
    "AttachPolicy",
    "DetachPolicy",
    "CreateAccessKey",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "PutSecretValue",
    "UpdateLoginProfile",
}
STORE_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"}

faults = st.one_of(
    st.just(None),
    st.tuples(st.sampled_from(["crash-before", "crash-after", "store-fault", "store-crash"]), st.integers(1, 8)),
)


class Fault:
    """At the k-th call of its kind: a crash (kill -9) before or after an AWS mutation, a store
    write answered 500 (SQLite: the write fails as on a full disk), or a crash at a store write."""

    def __init__(self, fault: tuple[str, int] | None) -> None:
        self.kind, self.k = fault or ("none", 0)
        self.seen = 0

    def hooks(self) -> list[tuple[str, Any]]:
        if self.kind in ("crash-before", "crash-after"):
            return [(self.kind.replace("crash-", "") + "-call", self._aws)]
        if self.kind in ("store-fault", "store-crash"):
            return [("before-call.dynamodb", self._store)]
        return []

    def _aws(self, model: Any = None, **_: Any) -> None:
        if model.name in AWS_WRITES:
            self.seen += 1
            if self.seen == self.k:
                raise Crash(f"{self.kind} {model.name}")

    def _store(self, model: Any = None, **_: Any) -> Any:
        if model.name not in STORE_WRITES:
            return None
        self.seen += 1
        if self.seen != self.k:
            return None
        if self.kind == "store-crash":
            raise Crash(f"crash at store write {self.k}")
        return answer("InternalServerError", 500)

    def sqlite_fails(self) -> bool:
        """The SQLite store's k-th write transaction fails (or crashes) the same way."""
        if self.kind not in ("store-fault", "store-crash"):
            return False
        self.seen += 1
        if self.seen != self.k:
            return False
        if self.kind == "store-crash":
            raise Crash(f"crash at store write {self.k}")
        return True


class Model(RuleBasedStateMachine):
    kind = "sqlite"
    incidents = Bundle("incidents")

    def __init__(self) -> None:
        super().__init__()
        from moto import mock_aws

        self.mock = mock_aws()
        self.mock.start()
        self.folder = Path(tempfile.mkdtemp(prefix="bg-model-"))
        session = _shared_boto3()
        org = session.client("organizations", region_name="us-east-1")
        org.create_organization(FeatureSet="ALL")
        self.org = org
        self.target = org.create_account(Email="a@example.com", AccountName="a")["CreateAccountStatus"]["AccountId"]
        for n in range(2):
            policy = org.create_policy(
                Content=json.dumps(DENY_DOC), Description="d", Name=f"Deny{n}", Type="SERVICE_CONTROL_POLICY"
            )["Policy"]["PolicySummary"]["Id"]
            org.attach_policy(PolicyId=policy, TargetId=self.target)
        org.detach_policy(PolicyId=FULL_AWS_ACCESS, TargetId=self.target)
        self.before = self.scps()
        iam = session.client("iam", region_name="us-east-1")
        sm = session.client("secretsmanager", region_name="us-east-1")
        iam.create_user(UserName=USER)
        key = iam.create_access_key(UserName=USER)["AccessKey"]
        sm.create_secret(Name=SECRET, SecretString=json.dumps({"access_key_id": key["AccessKeyId"]}))
        self.iam, self.sm = iam, sm
        if self.kind == "dynamodb":
            create_table(session.client("dynamodb", region_name="us-east-1"), TABLE)
        self.fault = Fault(None)

    def teardown(self) -> None:
        with contextlib.suppress(Exception):
            self.mock.stop()

    # --- the world ------------------------------------------------------------------------------

    def scps(self) -> set[str]:
        found = self.org.list_policies_for_target(TargetId=self.target, Filter="SERVICE_CONTROL_POLICY")
        return {p["Id"] for p in found["Policies"]}

    def runtime(self, fault: tuple[str, int] | None = None, later: bool = False) -> Runtime:
        self.fault = Fault(fault)
        factory = ClientFactory(botocore_session=_shared_botocore(), max_attempts=1, hooks=self.fault.hooks())
        store: Any = DynamoStore(factory, TABLE) if self.kind == "dynamodb" else self._sqlite()
        rt = Runtime(factory=factory, store=store, rotation=RotationDefaults(users=[], sleep=lambda _s: None))
        if later:  # the sweep runs when every incident has expired
            rt.clock = lambda: datetime.now(UTC) + timedelta(days=2)
        rt.sleep = lambda _s: None
        return rt

    def _sqlite(self) -> SqliteStore:
        store = SqliteStore(self.folder / "journal.sqlite3")
        fault, original = self.fault, store._write

        def write(work: Any) -> Any:
            def maybe(db: Any) -> Any:
                if fault.sqlite_fails():
                    import sqlite3

                    err = sqlite3.OperationalError("database or disk is full")
                    err.sqlite_errorname = "SQLITE_FULL"  # type: ignore[attr-defined]
                    raise err
                return work(db)

            return original(maybe)

        store._write = write  # type: ignore[method-assign]
        return store

    def attempt(self, action: Any) -> Any:
        with contextlib.suppress(Crash, BreakglassError):
            return action()
        return None

    # --- the rules ------------------------------------------------------------------------------

    @rule(target=incidents, join=st.booleans(), fault=faults)
    def detach(self, join: bool, fault: tuple[str, int] | None) -> str:
        rt = self.runtime(fault)

        def opened() -> str:
            plan = plan_scp_detach(rt, self.target, [], join=join)
            return open_scp_incident(rt, plan, whoami(rt), "model", None, timedelta(hours=1), join=join).incident_id

        made = self.attempt(opened)
        return made or self.newest() or "bg-20000101-000000-000000"

    def newest(self) -> str | None:
        listed = self.runtime().store.list_incidents(limit=1)
        return listed[0].incident_id if listed else None

    @rule(incident=incidents, fault=faults)
    def restore(self, incident: str, fault: tuple[str, int] | None) -> None:
        rt = self.runtime(fault)
        self.attempt(lambda: restore_incident(rt, incident))

    @rule(incident=incidents, rotate=st.booleans(), fault=faults)
    def close(self, incident: str, rotate: bool, fault: tuple[str, int] | None) -> None:
        rt = self.runtime(fault)
        self.attempt(lambda: close_incident(rt, incident, whoami(rt), [USER] if rotate else None))

    @rule(fault=faults)
    def sweep(self, fault: tuple[str, int] | None) -> None:
        rt = self.runtime(fault, later=True)
        done = self.attempt(lambda: sweep(rt, workers=1))
        if fault is None and done is not None:
            left = [i for i in self.runtime().store.list_incidents(limit=1000) if i.status in self.UNFINISHED]
            assert left == [], f"a healthy sweep left {[(i.incident_id, i.status) for i in left]}"

    UNFINISHED = (IncidentStatus.CLOSING, IncidentStatus.NEEDS_ATTENTION)

    # --- the invariants -------------------------------------------------------------------------

    @invariant()
    def never_zero_scps(self) -> None:
        assert self.scps(), "a target with no SCP"

    @invariant()
    def journals_verify_and_ended_incidents_hold_nothing(self) -> None:
        rt = self.runtime()
        listed = rt.store.list_incidents(limit=1000)
        ended = {i.incident_id for i in listed if i.status in ENDED_STATUSES}
        assert not set(rt.store.holders(self.target)) & ended, "an ended incident holds the target"
        for incident in listed:
            assert journal_problems(rt, incident.incident_id) == [], incident.incident_id

    @invariant()
    def at_rest_the_world_is_as_it_was(self) -> None:
        listed = self.runtime().store.list_incidents(limit=1000)
        if any(i.status in (*ACTIVE_STATUSES, IncidentStatus.REQUESTED) for i in listed):
            return
        assert self.scps() == self.before, "nothing is open, yet the target differs from before"
        keys = {k["AccessKeyId"]: k["Status"] for k in self.iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]}
        stored = json.loads(self.sm.get_secret_value(SecretId=SECRET)["SecretString"])["access_key_id"]
        assert keys == {stored: "Active"}, "one active key, the one in the secret"


class DynamoModel(Model):
    kind = "dynamodb"


SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.parametrize("machine", [Model, DynamoModel], ids=["sqlite", "dynamodb"])
def test_random_sequences_keep_every_promise(machine: type[Model]) -> None:
    machine.TestCase.settings = SETTINGS
    machine.TestCase().runTest()


def test_a_sweep_after_a_crashed_sweep_and_a_join_finishes_both():
    """Found by the machine above: a sweep cut off before its first change leaves the incident
    closing under its claim; another incident joins the target; the next healthy sweep must
    finish both (the crashed closer is gone, whatever thread now has its ident)."""
    model = DynamoModel()
    try:
        model.detach(fault=None, join=False)
        model.sweep(fault=("crash-before", 1))
        model.detach(fault=None, join=True)
        model.sweep(fault=None)  # asserts that nothing is left closing
        model.at_rest_the_world_is_as_it_was()
    finally:
        model.teardown()
