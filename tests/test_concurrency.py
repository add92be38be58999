"""Two engineers detach the same target at once: exactly one incident opens."""

from __future__ import annotations

import threading
from datetime import timedelta

from breakglass_aws.errors import GuardRailError
from breakglass_aws.incident import open_scp_incident, plan_scp_detach
from breakglass_aws.models import FULL_AWS_ACCESS
from breakglass_aws.restore import restore_incident
from breakglass_aws.runtime import whoami


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
