"""The IAM actions each operation of the tool needs: one place. Used for access-denied messages,
and checked against the Terraform-rendered operator and restore-function policies."""

from __future__ import annotations

__all__ = ["OPERATION_ACTIONS", "RESTORE_FUNCTION", "TASKS", "actions_for", "iam_action"]

OPERATION_ACTIONS: dict[str, str] = {
    # STS
    "GetCallerIdentity": "sts:GetCallerIdentity",
    "AssumeRole": "sts:AssumeRole",
    # Organizations
    "DescribeOrganization": "organizations:DescribeOrganization",
    "ListPoliciesForTarget": "organizations:ListPoliciesForTarget",
    "ListParents": "organizations:ListParents",
    "ListRoots": "organizations:ListRoots",
    "ListChildren": "organizations:ListChildren",
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
    # Secrets Manager
    "DescribeSecret": "secretsmanager:DescribeSecret",
    "GetSecretValue": "secretsmanager:GetSecretValue",
    "PutSecretValue": "secretsmanager:PutSecretValue",
    # CloudTrail, S3, SNS
    "LookupEvents": "cloudtrail:LookupEvents",
    "GetObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
    "PutObject": "s3:PutObject",
    "Publish": "sns:Publish",
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

TASKS: dict[str, list[str]] = {
    "scp-detach": [*_SCP_READ, "AttachPolicy", "DetachPolicy", "Publish"],
    "scp-restore": [
        "GetCallerIdentity",
        "ListPoliciesForTarget",
        "DescribePolicy",
        "AttachPolicy",
        "DetachPolicy",
        "Publish",
    ],
    "role-assume": ["GetCallerIdentity", "AssumeRole", "Publish"],
    "role-revoke": ["GetCallerIdentity", "AssumeRole", "GetRole", "GetRolePolicy", "PutRolePolicy", "Publish"],
    "rotate": [*_ROTATE, "Publish"],
    "evidence": ["LookupEvents", "GetObjectLockConfiguration", "PutObject"],
    "watch": ["LookupEvents", "Publish"],
}

# The scheduled restore function restores expired SCP incidents and nothing else.
RESTORE_FUNCTION = ["ListPoliciesForTarget", "DescribePolicy", "AttachPolicy", "DetachPolicy", "Publish"]


def iam_action(operation: str) -> str:
    """The IAM action behind an API operation name, e.g. DetachPolicy -> organizations:DetachPolicy."""
    return OPERATION_ACTIONS.get(operation, operation)


def actions_for(*tasks: str) -> set[str]:
    """The IAM actions the named tasks need (every task when none is named)."""
    chosen = tasks or tuple(TASKS)
    return {OPERATION_ACTIONS[op] for task in chosen for op in TASKS[task]}
