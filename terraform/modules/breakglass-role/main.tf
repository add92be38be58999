locals {
  # Conditions on sts:AssumeRole: MFA always, SourceIdentity unless switched off.
  assume_conditions = concat(
    [{ test = "Bool", variable = "aws:MultiFactorAuthPresent", values = ["true"] }],
    var.require_source_identity ? [{ test = "Null", variable = "sts:SourceIdentity", values = ["false"] }] : [],
  )
}

data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "AssumeWithMFA"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = var.trusted_principal_arns
    }

    dynamic "condition" {
      for_each = local.assume_conditions
      content {
        test     = condition.value.test
        variable = condition.value.variable
        values   = condition.value.values
      }
    }
  }

  statement {
    sid     = "SourceIdentityAndSessionTags"
    effect  = "Allow"
    actions = ["sts:SetSourceIdentity", "sts:TagSession"]

    principals {
      type        = "AWS"
      identifiers = var.trusted_principal_arns
    }

    condition {
      test     = "Bool"
      variable = "aws:MultiFactorAuthPresent"
      values   = ["true"]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = var.role_name
  description          = var.role_description
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = var.max_session_duration
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each = toset(var.policy_arns)

  role       = aws_iam_role.this.name
  policy_arn = each.value
}

# Users only: access keys and console passwords would land in the Terraform state.
resource "aws_iam_user" "this" {
  for_each = toset(var.break_glass_user_names)

  name          = each.value
  force_destroy = var.user_force_destroy
  tags          = var.tags
}
