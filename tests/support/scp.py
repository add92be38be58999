"""SCP setups: Denies attached in place of FullAWSAccess, and an SCP incident opened over them."""

from __future__ import annotations

from breakglass_aws.models import FULL_AWS_ACCESS


def seeded(org, n=3):
    ids = [org.new_policy(f"Deny{i}") for i in range(n)]
    for p in ids:
        org.attach(p, org.account)
    org.detach(FULL_AWS_ACCESS, org.account)
    return ids


def scp_incident(org, cli):
    for n in range(3):
        org.attach(org.new_policy(f"Deny{n}"), org.account)
    org.detach(FULL_AWS_ACCESS, org.account)
    before = org.snapshot()
    opened = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json").json()
    return opened["incident_id"], before
