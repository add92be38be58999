"""The IAM actions each AWS operation of the tool needs: one place, used for error messages
and checked against the Terraform operator policy."""

from __future__ import annotations

__all__ = [
    "OPERATION_ACTIONS",
    "ROLE_ASSUME_ACTIONS",
    "ROLE_REVOKE_ACTIONS",
    "SCP_DETACH_ACTIONS",
    "SCP_RESTORE_ACTIONS",
    "iam_action",
]

OPERATION_ACTIONS: dict[str, str] = {
    "GetCallerIdentity": "sts:GetCallerIdentity",
    "AssumeRole": "sts:AssumeRole",
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
    "GetRole": "iam:GetRole",
    "GetRolePolicy": "iam:GetRolePolicy",
    "PutRolePolicy": "iam:PutRolePolicy",
}

SCP_DETACH_ACTIONS = frozenset(
    OPERATION_ACTIONS[op]
    for op in (
        "GetCallerIdentity",
        "DescribeOrganization",
        "ListPoliciesForTarget",
        "ListParents",
        "ListAccountsForParent",
        "ListOrganizationalUnitsForParent",
        "DescribePolicy",
        "AttachPolicy",
        "DetachPolicy",
    )
)
SCP_RESTORE_ACTIONS = frozenset(
    OPERATION_ACTIONS[op] for op in ("ListPoliciesForTarget", "DescribePolicy", "AttachPolicy", "DetachPolicy")
)

ROLE_ASSUME_ACTIONS = frozenset({"sts:GetCallerIdentity", "sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"})
ROLE_REVOKE_ACTIONS = frozenset({"sts:GetCallerIdentity", "iam:GetRole", "iam:GetRolePolicy", "iam:PutRolePolicy"})


def iam_action(operation: str) -> str:
    """The IAM action behind an API operation name, e.g. DetachPolicy -> organizations:DetachPolicy."""
    return OPERATION_ACTIONS.get(operation, operation)
