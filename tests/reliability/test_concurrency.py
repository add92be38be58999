"""Two engineers detach the same target at once: exactly one incident opens. Overlapping
incidents on the shared store closed all at once: every policy comes back."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from breakglass_aws.aws import ClientFactory
from breakglass_aws.errors import GuardRailError
from breakglass_aws.incident.close import restore_incident
from breakglass_aws.incident.scp import open_scp_incident, plan_scp_detach
from breakglass_aws.journal.dynamodb import DynamoStore
from breakglass_aws.models import FULL_AWS_ACCESS, IncidentStatus
from breakglass_aws.runtime import Runtime, whoami
from tests.conftest import _shared_botocore
from tests.support.store import TABLE, atomic_dynamodb, make_table  # noqa: F401 (fixture)


def test_two_threads_one_incident(org, make_runtime):
    ids = [org.new_policy(f"Deny{i}") for i in range(2)]
    for p in ids:
        org.attach(p, org.account)
    before = org.snapshot()
    runtimes = [make_runtime(), make_runtime()]
    plans = [plan_scp_detach(rt, org.account, []) for rt in runtimes]  # both pass the early lock check
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def engineer(n: int) -> None:
        barrier.wait()
        try:
            open_scp_incident(runtimes[n], plans[n], whoami(runtimes[n]), f"eng{n}", None, timedelta(hours=1))
            outcomes.append("opened")
        except GuardRailError as err:
            outcomes.append(f"refused:{err.exit_code}")

    threads = [threading.Thread(target=engineer, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["opened", "refused:4"]
    (incident,) = runtimes[0].store.list_incidents()
    assert org.scps(org.account) == {FULL_AWS_ACCESS}
    restore_incident(runtimes[0], incident.incident_id)
    assert org.snapshot() == before


# --- the shared DynamoDB store: overlapping incidents closed all at once ------------------------


@pytest.mark.parametrize("holders", [2, 4])
def test_overlapping_incidents_closed_at_once_lose_nothing(org, holders):
    make_table()

    def runtime() -> Runtime:
        factory = ClientFactory(botocore_session=_shared_botocore(), max_attempts=2)
        return Runtime(factory=factory, store=DynamoStore(factory, TABLE))

    policies = [org.new_policy(f"Deny{n}") for n in range(holders)]
    for p in policies:
        org.attach(p, org.account)
    before = org.snapshot()
    opened = []
    for n, policy in enumerate(policies):
        rt = runtime()
        plan = plan_scp_detach(rt, org.account, [policy], join=n > 0)
        incident = open_scp_incident(rt, plan, whoami(rt), f"eng{n}", None, timedelta(hours=1), join=n > 0)
        opened.append(incident.incident_id)
    assert org.scps(org.account) == {FULL_AWS_ACCESS}
    barrier = threading.Barrier(holders)
    errors: list[BaseException] = []

    def close(incident_id: str) -> None:
        rt = runtime()
        barrier.wait()
        try:
            restore_incident(rt, incident_id)
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=close, args=(i,)) for i in opened]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert org.snapshot() == before, "every detached policy came back"
    store = runtime().store
    assert store.holders(org.account) == []
    assert {store.get_incident(i).status for i in opened} == {IncidentStatus.CLOSED}
