"""The store failing at each of its writes, on the shared DynamoDB table: an answer of 500 (the write
never happened), a connection dropped before the write was sent, a connection dropped after it
was applied (the answer lost), and a crash on either side of it. Whatever the detach or the restore
did before, a fresh restore ends with the target exactly as it was, nothing held, every journal
intact."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError

from breakglass_aws.aws import ClientFactory
from breakglass_aws.errors import BreakglassError
from breakglass_aws.incident.close import restore_incident
from breakglass_aws.incident.scp import open_scp_incident, plan_scp_detach
from breakglass_aws.incident.verify import journal_problems
from breakglass_aws.journal.dynamodb import DynamoStore
from breakglass_aws.models import FULL_AWS_ACCESS, IncidentStatus
from breakglass_aws.runtime import Runtime, whoami
from tests.conftest import _shared_botocore
from tests.support.crash import Crash
from tests.support.faults import answer
from tests.support.store import TABLE, make_table

pytestmark = pytest.mark.reliability

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"}
FAULTS = ["500", "drop-before", "drop-after", "crash-before", "crash-after"]
DETACH_WRITES = 10  # the record, then each intent and outcome (attach + 3 detaches), activated
RESTORE_WRITES = 6  # the claim, 4 intents (3 re-attaches, FullAWSAccess off), the closing write


class AtWrite:
    """Fail the k-th DynamoDB write in the way `fault` says."""

    def __init__(self, k: int, fault: str) -> None:
        self.k, self.fault, self.seen = k, fault, 0

    def hooks(self) -> list[tuple[str, Any]]:
        return [("before-call.dynamodb", self.before), ("after-call.dynamodb", self.after)]

    def _hit(self, model: Any) -> bool:
        return model.name in WRITES and self.seen == self.k

    def before(self, model: Any = None, **_: Any) -> Any:
        if model.name in WRITES:
            self.seen += 1
        if not self._hit(model):
            return None
        if self.fault == "500":
            return answer("InternalServerError", 500)
        if self.fault == "drop-before":
            raise ConnectionClosedError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
        if self.fault == "crash-before":
            raise Crash(f"crash before write {self.k}")
        return None

    def after(self, model: Any = None, **_: Any) -> None:
        if not self._hit(model):
            return
        if self.fault == "drop-after":
            raise ConnectionClosedError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
        if self.fault == "crash-after":
            raise Crash(f"crash after write {self.k}")


@pytest.fixture
def locked_out(org):
    make_table()
    for n in range(3):
        org.attach(org.new_policy(f"Deny{n}"), org.account)
    org.detach(FULL_AWS_ACCESS, org.account)
    return org


def runtime(hooks: list[Any] | None = None) -> Runtime:
    factory = ClientFactory(botocore_session=_shared_botocore(), max_attempts=1, hooks=hooks or [])
    return Runtime(factory=factory, store=DynamoStore(factory, TABLE))


def detach(rt: Runtime, target: str) -> str:
    plan = plan_scp_detach(rt, target, [])
    return open_scp_incident(rt, plan, whoami(rt), "INC-7 outage", None, timedelta(hours=1)).incident_id


def settle(org, before: dict[str, set[str]]) -> None:
    """A fresh restore of whatever was opened ends exact, and nothing is left open or held."""
    fresh = runtime()
    for incident in fresh.store.list_incidents():
        result = restore_incident(fresh, incident.incident_id)
        assert result.status is IncidentStatus.CLOSED, result
        assert journal_problems(fresh, incident.incident_id) == []
    assert org.snapshot() == before
    assert fresh.store.holders(org.account) == []


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("k", range(1, DETACH_WRITES + 1))
def test_a_store_fault_during_detach(locked_out, fault, k):
    before = locked_out.snapshot()
    fails = AtWrite(k, fault)
    with contextlib.suppress(Crash, BreakglassError):
        detach(runtime(fails.hooks()), locked_out.account)
    assert locked_out.scps(locked_out.account), "never zero SCPs"
    settle(locked_out, before)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("k", range(1, RESTORE_WRITES + 1))
def test_a_store_fault_during_restore(locked_out, fault, k):
    before = locked_out.snapshot()
    incident_id = detach(runtime(), locked_out.account)
    fails = AtWrite(k, fault)
    with contextlib.suppress(Crash, BreakglassError):
        restore_incident(runtime(fails.hooks()), incident_id)
    assert locked_out.scps(locked_out.account), "never zero SCPs"
    settle(locked_out, before)
