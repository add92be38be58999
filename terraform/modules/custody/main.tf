# Custody of the glass: one secret per break-glass user and custodian, holding that custodian's
# encrypted share of the user's credentials, which only the custodian may read.

locals {
  # "<user>/<custodian>" => both names; none without custody
  shares = var.custody_threshold == 0 ? {} : {
    for pair in setproduct(var.break_glass_user_names, keys(var.custodians)) :
    "${pair[0]}/${pair[1]}" => { user = pair[0], custodian = pair[1] }
  }
}

# Rotation (the operator's `breakglass rotate`, the restore function) writes a new version of each;
# nobody but its custodian reads one, whatever their IAM policy says: the resource policy's Deny
# wins over any Allow. Changing that policy is itself audited (PutResourcePolicy is a management
# event, and the alert patterns watch the break-glass secrets).
resource "aws_secretsmanager_secret" "custody_share" {
  for_each = local.shares

  name                    = "${var.secret_prefix}${each.value.user}/custody/${each.value.custodian}"
  description             = "Custody: ${each.value.custodian}'s encrypted share of ${each.value.user}'s credentials, written by `breakglass rotate`."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = merge(var.tags, { "breakglass:custodian" = each.value.custodian })
}

data "aws_iam_policy_document" "custody_share" {
  #checkov:skip=CKV_AWS_356:a secret's resource policy; its resource is this secret
  #checkov:skip=CKV_AWS_111:a secret's resource policy; its resource is this secret
  for_each = local.shares

  statement {
    sid       = "OnlyTheCustodianReads"
    effect    = "Deny"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = [var.custodians[each.value.custodian].principal_arn]
    }
  }

  statement {
    sid       = "TheCustodianReads"
    actions   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [var.custodians[each.value.custodian].principal_arn]
    }
  }
}

resource "aws_secretsmanager_secret_policy" "custody_share" {
  for_each = local.shares

  secret_arn          = aws_secretsmanager_secret.custody_share[each.key].arn
  policy              = data.aws_iam_policy_document.custody_share[each.key].json
  block_public_policy = true
}

