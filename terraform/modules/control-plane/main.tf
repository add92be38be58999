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
  signing_key_arn              = var.create_signing_key ? aws_kms_key.signing[0].arn : null
  secret_names                 = { for user in var.break_glass_user_names : user => "${var.secret_prefix}${user}" }
  create_sns_kms_key           = var.sns_kms_key_arn == null
  sns_kms_key_arn              = local.create_sns_kms_key ? aws_kms_key.notifications[0].arn : var.sns_kms_key_arn
  break_glass_role_arn_pattern = "arn:${local.partition}:iam::*:role/${var.break_glass_role_name}"
  member_role_arn_pattern      = "arn:${local.partition}:iam::*:role/${var.member_role_name}"
  schedules_in_group_arn       = "arn:${local.partition}:scheduler:${local.region}:${local.account_id}:schedule/${var.schedule_group_name}/*"
  operator_kms_key_arns        = compact([var.evidence_kms_key_arn, var.secrets_kms_key_arn])
  break_glass_user_arns        = [for user in var.break_glass_user_names : "arn:${local.partition}:iam::${local.account_id}:user/${user}"]
  break_glass_secret_arns      = [for user in var.break_glass_user_names : aws_secretsmanager_secret.break_glass[user].arn]
  dead_letter_queue_name       = "${var.name_prefix}-restore-dead-letters"
  restore_alarm_prefix         = "${var.name_prefix}-restore-"
  event_bus_arn                = "arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/default"
  accept_forwarded_alerts      = var.forwarding_organization_id != null && var.forwarding_organization_id != ""

  # Organizations ARNs, as the Service Authorization Reference ("Actions, resources, and condition
  # keys for AWS Organizations") defines them: roots, OUs, accounts and the organization's own
  # policies carry the management account's id; AWS managed policies (FullAWSAccess) carry "aws".
  # The management account owns one organization, hence o-*.
  organization_arn_prefix = "arn:${local.partition}:organizations::${coalesce(var.organization_management_account_id, local.account_id)}"
  organization_target_arns = [
    "${local.organization_arn_prefix}:root/o-*/r-*",
    "${local.organization_arn_prefix}:ou/o-*/ou-*",
    "${local.organization_arn_prefix}:account/o-*/*",
  ]
  customer_scp_arns    = "${local.organization_arn_prefix}:policy/o-*/service_control_policy/p-*"
  aws_managed_scp_arns = "arn:${local.partition}:organizations::aws:policy/service_control_policy/p-*"
  full_aws_access_arn  = "arn:${local.partition}:organizations::aws:policy/service_control_policy/p-FullAWSAccess"

  # A scheduled invocation EventBridge Scheduler cannot deliver is tried again for an hour, then
  # sent to the dead-letter queue (the tool gives its one-time schedules the same policy).
  schedule_retry_attempts     = 3
  schedule_max_event_age_secs = 3600

  # Alarms on the scheduled restore, each notifying the topic: an event in the dead-letter queue
  # (a schedule that could not invoke the function, or an invocation that failed all its tries),
  # a failed run (function error or timeout), a throttled run.
  restore_alarms = {
    dead-letters = {
      description = "A scheduled restore could not run: its event is in the SQS queue ${local.dead_letter_queue_name}. Run `breakglass restore --expired`, then read and empty the queue."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimensions  = { QueueName = local.dead_letter_queue_name }
    }
    errors = {
      description = "The restore function ${local.restore_function_name} failed or timed out. Read its logs and run `breakglass restore --expired`."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      statistic   = "Sum"
      dimensions  = { FunctionName = local.restore_function_name }
    }
    throttles = {
      description = "The restore function ${local.restore_function_name} was throttled. Check the account's Lambda concurrency and run `breakglass restore --expired`."
      namespace   = "AWS/Lambda"
      metric      = "Throttles"
      statistic   = "Sum"
      dimensions  = { FunctionName = local.restore_function_name }
    }
  }

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

  # CloudWatch publishes the restore alarms to the encrypted topic (it needs the key to do so).
  statement {
    sid       = "CloudWatchPublishesRestoreAlarms"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${local.restore_alarm_prefix}*"]
    }
  }
}

