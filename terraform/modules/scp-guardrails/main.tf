data "aws_partition" "current" {}

locals {
  # The permanent exemption in every Deny: the break-glass role, in any account.
  exempt_principal_arns = ["arn:${data.aws_partition.current.partition}:iam::*:role/${var.break_glass_role_name}"]

  descriptions = {
    DenyLeaveOrganization       = "Accounts may not leave the organization (break-glass role exempt)."
    DenyCloudTrailChanges       = "CloudTrail trails may not be stopped, deleted or reconfigured (break-glass role exempt)."
    DenyRegionsOutsideAllowList = "Requests outside the allowed regions are denied, global services excepted (break-glass role exempt)."
  }

  # Minified: an SCP counts every character, whitespace included, against its 5,120 limit.
  documents = merge(
    var.deny_leave_organization ? { DenyLeaveOrganization = data.aws_iam_policy_document.deny_leave_organization[0].minified_json } : {},
    var.deny_cloudtrail_changes ? { DenyCloudTrailChanges = data.aws_iam_policy_document.deny_cloudtrail_changes[0].minified_json } : {},
    length(var.allowed_regions) > 0 ? { DenyRegionsOutsideAllowList = data.aws_iam_policy_document.deny_regions_outside_allow_list[0].minified_json } : {},
  )

  attachments = {
    for pair in setproduct(keys(local.documents), var.target_ids) : "${pair[0]}/${pair[1]}" => {
      policy = pair[0]
      target = pair[1]
    }
  }
}

data "aws_iam_policy_document" "deny_leave_organization" {
  count = var.deny_leave_organization ? 1 : 0

  statement {
    sid       = "DenyLeaveOrganization"
    effect    = "Deny"
    actions   = ["organizations:LeaveOrganization"]
    resources = ["*"]

    condition {
      test     = "ArnNotLike"
      variable = "aws:PrincipalARN"
      values   = local.exempt_principal_arns
    }
  }
}

data "aws_iam_policy_document" "deny_cloudtrail_changes" {
  count = var.deny_cloudtrail_changes ? 1 : 0

  statement {
    sid    = "DenyCloudTrailChanges"
    effect = "Deny"
    actions = [
      "cloudtrail:DeleteTrail",
      "cloudtrail:PutEventSelectors",
      "cloudtrail:StopLogging",
      "cloudtrail:UpdateTrail",
    ]
    resources = ["*"]

    condition {
      test     = "ArnNotLike"
      variable = "aws:PrincipalARN"
      values   = local.exempt_principal_arns
    }
  }
}

data "aws_iam_policy_document" "deny_regions_outside_allow_list" {
  count = length(var.allowed_regions) > 0 ? 1 : 0

  statement {
    sid         = "DenyRegionsOutsideAllowList"
    effect      = "Deny"
    not_actions = var.region_exempt_actions
    resources   = ["*"]

    condition {
      test     = "StringNotEquals"
      variable = "aws:RequestedRegion"
      values   = var.allowed_regions
    }

    condition {
      test     = "ArnNotLike"
      variable = "aws:PrincipalARN"
      values   = local.exempt_principal_arns
    }
  }
}

resource "aws_organizations_policy" "this" {
  for_each = local.documents

  name        = "${var.name_prefix}${each.key}"
  description = local.descriptions[each.key]
  type        = "SERVICE_CONTROL_POLICY"
  content     = each.value
  tags        = var.tags

  lifecycle {
    precondition {
      condition     = length(each.value) <= 5120
      error_message = "An SCP document may hold at most 5,120 characters."
    }
  }
}

resource "aws_organizations_policy_attachment" "this" {
  for_each = local.attachments

  policy_id = aws_organizations_policy.this[each.value.policy].id
  target_id = each.value.target
}
