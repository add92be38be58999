"""The IAM actions each operation of the tool needs: one place. Used for access-denied messages,
and checked against the Terraform-rendered operator and restore-function policies."""

from __future__ import annotations

__all__ = [
    "CUSTODY_TASKS",
    "OPERATION_ACTIONS",
    "RESTORE_FUNCTION",
    "ROOT_SESSION",
    "ROOT_TASKS",
    "TASKS",
    "actions_for",
    "iam_action",
]

OPERATION_ACTIONS: dict[str, str] = {
    # STS
    "GetCallerIdentity": "sts:GetCallerIdentity",
    "AssumeRole": "sts:AssumeRole",
    # authorized with AssumeRole, not operations of their own
    "SetSourceIdentity": "sts:SetSourceIdentity",
    "TagSession": "sts:TagSession",
    "PutObjectRetention": "s3:PutObjectRetention",
    # Organizations
    "DescribeOrganization": "organizations:DescribeOrganization",
    "ListPoliciesForTarget": "organizations:ListPoliciesForTarget",
    "ListParents": "organizations:ListParents",
    "ListRoots": "organizations:ListRoots",
    "ListChildren": "organizations:ListChildren",
    "ListAccounts": "organizations:ListAccounts",
    "ListAccountsForParent": "organizations:ListAccountsForParent",
    "ListOrganizationalUnitsForParent": "organizations:ListOrganizationalUnitsForParent",
    "DescribePolicy": "organizations:DescribePolicy",
    "AttachPolicy": "organizations:AttachPolicy",
    "DetachPolicy": "organizations:DetachPolicy",
    # IAM
    "GetRole": "iam:GetRole",
    "GetRolePolicy": "iam:GetRolePolicy",
    "PutRolePolicy": "iam:PutRolePolicy",
    "GetUser": "iam:GetUser",
    "ListAccessKeys": "iam:ListAccessKeys",
    "CreateAccessKey": "iam:CreateAccessKey",
    "UpdateAccessKey": "iam:UpdateAccessKey",
    "DeleteAccessKey": "iam:DeleteAccessKey",
    "GetLoginProfile": "iam:GetLoginProfile",
    "UpdateLoginProfile": "iam:UpdateLoginProfile",
    "GetAccountPasswordPolicy": "iam:GetAccountPasswordPolicy",
    "ListAccountAliases": "iam:ListAccountAliases",
    "ListMFADevices": "iam:ListMFADevices",
    # Secrets Manager
    "DescribeSecret": "secretsmanager:DescribeSecret",
    "GetSecretValue": "secretsmanager:GetSecretValue",
    "PutSecretValue": "secretsmanager:PutSecretValue",
    "ListSecretVersionIds": "secretsmanager:ListSecretVersionIds",
    "GetResourcePolicy": "secretsmanager:GetResourcePolicy",  # check: who can read a custody share
    "CreateSecret": "secretsmanager:CreateSecret",  # custody: a custodian's share secret, first time
    # CloudTrail, S3, SNS
    "LookupEvents": "cloudtrail:LookupEvents",
    "DescribeTrails": "cloudtrail:DescribeTrails",
    "GetTrailStatus": "cloudtrail:GetTrailStatus",
    "GetEventSelectors": "cloudtrail:GetEventSelectors",
    "GetObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
    "PutObject": "s3:PutObject",
    "GetObject": "s3:GetObject",
    "ListObjectsV2": "s3:ListBucket",
    # KMS: the signing key (journal heads at close, evidence manifests)
    "Sign": "kms:Sign",
    "GetPublicKey": "kms:GetPublicKey",
    "Publish": "sns:Publish",
    "GetTopicAttributes": "sns:GetTopicAttributes",
    "ListSubscriptionsByTopic": "sns:ListSubscriptionsByTopic",
    # EventBridge (check reads the alert rules, in member accounts through the member role, and
    # the central bus's policy)
    "ListRules": "events:ListRules",
    "ListTargetsByRule": "events:ListTargetsByRule",
    "DescribeEventBus": "events:DescribeEventBus",
    # EventBridge Scheduler (the dead-man switch), DynamoDB (the shared store)
    "CreateSchedule": "scheduler:CreateSchedule",
    "UpdateSchedule": "scheduler:UpdateSchedule",
    "DeleteSchedule": "scheduler:DeleteSchedule",
    "GetSchedule": "scheduler:GetSchedule",
    "ListSchedules": "scheduler:ListSchedules",
    "GetItem": "dynamodb:GetItem",
    "PutItem": "dynamodb:PutItem",
    "DeleteItem": "dynamodb:DeleteItem",
    "Query": "dynamodb:Query",
    "BatchGetItem": "dynamodb:BatchGetItem",
    "TransactWriteItems": "dynamodb:TransactWriteItems",
    # Root-task mode: the caller's prerequisite reads and AssumeRoot ...
    "AssumeRoot": "sts:AssumeRoot",
    "ListOrganizationsFeatures": "iam:ListOrganizationsFeatures",
    "ListAWSServiceAccessForOrganization": "organizations:ListAWSServiceAccessForOrganization",
    "ListDelegatedAdministrators": "organizations:ListDelegatedAdministrators",
    "DescribeAccount": "organizations:DescribeAccount",
    # Lambda: `check` compares the deployed restore function with what its package was built for
    "GetFunction": "lambda:GetFunction",
    # ... and what the root session does (allowed by the task policy, not by the caller's policy)
    "GetBucketPolicy": "s3:GetBucketPolicy",
    "PutBucketPolicy": "s3:PutBucketPolicy",
    "DeleteBucketPolicy": "s3:DeleteBucketPolicy",
    "GetQueueAttributes": "sqs:GetQueueAttributes",
    "SetQueueAttributes": "sqs:SetQueueAttributes",
    "DeleteLoginProfile": "iam:DeleteLoginProfile",
    "DeactivateMFADevice": "iam:DeactivateMFADevice",
    "DeleteVirtualMFADevice": "iam:DeleteVirtualMFADevice",
    "ListSigningCertificates": "iam:ListSigningCertificates",
    "DeleteSigningCertificate": "iam:DeleteSigningCertificate",
}

