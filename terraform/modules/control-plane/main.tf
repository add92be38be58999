data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name

  topic_name                   = "${var.name_prefix}-notifications"
  restore_function_name        = "${var.name_prefix}-restore"
  restore_role_name            = "${var.name_prefix}-restore-function"
  scheduler_role_name          = "${var.name_prefix}-scheduler"
  operator_policy_name         = "${var.name_prefix}-operator"
  restore_log_group_name       = "/aws/lambda/${local.restore_function_name}"
  restore_function_arn         = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${local.restore_function_name}"
  store                        = "dynamodb://${var.store_table_name}"
  secret_names                 = { for user in var.break_glass_user_names : user => "${var.secret_prefix}${user}" }
  create_sns_kms_key           = var.sns_kms_key_arn == null
  sns_kms_key_arn              = local.create_sns_kms_key ? aws_kms_key.notifications[0].arn : var.sns_kms_key_arn
  break_glass_role_arn_pattern = "arn:${local.partition}:iam::*:role/${var.break_glass_role_name}"
  member_role_arn_pattern      = "arn:${local.partition}:iam::*:role/${var.member_role_name}"
  schedules_in_group_arn       = "arn:${local.partition}:scheduler:${local.region}:${local.account_id}:schedule/${var.schedule_group_name}/*"
  operator_kms_key_arns        = compact([var.evidence_kms_key_arn, var.secrets_kms_key_arn])
  break_glass_user_arns        = [for user in var.break_glass_user_names : "arn:${local.partition}:iam::${local.account_id}:user/${user}"]
  break_glass_secret_arns      = [for user in var.break_glass_user_names : aws_secretsmanager_secret.break_glass[user].arn]

  # Rotation of the break-glass users (operators, and the restore function resuming a close).
  rotate_user_actions = [
    "iam:CreateAccessKey",
    "iam:DeleteAccessKey",
    "iam:GetLoginProfile",
    "iam:GetUser",
    "iam:ListAccessKeys",
    "iam:UpdateAccessKey",
    "iam:UpdateLoginProfile",
  ]
  secret_actions = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]

  # Every IAM action of the tool's shared DynamoDB store.
  store_actions = [
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:TransactWriteItems",
    "dynamodb:UpdateItem",
  ]

  # EventBridge patterns of the alerts (CloudTrail management events; IAM, STS-global and sign-in
  # events are delivered in us-east-1 only).
  event_rules = merge(
    {
      role-assumed = {
        description = "AssumeRole of the break-glass role ${var.break_glass_role_name}"
        pattern = {
          source        = ["aws.sts"]
          "detail-type" = ["AWS API Call via CloudTrail"]
          detail = {
            eventSource       = ["sts.amazonaws.com"]
            eventName         = ["AssumeRole"]
            requestParameters = { roleArn = [{ suffix = ":role/${var.break_glass_role_name}" }] }
          }
        }
      }
      scp-changed = {
        description = "Service Control Policy attached, detached or edited"
        pattern = {
          source        = ["aws.organizations"]
          "detail-type" = ["AWS API Call via CloudTrail"]
          detail = {
            eventSource = ["organizations.amazonaws.com"]
            eventName   = ["AttachPolicy", "DetachPolicy", "UpdatePolicy"]
          }
        }
      }
    },
    length(var.break_glass_user_names) == 0 ? {} : {
      console-login = {
        description = "Console sign-in of a break-glass user"
        pattern = {
          source        = ["aws.signin"]
          "detail-type" = ["AWS Console Sign In via CloudTrail"]
          detail = {
            eventName    = ["ConsoleLogin"]
            userIdentity = { type = ["IAMUser"], userName = var.break_glass_user_names }
          }
        }
      }
    },
  )
}

################################################################################
# Notifications: a KMS-encrypted SNS topic and the EventBridge alerts feeding it
################################################################################