################################################################################
# Signing key: the journal head at close and every evidence manifest are signed with it
################################################################################

resource "aws_kms_key" "signing" {
  count = var.create_signing_key ? 1 : 0

  description              = "Signs break-glass journal heads and evidence manifests (verified offline with its public key)."
  customer_master_key_spec = "ECC_NIST_P256"
  key_usage                = "SIGN_VERIFY"
  deletion_window_in_days  = 30
  policy                   = data.aws_iam_policy_document.signing_key[0].json
  tags                     = var.tags
}

# The account administers the key; who may sign is said by IAM policies (the operators' and the
# restore function's): nobody outside the account.
data "aws_iam_policy_document" "signing_key" {
  # A key policy's "*" resource is the key itself, and the account root administering it is AWS's
  # default key policy:
  #checkov:skip=CKV_AWS_111:a key policy; its resource is this key
  #checkov:skip=CKV_AWS_356:a key policy; its resource is this key
  #checkov:skip=CKV_AWS_109:a key policy; the account root administers the key (AWS's default)
  count = var.create_signing_key ? 1 : 0

  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_kms_alias" "signing" {
  count = var.create_signing_key ? 1 : 0

  name          = "alias/${var.name_prefix}-signing"
  target_key_id = aws_kms_key.signing[0].key_id
}