_SCP_READ = [
    "GetCallerIdentity",
    "DescribeOrganization",
    "ListPoliciesForTarget",
    "ListParents",
    "ListAccountsForParent",
    "ListOrganizationalUnitsForParent",
    "DescribePolicy",
]
_STORE = ["GetItem", "PutItem", "DeleteItem", "Query", "BatchGetItem", "TransactWriteItems"]
_ROTATE = [
    "GetCallerIdentity",
    "GetUser",
    "ListAccessKeys",
    "CreateAccessKey",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "GetLoginProfile",
    "UpdateLoginProfile",
    "GetAccountPasswordPolicy",
    "DescribeSecret",
    "GetSecretValue",
    "PutSecretValue",
]
_RESTORE = [
    "ListPoliciesForTarget",
    "DescribePolicy",
    "AttachPolicy",
    "DetachPolicy",
    "Publish",
    "DeleteSchedule",
    *_STORE,
]

_ROLE_REVOKE = ["GetCallerIdentity", "AssumeRole", "GetRole", "GetRolePolicy", "PutRolePolicy"]
# Every lifecycle event is published (who acts: GetCallerIdentity) and its journal head anchored in
# the evidence bucket; the head at close, and evidence manifests, are signed.
_ANCHOR = ["GetCallerIdentity", "Publish", "PutObject", "PutObjectRetention", "Sign"]

TASKS: dict[str, list[str]] = {
    "scp-detach": [*_SCP_READ, "AttachPolicy", "DetachPolicy", "CreateSchedule", *_ANCHOR, *_STORE],
    "scp-restore": [*_RESTORE, *_ANCHOR],
    "role-assume": ["AssumeRole", "SetSourceIdentity", "TagSession", "GetRole", *_ANCHOR, *_STORE],
    "role-revoke": [*_ROLE_REVOKE, *_ANCHOR, *_STORE],
    "rotate": [*_ROTATE, *_ANCHOR, *_STORE],
    "evidence": ["LookupEvents", "GetObjectLockConfiguration", *_ANCHOR, *_STORE],
    "journal-verify": ["ListObjectsV2", "GetObject", "GetPublicKey", *_STORE],
    "watch": ["LookupEvents", "Publish", *_STORE],
    # `extend`: the expiry moves in the store, the restore schedule with it.
    "extend": ["UpdateSchedule", "CreateSchedule", *_ANCHOR, *_STORE],
    # `check` (and `check --outage-probe`): reads only; AssumeRole of the member role to read the
    # break-glass role and the forwarding rules in member accounts. Never GetSecretValue: outside
    # an incident, reading a break-glass secret is itself an alarm.
    "check": [
        "GetCallerIdentity",
        "DescribeOrganization",
        "ListAccounts",
        "ListParents",
        "ListPoliciesForTarget",
        "DescribePolicy",
        "AssumeRole",
        "GetRole",
        "GetUser",
        "ListAccountAliases",
        "ListMFADevices",
        "GetTopicAttributes",
        "ListSubscriptionsByTopic",
        "ListRules",
        "ListTargetsByRule",
        "DescribeEventBus",
        "DescribeTrails",
        "GetTrailStatus",
        "GetEventSelectors",
        "GetSchedule",
        "ListSchedules",
        "ListAccessKeys",
        "DescribeSecret",
        "ListSecretVersionIds",
        "GetResourcePolicy",
        # whether root-task mode is ready (read-only)
        "ListAWSServiceAccessForOrganization",
        "ListOrganizationsFeatures",
        "ListDelegatedAdministrators",
        # the restore function as deployed (runtime, architecture, its package's build record)
        "GetFunction",
        *_STORE,
    ],
}
# `drill`: the whole procedure, end to end.
_DRILL_TASKS = ("scp-detach", "scp-restore", "role-assume", "role-revoke", "rotate", "evidence")
TASKS["drill"] = sorted({op for task in _DRILL_TASKS for op in TASKS[task]})

