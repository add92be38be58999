"""Role mode: a `role assume` run, what AssumeRole was sent, and the revocation policy on the role."""

from __future__ import annotations

import json

from breakglass_aws.role.revoke import POLICY_NAME
from tests.conftest import ACCOUNT, MFA


class Capture:
    """Everything sent to AssumeRole, seen by a before-parameter-build hook (moto validates none of it)."""

    def __init__(self):
        self.sent: list[dict] = []

    def hook(self):
        return ("before-parameter-build.sts.AssumeRole", lambda params=None, **_: self.sent.append(dict(params)))


def assume(cli, *extra, hooks=(), **kwargs):
    return cli(
        "role",
        "assume",
        "--account",
        ACCOUNT,
        "--reason",
        "IdP down",
        "--ticket",
        "INC-5",
        "--mfa-serial",
        MFA,
        "--token-code",
        "123456",
        *extra,
        hooks=list(hooks),
        **kwargs,
    )


def revoke_policy(iam):
    document = iam.get_role_policy(RoleName="BreakGlassAdmin", PolicyName=POLICY_NAME)["PolicyDocument"]
    return json.loads(document) if isinstance(document, str) else document
