"""`restore --expired --max-rps N` without --workers keeps enough restores in flight to use N."""

from __future__ import annotations

import pytest

from breakglass_aws.cli.incidents import _workers_for


@pytest.mark.parametrize(
    ("configured", "max_rps", "expected"),
    [(4, None, 4), (4, 2.0, 4), (4, 20.0, 10), (4, 19.0, 10), (12, 20.0, 12), (4, 1000.0, 32)],
)
def test_workers_follow_the_rate_limit(configured, max_rps, expected):
    assert _workers_for(configured, max_rps) == expected