# The scheduled restore function restores expired SCP incidents, and finishes the closes that
# stopped (a control plane was down): revoking a role's sessions through the member role, and the
# rotation of the break-glass users the close had planned.
RESTORE_FUNCTION = sorted({*_RESTORE, *_ROLE_REVOKE, *_ROTATE, *_ANCHOR})

# Root-task mode (`breakglass root ...`), opt-in: what the caller needs (the prerequisite reads,
# sts:AssumeRoot, and closing a stale root incident, which reads back with a fresh root session).
# Kept apart from TASKS until the Terraform operator policy grants them when root-task mode is on.
_ROOT_PREREQ = ["DescribeOrganization", "ListAWSServiceAccessForOrganization", "ListOrganizationsFeatures"]
_ROOT_CALLER = ["GetCallerIdentity", *_ROOT_PREREQ, "ListDelegatedAdministrators", "DescribeAccount", "AssumeRoot"]
ROOT_TASKS: dict[str, list[str]] = {
    "root-unlock": [*_ROOT_CALLER, *_ANCHOR, *_STORE],
    "root-audit": [*_ROOT_CALLER, *_ANCHOR, *_STORE],
    "root-delete-credentials": [*_ROOT_CALLER, *_ANCHOR, *_STORE],
    "root-end": ["AssumeRoot", *_ANCHOR, *_STORE],
}
# What the root session itself calls: allowed by the AssumeRoot task policy of each task
# (S3UnlockBucketPolicy, SQSUnlockQueuePolicy, IAMAuditRootUserCredentials, IAMDeleteRootUserCredentials).
_ROOT_READS = ["GetLoginProfile", "ListAccessKeys", "ListMFADevices", "ListSigningCertificates"]
ROOT_SESSION: dict[str, list[str]] = {
    "root-unlock": [
        "GetBucketPolicy",
        "PutBucketPolicy",
        "DeleteBucketPolicy",
        "GetQueueAttributes",
        "SetQueueAttributes",
    ],
    "root-audit": _ROOT_READS,
    "root-delete-credentials": [
        *_ROOT_READS,
        "DeleteLoginProfile",
        "DeleteAccessKey",
        "DeleteSigningCertificate",
        "DeactivateMFADevice",
        "DeleteVirtualMFADevice",
    ],
    "root-end": ["GetBucketPolicy", "GetQueueAttributes", *_ROOT_READS],
}


# Custody of the glass (custody_threshold + custodians): a rotation also writes each custodian's
# share secret (creating it the first time), a custodian reads their share, and an opening reads
# the sealed secret, proves the key (GetCallerIdentity with it) and is journaled and notified.
# Kept apart from TASKS until the Terraform module makes the per-custodian secrets and grants them.
CUSTODY_TASKS: dict[str, list[str]] = {
    "custody-rotate": [*_ROTATE, "CreateSecret", *_ANCHOR, *_STORE],
    "custody-share": ["GetSecretValue"],
    "custody-open": ["GetCallerIdentity", "GetSecretValue", *_ANCHOR, *_STORE],
}


def iam_action(operation: str) -> str:
    """The IAM action behind an API operation name, e.g. DetachPolicy -> organizations:DetachPolicy."""
    return OPERATION_ACTIONS.get(operation, operation)


def actions_for(*tasks: str) -> set[str]:
    """The IAM actions the named tasks need (every task of TASKS when none is named; a root task
    only when named: the caller's actions, not the root session's)."""
    chosen = tasks or tuple(TASKS)
    known = {**TASKS, **ROOT_TASKS, **CUSTODY_TASKS}
    return {OPERATION_ACTIONS[op] for task in chosen for op in known[task]}
