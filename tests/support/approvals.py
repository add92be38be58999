"""The two-person rule: a target locked out by a Deny, and a request made as one of the cast
(the cast itself, the `people` and `as_` fixtures, is in tests/conftest.py)."""

from __future__ import annotations


def locked_out(org):
    policy = org.new_policy("Deny")
    org.attach(policy, org.account)
    return org.snapshot()


def request(as_, org, who="alice", *extra):
    run = as_(who, "scp", "detach", "--target", org.account, "--reason", "INC-1", "--yes", "--output", "json", *extra)
    assert run.exit_code == 0, run.stderr
    return run.json()