data "aws_iam_policy_document" "notifications_key" {
  count = local.create_sns_kms_key ? 1 : 0

  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "EventBridgePublishesAlerts"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
  }

  statement {
    sid       = "AccountPrincipalsThroughSNS"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:CallerAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sns.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "notifications" {
  count = local.create_sns_kms_key ? 1 : 0

  description             = "Encrypts the break-glass notification topic; EventBridge may use it."
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.notifications_key[0].json
  tags                    = var.tags
}

resource "aws_kms_alias" "notifications" {
  count = local.create_sns_kms_key ? 1 : 0

  name          = "alias/${local.topic_name}"
  target_key_id = aws_kms_key.notifications[0].key_id
}

resource "aws_sns_topic" "notifications" {
  name              = local.topic_name
  kms_master_key_id = local.sns_kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_event_rule" "alert" {
  for_each = local.event_rules

  name          = "${var.name_prefix}-${each.key}"
  description   = each.value.description
  event_pattern = jsonencode(each.value.pattern)
  tags          = var.tags
}

resource "aws_cloudwatch_event_target" "alert" {
  for_each = local.event_rules

  rule      = aws_cloudwatch_event_rule.alert[each.key].name
  target_id = "notify"
  arn       = aws_sns_topic.notifications.arn
}

data "aws_iam_policy_document" "notifications_topic" {
  statement {
    sid       = "EventBridgeAlerts"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for rule in aws_cloudwatch_event_rule.alert : rule.arn]
    }
  }
}

resource "aws_sns_topic_policy" "notifications" {
  arn    = aws_sns_topic.notifications.arn
  policy = data.aws_iam_policy_document.notifications_topic.json
}

################################################################################
# Shared incident store
################################################################################

resource "aws_dynamodb_table" "store" {
  name                        = var.store_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = var.store_deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  # Housekeeping of long-closed items only: TTL deletes "within days", never on time.
  ttl {
    attribute_name = "ttl"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }

  tags = var.tags
}

################################################################################
# Evidence bucket (Object Lock)
################################################################################

resource "aws_s3_bucket" "evidence" {
  bucket              = var.evidence_bucket_name
  object_lock_enabled = true
  force_destroy       = var.evidence_force_destroy
  tags                = var.tags
}

