"""`check`: the custody of the glass. Never reads a secret's value (reading a break-glass secret is
itself an alarm): the shares' presence and age come from DescribeSecret, who can read each share
from its resource policy (GetResourcePolicy), the seal of the last rotation from the journal (its
store-shares outcome, with the fingerprints)."""

from __future__ import annotations

import fnmatch
import functools
import json
from datetime import datetime
from typing import TYPE_CHECKING

from breakglass_aws.custody import CustodyPolicy, custody_policy, share_secret_id
from breakglass_aws.readiness.common import finding, guarded
from breakglass_aws.runtime import Runtime
from breakglass_aws.scp.lint import Finding

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = ["check_custody"]

RECENT = 50  # incidents read back (a close or a rotate) for the last rotation of each user


def check_custody(rt: Runtime, users: list[str]) -> list[Finding]:
    policy = custody_policy(rt.rotation.custody_threshold, rt.rotation.custodians)
    if policy is None:
        return []  # no custody (the default): nothing to report
    summary = f"{policy.threshold} of {len(policy.custodians)}: {', '.join(policy.names)}"
    findings = [finding("info", "custody", "settings", summary, "none")]
    for user in users:
        findings += guarded("custody", user, functools.partial(_check_user, rt, policy, user))
    return findings


def _check_user(rt: Runtime, policy: CustodyPolicy, user: str) -> list[Finding]:
    sm = rt.factory.client("secretsmanager")
    base = rt.rotation.secret_for(user)
    sealed_at = _changed(sm, base)
    findings = [_share_state(sm, base, name, sealed_at) for name in policy.names]
    findings += [_share_readers(sm, base, name) for name in policy.names]
    sealed = _last_seal(rt, user)
    if sealed is None:
        findings.append(
            finding(
                "error",
                "custody",
                user,
                f"no rotation of {user} under custody in the journal: {base} may still hold the plaintext key",
                f"rotate with custody configured: breakglass rotate --user {user}",
            )
        )
    elif sorted(sealed) != sorted(policy.names):
        findings.append(
            finding(
                "warning",
                "custody",
                user,
                f"the last seal was for {', '.join(sorted(sealed))}, not the configured custodians",
                f"rotate to re-split for the custodians now configured: breakglass rotate --user {user}",
            )
        )
    return [f for f in findings if f is not None]


def _changed(sm: SecretsManagerClient, secret_id: str) -> datetime | None:
    try:
        described = sm.describe_secret(SecretId=secret_id)
    except sm.exceptions.ResourceNotFoundException:
        return None
    found = described.get("LastChangedDate") or described.get("CreatedDate")
    return found if isinstance(found, datetime) else None


def _share_state(sm: SecretsManagerClient, base: str, name: str, sealed_at: datetime | None) -> Finding | None:
    secret_id = share_secret_id(base, name)
    changed = _changed(sm, secret_id)
    if changed is None:
        return finding("error", "custody", secret_id, f"{name}'s share is missing", "rotate to write every share")
    if sealed_at is not None and changed < sealed_at:
        return finding(
            "error",
            "custody",
            secret_id,
            f"{name}'s share is older than the sealed credentials (an unfinished rotation)",
            f"rerun the rotation: breakglass rotate --user {base.rsplit('/', 1)[-1]}",
        )
    return None


READ = "secretsmanager:getsecretvalue"
# the conditions that leave one principal out of a Deny to everyone
EXCEPT_ONE = {"arnnotequals", "arnnotlike", "stringnotequals", "stringnotlike"}


def lone_reader(policy_text: str | None) -> str | None:
    """The one principal a share secret's resource policy leaves able to read it: a Deny of
    GetSecretValue to every principal except one `aws:PrincipalArn`. None when no statement
    does that (then any principal whose IAM policy allows GetSecretValue reads the share)."""
    try:
        document = json.loads(policy_text or "{}")
    except json.JSONDecodeError:
        return None
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    for statement in statements if isinstance(statements, list) else [statements]:
        reader = _denies_all_but(statement) if isinstance(statement, dict) else None
        if reader:
            return reader
    return None


def _denies_all_but(statement: dict[str, object]) -> str | None:
    if statement.get("Effect") != "Deny" or {"NotAction", "NotPrincipal", "NotResource"} & set(statement):
        return None
    principal = statement.get("Principal")
    if principal not in ("*", {"AWS": "*"}, {"AWS": ["*"]}):
        return None
    actions = statement.get("Action", [])
    listed = [actions] if isinstance(actions, str) else actions if isinstance(actions, list) else []
    if not any(fnmatch.fnmatchcase(READ, str(a).lower()) for a in listed):
        return None
    condition = statement.get("Condition")
    if not isinstance(condition, dict) or len(condition) != 1:
        return None
    test, keys = next(iter(condition.items()))
    if str(test).lower() not in EXCEPT_ONE or not isinstance(keys, dict) or len(keys) != 1:
        return None
    key, values = next(iter(keys.items()))
    values = [values] if isinstance(values, str) else values
    if str(key).lower() != "aws:principalarn" or not isinstance(values, list) or len(values) != 1:
        return None
    return str(values[0])


def _share_readers(sm: SecretsManagerClient, base: str, name: str) -> Finding | None:
    """A warning unless the share's resource policy keeps every principal but one from reading it."""
    secret_id = share_secret_id(base, name)
    try:
        text = sm.get_resource_policy(SecretId=secret_id).get("ResourcePolicy")
    except sm.exceptions.ResourceNotFoundException:
        return None  # said by _share_state
    except Exception as err:  # denied, or an emulator without it: said, never the end of the report
        code = getattr(err, "response", {}).get("Error", {}).get("Code", type(err).__name__)
        return finding(
            "warning",
            "custody",
            secret_id,
            f"who can read {name}'s share was not checked: its resource policy could not be read ({code})",
            "grant secretsmanager:GetResourcePolicy on the share secrets",
        )
    if lone_reader(text) is None:
        return finding(
            "warning",
            "custody",
            secret_id,
            f"no resource policy keeps other principals from reading {name}'s share "
            "(any principal whose IAM policy allows secretsmanager:GetSecretValue can)",
            "apply terraform/modules/custody (custodians with their principal_arn)",
        )
    return None


def _last_seal(rt: Runtime, user: str) -> list[str] | None:
    """The custodians of the user's last rotation, when it stored shares (None: it did not)."""
    for incident in rt.store.list_incidents(limit=RECENT):  # newest first
        for entry in reversed(rt.store.entries(incident.incident_id)):
            step = entry.data.get("step", {}) if entry.kind == "outcome" and entry.data.get("ok") else {}
            if step.get("user") != user:
                continue
            if step.get("action") == "store-shares":
                return sorted(entry.data.get("result", {}).get("fingerprints", {}))
            if step.get("action") == "store-secret":
                return None
    return None
