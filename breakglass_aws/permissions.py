"""The IAM actions each operation of the tool needs: one place. Used for access-denied messages,
and checked against the Terraform-rendered operator and restore-function policies."""

from __future__ import annotations

__all__ = ["OPERATION_ACTIONS", "RESTORE_FUNCTION", "TASKS", "actions_for", "iam_action"]

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
    # Secrets Manager
    "DescribeSecret": "secretsmanager:DescribeSecret",
    "GetSecretValue": "secretsmanager:GetSecretValue",
    "PutSecretValue": "secretsmanager:PutSecretValue",
    # CloudTrail, S3, SNS
    "LookupEvents": "cloudtrail:LookupEvents",
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
    # EventBridge (the alert rules check reads them)
    "ListRules": "events:ListRules",
    "ListTargetsByRule": "events:ListTargetsByRule",
    # EventBridge Scheduler (the dead-man switch), DynamoDB (the shared store)
    "CreateSchedule": "scheduler:CreateSchedule",
    "DeleteSchedule": "scheduler:DeleteSchedule",
    "GetSchedule": "scheduler:GetSchedule",
    "ListSchedules": "scheduler:ListSchedules",
    "GetItem": "dynamodb:GetItem",
    "PutItem": "dynamodb:PutItem",
    "DeleteItem": "dynamodb:DeleteItem",
    "Query": "dynamodb:Query",
    "BatchGetItem": "dynamodb:BatchGetItem",
    "TransactWriteItems": "dynamodb:TransactWriteItems",
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
    # `check` (and `check --outage-probe`): reads only; AssumeRole of the member role to read the
    # break-glass role in member accounts.
    "check": [
        "GetCallerIdentity",
        "DescribeOrganization",
        "ListAccounts",
        "ListParents",
        "ListPoliciesForTarget",
        "DescribePolicy",
        "AssumeRole",
        "GetRole",
        "ListAccountAliases",
        "GetTopicAttributes",
        "ListSubscriptionsByTopic",
        "ListRules",
        "ListTargetsByRule",
        "GetSchedule",
        "ListSchedules",
        "ListAccessKeys",
        "DescribeSecret",
        "GetSecretValue",
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


def iam_action(operation: str) -> str:
    """The IAM action behind an API operation name, e.g. DetachPolicy -> organizations:DetachPolicy."""
    return OPERATION_ACTIONS.get(operation, operation)


def actions_for(*tasks: str) -> set[str]:
    """The IAM actions the named tasks need (every task when none is named)."""
    chosen = tasks or tuple(TASKS)
    return {OPERATION_ACTIONS[op] for task in chosen for op in TASKS[task]}
