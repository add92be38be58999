output "sns_topic_arn" {
  description = "ARN of the notification topic (the tool's sns_topic_arn setting)."
  value       = aws_sns_topic.notifications.arn
}

output "sns_kms_key_arn" {
  description = "ARN of the KMS key encrypting the notification topic."
  value       = local.sns_kms_key_arn
}

output "alert_rule_arns" {
  description = "ARNs of the EventBridge alert rules, by kind of break-glass event (breakglass_aws.watch.coverage; the kinds about break-glass users only when there are some)."
  value       = { for kind, rule in aws_cloudwatch_event_rule.alert : kind => rule.arn }
}

output "event_bus_arn" {
  description = "ARN of this account's default event bus in this region: the alert-forwarding modules of the other accounts and regions target it."
  value       = local.event_bus_arn
}

output "store_table_name" {
  description = "Name of the DynamoDB table of the shared store."
  value       = aws_dynamodb_table.store.name
}

output "store_table_arn" {
  description = "ARN of the DynamoDB table of the shared store."
  value       = aws_dynamodb_table.store.arn
}

output "store" {
  description = "The tool's store setting: dynamodb://<table name>."
  value       = "dynamodb://${aws_dynamodb_table.store.name}"
}

output "evidence_bucket" {
  description = "Name of the evidence bucket (Object Lock enabled)."
  value       = aws_s3_bucket.evidence.bucket
}

output "evidence_bucket_arn" {
  description = "ARN of the evidence bucket."
  value       = aws_s3_bucket.evidence.arn
}

output "secret_prefix" {
  description = "Prefix of the break-glass secrets (the tool's secret_prefix setting)."
  value       = var.secret_prefix
}

output "secret_arns" {
  description = "ARNs of the break-glass secrets, by user name (empty when there are no break-glass users)."
  value       = { for user, secret in aws_secretsmanager_secret.break_glass : user => secret.arn }
}

output "restore_function_name" {
  description = "Name of the scheduled restore function."
  value       = aws_lambda_function.restore.function_name
}

output "restore_function_arn" {
  description = "ARN of the scheduled restore function."
  value       = aws_lambda_function.restore.arn
}

output "restore_role_arn" {
  description = "ARN of the restore function's IAM role."
  value       = aws_iam_role.restore.arn
}

output "schedule_group_name" {
  description = "EventBridge Scheduler group of the restore schedules."
  value       = aws_scheduler_schedule_group.this.name
}

output "scheduler_role_arn" {
  description = "ARN of the role EventBridge Scheduler uses to invoke the restore function (operators pass it to per-incident schedules)."
  value       = aws_iam_role.scheduler.arn
}

output "schedule_dead_letter_arn" {
  description = "ARN of the SQS dead-letter queue of the restore schedules and the restore function (the tool's schedule_dead_letter_arn setting)."
  value       = aws_sqs_queue.restore_dead_letters.arn
}

output "restore_alarm_arns" {
  description = "ARNs of the CloudWatch alarms on the scheduled restore, by alarm (dead-letters, errors, throttles); each notifies the topic."
  value       = { for name, alarm in aws_cloudwatch_metric_alarm.restore : name => alarm.arn }
}

output "operator_policy_arn" {
  description = "ARN of the IAM policy for the operators of the tool."
  value       = aws_iam_policy.operator.arn
}

output "operator_policy_json" {
  description = "The operator policy document."
  value       = data.aws_iam_policy_document.operator.json
}

output "restore_policy_json" {
  description = "The restore function's policy document."
  value       = data.aws_iam_policy_document.restore.json
}

output "member_role_name" {
  description = "Role the operators and the restore function assume in member accounts (the tool's member_role_name setting)."
  value       = var.member_role_name
}

output "signing_key" {
  description = "ARN of the KMS signing key (the tool's signing_key setting), or null when not created."
  value       = local.signing_key_arn
}

output "alert_rule_prefix" {
  description = "The tool's alert_rule_prefix setting: the name prefix of the alert rules (here and in the forwarding modules)."
  value       = var.name_prefix
}

output "custody_threshold" {
  description = "Custodians needed to open the glass (the tool's custody_threshold setting; 0: no custody)."
  value       = var.custody_threshold
}

output "custodians" {
  description = "Custodians of the glass as the tool's custodians setting: name=age1... (public keys only)."
  value       = module.custody.custodians_setting
}

output "custody_share_arns" {
  description = "ARNs of the custody share secrets, by \"<user>/<custodian>\" (empty without custody)."
  value       = module.custody.share_arns
}