resource "aws_s3_bucket_ownership_controls" "evidence" {
  bucket = aws_s3_bucket.evidence.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "evidence" {
  bucket = aws_s3_bucket.evidence.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "evidence" {
  bucket = aws_s3_bucket.evidence.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "evidence" {
  bucket = aws_s3_bucket.evidence.id

  rule {
    bucket_key_enabled = var.evidence_kms_key_arn != null

    apply_server_side_encryption_by_default {
      sse_algorithm     = var.evidence_kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.evidence_kms_key_arn
    }
  }
}

resource "aws_s3_bucket_object_lock_configuration" "evidence" {
  bucket = aws_s3_bucket.evidence.id

  rule {
    default_retention {
      mode = var.evidence_lock_mode
      days = var.evidence_retention_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.evidence]
}

data "aws_iam_policy_document" "evidence_bucket" {
  count = var.evidence_require_tls ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.evidence.arn, "${aws_s3_bucket.evidence.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "evidence" {
  count = var.evidence_require_tls ? 1 : 0

  bucket = aws_s3_bucket.evidence.id
  policy = data.aws_iam_policy_document.evidence_bucket[0].json

  depends_on = [aws_s3_bucket_public_access_block.evidence]
}

################################################################################
# Break-glass secrets: the containers only; `breakglass rotate` writes the values
################################################################################

resource "aws_secretsmanager_secret" "break_glass" {
  for_each = local.secret_names

  name                    = each.value
  description             = "Access key and console password of the break-glass user ${each.key}, written by `breakglass rotate`."
  kms_key_id              = var.secrets_kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = var.tags
}

################################################################################
# Scheduled restore function
################################################################################

data "aws_iam_policy_document" "restore_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "restore" {
  name               = local.restore_role_name
  description        = "Runs the scheduled restore of expired break-glass incidents."
  assume_role_policy = data.aws_iam_policy_document.restore_assume.json
  tags               = var.tags
}

resource "aws_cloudwatch_log_group" "restore" {
  name              = local.restore_log_group_name
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

data "aws_iam_policy_document" "restore" {
  statement {
    sid = "RestoreServiceControlPolicies"
    actions = [
      "organizations:AttachPolicy",
      "organizations:DescribePolicy",
      "organizations:DetachPolicy",
      "organizations:ListPoliciesForTarget",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "SharedStore"
    actions   = local.store_actions
    resources = [aws_dynamodb_table.store.arn]
  }

  statement {
    sid       = "DeleteFinishedSchedules"
    actions   = ["scheduler:DeleteSchedule"]
    resources = [local.schedules_in_group_arn]
  }

  # Closes that stopped while a control plane was down are finished by the function: revoking the
  # break-glass role's sessions, in member accounts through the member role.
  statement {
    sid       = "CallerIdentity"
    actions   = ["sts:GetCallerIdentity"]
    resources = ["*"]
  }

  statement {
    sid       = "AssumeMemberRole"
    actions   = ["sts:AssumeRole"]
    resources = [local.member_role_arn_pattern]
  }

  statement {
    sid       = "RevokeBreakGlassSessions"
    actions   = ["iam:GetRole", "iam:GetRolePolicy", "iam:PutRolePolicy"]
    resources = [local.break_glass_role_arn_pattern]
  }

  # A stopped close resumes the rotation it had planned: the break-glass users' keys and passwords.
  statement {
    sid       = "ReadPasswordPolicy"
    actions   = ["iam:GetAccountPasswordPolicy"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = length(var.break_glass_user_names) > 0 ? [1] : []
    content {
      sid       = "RotateBreakGlassUsers"
      actions   = local.rotate_user_actions
      resources = local.break_glass_user_arns
    }
  }

  dynamic "statement" {
    for_each = length(var.break_glass_user_names) > 0 ? [1] : []
    content {
      sid       = "BreakGlassSecrets"
      actions   = local.secret_actions
      resources = local.break_glass_secret_arns
    }
  }

  dynamic "statement" {
    for_each = var.secrets_kms_key_arn == null ? [] : [1]
    content {
      sid       = "EncryptSecrets"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [var.secrets_kms_key_arn]
    }
  }

  statement {
    sid       = "Notify"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]
  }

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [aws_cloudwatch_log_group.restore.arn, "${aws_cloudwatch_log_group.restore.arn}:*"]
  }
}

resource "aws_iam_role_policy" "restore" {
  name   = "restore"
  role   = aws_iam_role.restore.id
  policy = data.aws_iam_policy_document.restore.json
}

resource "aws_lambda_function" "restore" {
  function_name    = local.restore_function_name
  description      = "Restores every expired break-glass incident."
  role             = aws_iam_role.restore.arn
  runtime          = "python3.11"
  handler          = "breakglass_aws.lambda_handler.handler"
  filename         = var.lambda_zip_path
  source_code_hash = filebase64sha256(var.lambda_zip_path)
  timeout          = var.restore_timeout
  memory_size      = var.restore_memory_size

  environment {
    variables = {
      BREAKGLASS_STORE            = local.store
      BREAKGLASS_SNS_TOPIC_ARN    = aws_sns_topic.notifications.arn
      BREAKGLASS_ROLE_NAME        = var.break_glass_role_name
      BREAKGLASS_MEMBER_ROLE_NAME = var.member_role_name
      BREAKGLASS_SCHEDULE_GROUP   = var.schedule_group_name
      # With these the function deletes an incident's one-time schedule when it restores it.
      BREAKGLASS_RESTORE_FUNCTION_ARN = local.restore_function_arn
      BREAKGLASS_SCHEDULER_ROLE_ARN   = aws_iam_role.scheduler.arn
    }
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.restore, aws_iam_role_policy.restore]
}

resource "aws_scheduler_schedule_group" "this" {
  name = var.schedule_group_name
  tags = var.tags
}

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = local.scheduler_role_name
  description        = "Lets EventBridge Scheduler invoke the break-glass restore function."
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "InvokeRestoreFunction"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.restore.arn, "${aws_lambda_function.restore.arn}:*"]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "invoke-restore"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "restore_expired" {
  name                = "${var.name_prefix}-restore-expired"
  group_name          = aws_scheduler_schedule_group.this.name
  description         = "Restores every expired break-glass incident."
  schedule_expression = var.restore_schedule_expression

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.restore.arn
    role_arn = aws_iam_role.scheduler.arn
  }

  depends_on = [aws_iam_role_policy.scheduler]
}

################################################################################
# Operators: everything the `breakglass` command needs in this account
################################################################################

data "aws_iam_policy_document" "operator" {
  statement {
    sid       = "CallerIdentity"
    actions   = ["sts:GetCallerIdentity"]
    resources = ["*"]
  }

  statement {
    sid       = "AssumeBreakGlassRole"
    actions   = ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]
    resources = [local.break_glass_role_arn_pattern]
  }

  statement {
    sid       = "AssumeMemberRole"
    actions   = ["sts:AssumeRole"]
    resources = [local.member_role_arn_pattern]
  }

  statement {
    sid = "ReadOrganization"
    actions = [
      "organizations:DescribeOrganization",
      "organizations:DescribePolicy",
      "organizations:ListAccounts",
      "organizations:ListAccountsForParent",
      "organizations:ListChildren",
      "organizations:ListOrganizationalUnitsForParent",
      "organizations:ListParents",
      "organizations:ListPoliciesForTarget",
      "organizations:ListRoots",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "DetachAndRestoreServiceControlPolicies"
    actions   = ["organizations:AttachPolicy", "organizations:DetachPolicy"]
    resources = ["*"]
  }

  statement {
    sid       = "RevokeBreakGlassSessions"
    actions   = ["iam:GetRole", "iam:GetRolePolicy", "iam:PutRolePolicy"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/${var.break_glass_role_name}"]
  }

  statement {
    sid       = "ReadPasswordPolicy"
    actions   = ["iam:GetAccountPasswordPolicy"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = length(var.break_glass_user_names) > 0 ? [1] : []
    content {
      sid       = "RotateBreakGlassUsers"
      actions   = local.rotate_user_actions
      resources = local.break_glass_user_arns
    }
  }

  dynamic "statement" {
    for_each = length(var.break_glass_user_names) > 0 ? [1] : []
    content {
      sid       = "BreakGlassSecrets"
      actions   = local.secret_actions
      resources = local.break_glass_secret_arns
    }
  }

  statement {
    sid       = "LookupCloudTrail"
    actions   = ["cloudtrail:LookupEvents"]
    resources = ["*"]
  }

  statement {
    sid       = "CheckEvidenceBucket"
    actions   = ["s3:GetBucketObjectLockConfiguration"]
    resources = [aws_s3_bucket.evidence.arn]
  }

  # PutObject with a retention date also needs s3:PutObjectRetention.
  statement {
    sid       = "UploadEvidence"
    actions   = ["s3:PutObject", "s3:PutObjectRetention"]
    resources = ["${aws_s3_bucket.evidence.arn}/*"]
  }

  dynamic "statement" {
    for_each = length(local.operator_kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "EncryptEvidenceAndSecrets"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = local.operator_kms_key_arns
    }
  }

  statement {
    sid       = "Notify"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]
  }

  statement {
    sid       = "SharedStore"
    actions   = local.store_actions
    resources = [aws_dynamodb_table.store.arn]
  }

  # `breakglass check` and `check --outage-probe`: read the alerting, the schedules, the account.
  statement {
    sid       = "CheckTopic"
    actions   = ["sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic"]
    resources = [aws_sns_topic.notifications.arn]
  }

  statement {
    sid       = "CheckAlertRulesAndSchedules"
    actions   = ["events:ListRules", "events:ListTargetsByRule", "scheduler:ListSchedules", "iam:ListAccountAliases"]
    resources = ["*"]
  }

  statement {
    sid       = "IncidentSchedules"
    actions   = ["scheduler:CreateSchedule", "scheduler:DeleteSchedule", "scheduler:GetSchedule"]
    resources = [local.schedules_in_group_arn]
  }

  statement {
    sid       = "PassSchedulerRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.scheduler.arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["scheduler.amazonaws.com"]
    }
  }
}

resource "aws_iam_policy" "operator" {
  name        = local.operator_policy_name
  description = "What the operators of the breakglass command need in the control-plane account."
  policy      = data.aws_iam_policy_document.operator.json
  tags        = var.tags
}