resource "aws_kms_key" "notifications" {
  count = local.create_sns_kms_key ? 1 : 0

  description             = "Encrypts the break-glass notification topic; EventBridge alerts and CloudWatch alarms may use it."
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

# The alert rules: one per kind of break-glass event (breakglass_aws.watch.coverage, rendered by the
# alert-patterns module). They see the events recorded in this account and region (IAM and
# Organizations events are recorded in us-east-1 only); those of the other accounts and regions
# arrive on the default bus through the alert-forwarding module.
module "alert_patterns" {
  source = "../alert-patterns"

  role_name     = var.break_glass_role_name
  user_names    = var.break_glass_user_names
  secret_prefix = var.secret_prefix
  rule_prefix   = var.name_prefix
  topic_name    = local.topic_name
}

resource "aws_cloudwatch_event_rule" "alert" {
  for_each = module.alert_patterns.rules

  name          = "${var.name_prefix}-${each.key}"
  description   = each.value.description
  event_pattern = jsonencode(each.value.pattern)
  state         = each.value.state
  tags          = var.tags
}

resource "aws_cloudwatch_event_target" "alert" {
  for_each = module.alert_patterns.rules

  rule      = aws_cloudwatch_event_rule.alert[each.key].name
  target_id = "notify"
  arn       = aws_sns_topic.notifications.arn
}

# The default event bus receives the alert events the organization's accounts forward (the
# alert-forwarding module): EventBridge sees a CloudTrail event only in the account and region
# where it is recorded.
data "aws_iam_policy_document" "event_bus" {
  count = local.accept_forwarded_alerts ? 1 : 0

  statement {
    sid       = "OrganizationForwardsAlerts"
    actions   = ["events:PutEvents"]
    resources = [local.event_bus_arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:PrincipalOrgID"
      values   = [var.forwarding_organization_id]
    }
  }
}

resource "aws_cloudwatch_event_bus_policy" "forwarded_alerts" {
  count = local.accept_forwarded_alerts ? 1 : 0

  event_bus_name = "default"
  policy         = data.aws_iam_policy_document.event_bus[0].json
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

  statement {
    sid       = "CloudWatchRestoreAlarms"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for alarm in aws_cloudwatch_metric_alarm.restore : alarm.arn]
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

# Abandoned multipart uploads only: evidence objects are kept by their Object Lock retention.
resource "aws_s3_bucket_lifecycle_configuration" "evidence" {
  bucket = aws_s3_bucket.evidence.id

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
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

# Custody of the glass: each custodian's encrypted share of each break-glass user's credentials,
# in a secret only that custodian may read (the custody module).
module "custody" {
  source = "../custody"

  break_glass_user_names      = var.break_glass_user_names
  secret_prefix               = var.secret_prefix
  custody_threshold           = var.custody_threshold
  custodians                  = var.custodians
  kms_key_arn                 = var.secrets_kms_key_arn
  secret_recovery_window_days = var.secret_recovery_window_days
  tags                        = var.tags
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

# An SCP restore re-attaches the organization's own service control policies a detach removed, then
# detaches the FullAWSAccess that detach put in their place: the function can do that and nothing
# else. It cannot detach a guardrail, attach FullAWSAccess (which would widen an allow-list SCP), nor
# touch another policy type (RCPs, tag or backup policies): AttachPolicy and DetachPolicy authorize
# both the policy's ARN and the target's ARN (one statement must name both), and take the
# organizations:PolicyType condition key (Service Authorization Reference, AWS Organizations).
data "aws_iam_policy_document" "restore" {
  statement {
    sid       = "ReadTargets"
    actions   = ["organizations:ListPoliciesForTarget"]
    resources = local.organization_target_arns
  }

  statement {
    sid       = "ReadServiceControlPolicies"
    actions   = ["organizations:DescribePolicy"]
    resources = [local.customer_scp_arns]
  }

  statement {
    sid       = "ReattachServiceControlPolicies"
    actions   = ["organizations:AttachPolicy"]
    resources = concat([local.customer_scp_arns], local.organization_target_arns)

    condition {
      test     = "StringEquals"
      variable = "organizations:PolicyType"
      values   = ["SERVICE_CONTROL_POLICY"]
    }
  }

  statement {
    sid       = "DetachFullAWSAccess"
    actions   = ["organizations:DetachPolicy"]
    resources = concat([local.full_aws_access_arn], local.organization_target_arns)

    condition {
      test     = "StringEquals"
      variable = "organizations:PolicyType"
      values   = ["SERVICE_CONTROL_POLICY"]
    }
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
    for_each = length(module.custody.share_arns) > 0 ? [1] : []
    content {
      sid       = "CustodyShareWrites"
      actions   = ["secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue"]
      resources = values(module.custody.share_arns)
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

  # PutObject with a retention date also needs s3:PutObjectRetention.
  statement {
    sid       = "AnchorJournalHeads"
    actions   = ["s3:PutObject", "s3:PutObjectRetention"]
    resources = ["${aws_s3_bucket.evidence.arn}/anchors/*"]
  }

  dynamic "statement" {
    for_each = var.create_signing_key ? [1] : []
    content {
      sid       = "SignJournalHeads"
      actions   = ["kms:Sign"]
      resources = [local.signing_key_arn]
    }
  }

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [aws_cloudwatch_log_group.restore.arn, "${aws_cloudwatch_log_group.restore.arn}:*"]
  }

  # Lambda sends an asynchronous invocation that failed all its tries to the dead-letter queue
  # with the function's role.
  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.restore_dead_letters.arn]
  }

  # Root-task mode (opt-in): ending a stale root incident reads back, with a fresh root session,
  # a change whose outcome is in doubt.
  dynamic "statement" {
    for_each = var.enable_root_tasks ? [1] : []
    content {
      sid       = "EndRootTasks"
      actions   = ["sts:AssumeRoot"]
      resources = ["*"]

      condition {
        test     = "StringLike"
        variable = "sts:TaskPolicyArn"
        values   = ["arn:${local.partition}:iam::aws:policy/root-task/*"]
      }
    }
  }
}

# Scheduled restores that could not run: events EventBridge Scheduler could not deliver after its
# retries (both the periodic schedule and the tool's one-time schedules), and asynchronous
# invocations of the function that failed (error, timeout, throttling) after Lambda's retries.
resource "aws_sqs_queue" "restore_dead_letters" {
  name                      = local.dead_letter_queue_name
  message_retention_seconds = 1209600 # 14 days, the most SQS keeps
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_iam_role_policy" "restore" {
  name   = "restore"
  role   = aws_iam_role.restore.id
  policy = data.aws_iam_policy_document.restore.json
}

# The function's runtime and architecture: what `breakglass package-lambda` builds the zip for by
# default (its constants are kept equal to this file by a test; the zip records what it was built for).
locals {
  lambda_runtime = jsondecode(file("${path.module}/lambda-runtime.json"))
}

resource "aws_lambda_function" "restore" {
  function_name    = local.restore_function_name
  description      = "Restores every expired break-glass incident."
  role             = aws_iam_role.restore.arn
  runtime          = local.lambda_runtime.runtime
  architectures    = [local.lambda_runtime.architecture]
  handler          = "breakglass_aws.lambda_handler.handler"
  filename         = var.lambda_zip_path
  source_code_hash = filebase64sha256(var.lambda_zip_path)
  timeout          = var.restore_timeout
  memory_size      = var.restore_memory_size

  dead_letter_config {
    target_arn = aws_sqs_queue.restore_dead_letters.arn
  }

  environment {
    variables = merge({
      BREAKGLASS_STORE            = local.store
      BREAKGLASS_SNS_TOPIC_ARN    = aws_sns_topic.notifications.arn
      BREAKGLASS_ROLE_NAME        = var.break_glass_role_name
      BREAKGLASS_MEMBER_ROLE_NAME = var.member_role_name
      BREAKGLASS_SCHEDULE_GROUP   = var.schedule_group_name
      # With these the function deletes an incident's one-time schedule when it restores it.
      BREAKGLASS_RESTORE_FUNCTION_ARN = local.restore_function_arn
      BREAKGLASS_SCHEDULER_ROLE_ARN   = aws_iam_role.scheduler.arn
      # Each transition's journal head is anchored under Object Lock; the head at close is signed.
      BREAKGLASS_EVIDENCE_BUCKET      = aws_s3_bucket.evidence.bucket
      BREAKGLASS_EVIDENCE_LOCK_MODE   = var.evidence_lock_mode
      BREAKGLASS_EVIDENCE_RETAIN_DAYS = tostring(var.evidence_retention_days)
      BREAKGLASS_SIGNING_KEY          = local.signing_key_arn
      },
      # Custody: the rotations the function finishes seal the credentials for the custodians.
      var.custody_threshold == 0 ? {} : {
        BREAKGLASS_CUSTODY_THRESHOLD = tostring(var.custody_threshold)
        BREAKGLASS_CUSTODIANS        = join(",", module.custody.custodians_setting)
    })
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

  # EventBridge Scheduler sends an event it could not deliver with the schedule's role.
  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.restore_dead_letters.arn]
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

    retry_policy {
      maximum_retry_attempts       = local.schedule_retry_attempts
      maximum_event_age_in_seconds = local.schedule_max_event_age_secs
    }

    dead_letter_config {
      arn = aws_sqs_queue.restore_dead_letters.arn
    }
  }

  depends_on = [aws_iam_role_policy.scheduler]
}

resource "aws_cloudwatch_metric_alarm" "restore" {
  for_each = local.restore_alarms

  alarm_name          = "${local.restore_alarm_prefix}${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  statistic           = each.value.statistic
  dimensions          = each.value.dimensions
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.notifications.arn]
  ok_actions          = [aws_sns_topic.notifications.arn]
  tags                = var.tags
}

################################################################################
# Operators: everything the `breakglass` command needs in this account
################################################################################

data "aws_iam_policy_document" "operator" {
  # Root-task mode's prerequisites: read by `check` (is the mode ready?) and by root tasks.
  statement {
    sid = "RootTaskPrerequisites"
    actions = [
      "iam:ListOrganizationsFeatures",
      "organizations:ListAWSServiceAccessForOrganization",
      "organizations:ListDelegatedAdministrators",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "RootTaskTargetAccount"
    actions   = ["organizations:DescribeAccount"]
    resources = ["${local.organization_arn_prefix}:account/o-*/*"]
  }

  # Root-task mode (opt-in): AssumeRoot with a root-task policy.

  dynamic "statement" {
    for_each = var.enable_root_tasks ? [1] : []
    content {
      sid       = "RootTasks"
      actions   = ["sts:AssumeRoot"]
      resources = ["*"]

      condition {
        test     = "StringLike"
        variable = "sts:TaskPolicyArn"
        values   = ["arn:${local.partition}:iam::aws:policy/root-task/*"]
      }
    }
  }

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

  # Actions without a resource type.
  statement {
    sid       = "ReadOrganization"
    actions   = ["organizations:DescribeOrganization", "organizations:ListAccounts", "organizations:ListRoots"]
    resources = ["*"]
  }

  statement {
    sid = "ReadOrganizationTree"
    actions = [
      "organizations:ListAccountsForParent",
      "organizations:ListChildren",
      "organizations:ListOrganizationalUnitsForParent",
      "organizations:ListParents",
      "organizations:ListPoliciesForTarget",
    ]
    resources = local.organization_target_arns
  }

  # `check` reads SCPs and RCPs.
  statement {
    sid       = "ReadPolicies"
    actions   = ["organizations:DescribePolicy"]
    resources = ["${local.organization_arn_prefix}:policy/o-*/*/p-*", "arn:${local.partition}:organizations::aws:policy/*/p-*"]
  }

  # Detach and restore of service control policies only (FullAWSAccess included), never of
  # another policy type.
  statement {
    sid       = "DetachAndRestoreServiceControlPolicies"
    actions   = ["organizations:AttachPolicy", "organizations:DetachPolicy"]
    resources = concat([local.customer_scp_arns, local.aws_managed_scp_arns], local.organization_target_arns)

    condition {
      test     = "StringEquals"
      variable = "organizations:PolicyType"
      values   = ["SERVICE_CONTROL_POLICY"]
    }
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

  dynamic "statement" {
    for_each = length(module.custody.share_arns) > 0 ? [1] : []
    content {
      sid       = "CustodyShareWrites"
      actions   = ["secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue"]
      resources = values(module.custody.share_arns)
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

  # `breakglass journal verify` reads the anchors back.
  statement {
    sid       = "ReadAnchors"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.evidence.arn}/anchors/*"]
  }

  statement {
    sid       = "ListAnchors"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.evidence.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["anchors/*"]
    }
  }

  dynamic "statement" {
    for_each = var.create_signing_key ? [1] : []
    content {
      sid       = "SignAndVerify"
      actions   = ["kms:Sign", "kms:GetPublicKey"]
      resources = [local.signing_key_arn]
    }
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
    actions   = ["events:ListRules", "scheduler:ListSchedules", "iam:ListAccountAliases"]
    resources = ["*"]
  }

  # The alarm's wiring: the trail, the central bus's policy, the break-glass users' MFA devices,
  # the date of each break-glass secret's current version (never its value).
  statement {
    sid       = "CheckTrails"
    actions   = ["cloudtrail:DescribeTrails"]
    resources = ["*"]
  }

  statement {
    sid       = "CheckTrailStatus"
    actions   = ["cloudtrail:GetEventSelectors", "cloudtrail:GetTrailStatus"]
    resources = ["arn:${local.partition}:cloudtrail:*:*:trail/*"]
  }

  statement {
    sid       = "CheckEventBus"
    actions   = ["events:DescribeEventBus"]
    resources = ["arn:${local.partition}:events:*:${local.account_id}:event-bus/*"]
  }

  statement {
    sid       = "CheckMfaDevices"
    actions   = ["iam:ListMFADevices"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:user/*"]
  }

  statement {
    sid       = "CheckSecretVersions"
    actions   = ["secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy", "secretsmanager:ListSecretVersionIds"]
    resources = ["arn:${local.partition}:secretsmanager:*:${local.account_id}:secret:${var.secret_prefix}*"]
  }

  # The restore function as deployed: its runtime, architecture and package's build record.
  statement {
    sid       = "CheckRestoreFunction"
    actions   = ["lambda:GetFunction"]
    resources = [aws_lambda_function.restore.arn]
  }

  statement {
    sid       = "CheckAlertRuleTargets"
    actions   = ["events:ListTargetsByRule"]
    resources = ["arn:${local.partition}:events:*:${local.account_id}:rule/*"]
  }

  statement {
    sid       = "IncidentSchedules"
    actions   = ["scheduler:CreateSchedule", "scheduler:DeleteSchedule", "scheduler:GetSchedule", "scheduler:UpdateSchedule"]
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
