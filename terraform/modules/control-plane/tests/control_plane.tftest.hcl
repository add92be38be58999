# Plan-only tests with a mocked AWS provider: no credentials, no network.
# Policy documents are mocked to a fixed JSON, so the assertions read the statements the module
# configures on each aws_iam_policy_document (what the real provider renders).

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "us-east-1"
    }
  }
}

variables {
  evidence_bucket_name   = "example-breakglass-evidence"
  lambda_zip_path        = "tests/fixtures/empty.zip"
  break_glass_user_names = ["breakglass-1", "breakglass-2"]
}

run "secrets_are_named_prefix_plus_user_and_hold_no_value" {
  command = plan

  assert {
    condition     = toset([for s in aws_secretsmanager_secret.break_glass : s.name]) == toset(["breakglass/breakglass-1", "breakglass/breakglass-2"])
    error_message = "Each break-glass user needs a secret named breakglass/<user>."
  }

  assert {
    condition     = output.secret_prefix == "breakglass/"
    error_message = "The default secret prefix is breakglass/."
  }
}

run "custom_secret_prefix" {
  command = plan

  variables {
    secret_prefix = "ops/bg-"
  }

  assert {
    condition     = aws_secretsmanager_secret.break_glass["breakglass-1"].name == "ops/bg-breakglass-1"
    error_message = "Secret names must be <secret_prefix><user>."
  }
}

run "store_table" {
  command = plan

  assert {
    condition = (
      aws_dynamodb_table.store.name == "breakglass-store" &&
      aws_dynamodb_table.store.billing_mode == "PAY_PER_REQUEST" &&
      aws_dynamodb_table.store.hash_key == "pk" &&
      aws_dynamodb_table.store.range_key == "sk"
    )
    error_message = "The store is an on-demand table keyed by pk (hash) and sk (range)."
  }

  assert {
    condition     = toset([for a in aws_dynamodb_table.store.attribute : "${a.name}:${a.type}"]) == toset(["pk:S", "sk:S"])
    error_message = "pk and sk must be string attributes."
  }

  assert {
    condition     = aws_dynamodb_table.store.ttl[0].attribute_name == "ttl" && aws_dynamodb_table.store.ttl[0].enabled
    error_message = "TTL must be enabled on the ttl attribute."
  }

  assert {
    condition     = aws_dynamodb_table.store.point_in_time_recovery[0].enabled
    error_message = "Point-in-time recovery must be enabled."
  }

  assert {
    condition     = output.store == "dynamodb://breakglass-store"
    error_message = "The store setting is dynamodb://<table>."
  }
}

run "evidence_bucket_is_locked_and_private" {
  command = plan

  variables {
    evidence_lock_mode      = "COMPLIANCE"
    evidence_retention_days = 30
  }

  assert {
    condition     = aws_s3_bucket.evidence.object_lock_enabled
    error_message = "The evidence bucket must be created with Object Lock."
  }

  assert {
    condition = (
      aws_s3_bucket_object_lock_configuration.evidence.rule[0].default_retention[0].mode == "COMPLIANCE" &&
      aws_s3_bucket_object_lock_configuration.evidence.rule[0].default_retention[0].days == 30
    )
    error_message = "The default retention must follow evidence_lock_mode and evidence_retention_days."
  }

  assert {
    condition     = aws_s3_bucket_versioning.evidence.versioning_configuration[0].status == "Enabled"
    error_message = "Versioning must be enabled."
  }

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.evidence.block_public_acls,
      aws_s3_bucket_public_access_block.evidence.block_public_policy,
      aws_s3_bucket_public_access_block.evidence.ignore_public_acls,
      aws_s3_bucket_public_access_block.evidence.restrict_public_buckets,
    ])
    error_message = "All public access must be blocked."
  }

  assert {
    condition     = one([for r in aws_s3_bucket_server_side_encryption_configuration.evidence.rule : one(r.apply_server_side_encryption_by_default).sse_algorithm]) == "AES256"
    error_message = "Without a KMS key the bucket encrypts with SSE-S3."
  }

  assert {
    condition     = length(aws_s3_bucket_policy.evidence) == 1
    error_message = "The TLS-only bucket policy is on by default."
  }
}

run "restore_function_and_schedule" {
  command = plan

  assert {
    condition = (
      aws_lambda_function.restore.runtime == "python3.11" &&
      aws_lambda_function.restore.handler == "breakglass_aws.lambda_handler.handler"
    )
    error_message = "The restore function runs breakglass_aws.lambda_handler.handler on python3.11."
  }

  assert {
    condition     = aws_lambda_function.restore.environment[0].variables["BREAKGLASS_STORE"] == "dynamodb://breakglass-store"
    error_message = "The restore function must use the shared DynamoDB store."
  }

  assert {
    condition     = contains(keys(aws_lambda_function.restore.environment[0].variables), "BREAKGLASS_SNS_TOPIC_ARN")
    error_message = "The restore function must know the notification topic."
  }

  assert {
    condition = (
      aws_scheduler_schedule.restore_expired.schedule_expression == "rate(5 minutes)" &&
      aws_scheduler_schedule.restore_expired.group_name == "breakglass" &&
      aws_scheduler_schedule_group.this.name == "breakglass"
    )
    error_message = "The restore function runs every 5 minutes from the breakglass schedule group."
  }

  assert {
    condition     = toset(flatten([for s in data.aws_iam_policy_document.scheduler.statement : s.actions])) == toset(["lambda:InvokeFunction", "sqs:SendMessage"])
    error_message = "The scheduler role may only invoke the function and send to the dead-letter queue."
  }
}

run "restore_policy_grants_exactly_what_restore_needs" {
  command = plan

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.restore.statement : s.actions])) == toset([
      "organizations:AttachPolicy", "organizations:DescribePolicy", "organizations:DetachPolicy", "organizations:ListPoliciesForTarget",
      "sns:Publish", "scheduler:DeleteSchedule",
      "sts:GetCallerIdentity", "sts:AssumeRole", "iam:GetRole", "iam:GetRolePolicy", "iam:PutRolePolicy",
      "iam:GetAccountPasswordPolicy", "iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:GetLoginProfile", "iam:GetUser",
      "iam:ListAccessKeys", "iam:UpdateAccessKey", "iam:UpdateLoginProfile",
      "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
      "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem",
      "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:TransactWriteItems", "dynamodb:UpdateItem",
      "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage",
      "s3:PutObject", "s3:PutObjectRetention", "kms:Sign",
    ])
    error_message = "The restore policy must grant the restore actions, session revocation, the store, schedule deletion, publishing, anchoring and signing journal heads, logs and its dead-letter queue, nothing else."
  }

  assert {
    condition = one([
      for s in data.aws_iam_policy_document.restore.statement : s.resources if contains(s.actions, "iam:PutRolePolicy")
      ]) == toset(["arn:aws:iam::*:role/BreakGlassAdmin"]) && one([
      for s in data.aws_iam_policy_document.restore.statement : s.resources if contains(s.actions, "sts:AssumeRole")
    ]) == toset(["arn:aws:iam::*:role/OrganizationAccountAccessRole"])
    error_message = "The restore function revokes sessions of the break-glass role only, through the member role only."
  }

  assert {
    condition = one([
      for s in data.aws_iam_policy_document.restore.statement : s.resources if s.sid == "RotateBreakGlassUsers"
    ]) == toset(["arn:aws:iam::123456789012:user/breakglass-1", "arn:aws:iam::123456789012:user/breakglass-2"])
    error_message = "The restore function rotates the break-glass users only."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.restore.statement : s.not_actions == null && s.not_resources == null && length(s.resources) > 0
    ])
    error_message = "The restore policy names its actions and resources explicitly (no NotAction, no NotResource)."
  }

  assert {
    condition = one([
      for s in data.aws_iam_policy_document.restore.statement : s.resources if contains(s.actions, "scheduler:DeleteSchedule")
    ]) == toset(["arn:aws:scheduler:us-east-1:123456789012:schedule/breakglass/*"])
    error_message = "Schedule deletion is limited to the breakglass schedule group."
  }
}

run "restore_function_cannot_lift_a_guardrail" {
  command = plan

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.restore.statement :
      !contains(s.resources, "*") if length([for a in s.actions : a if startswith(a, "organizations:")]) > 0
    ])
    error_message = "No Organizations action of the restore function is granted on every resource."
  }

  assert {
    condition = one([
      for s in data.aws_iam_policy_document.restore.statement : s if contains(s.actions, "organizations:DetachPolicy")
      ]).resources == toset([
      "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess",
      "arn:aws:organizations::123456789012:root/o-*/r-*",
      "arn:aws:organizations::123456789012:ou/o-*/ou-*",
      "arn:aws:organizations::123456789012:account/o-*/*",
    ])
    error_message = "The restore function detaches FullAWSAccess only, from a root, OU or account."
  }

  assert {
    condition = one([
      for s in data.aws_iam_policy_document.restore.statement : s if contains(s.actions, "organizations:AttachPolicy")
      ]).resources == toset([
      "arn:aws:organizations::123456789012:policy/o-*/service_control_policy/p-*",
      "arn:aws:organizations::123456789012:root/o-*/r-*",
      "arn:aws:organizations::123456789012:ou/o-*/ou-*",
      "arn:aws:organizations::123456789012:account/o-*/*",
    ])
    error_message = "The restore function re-attaches the organization's own SCPs only (not FullAWSAccess, no other policy type)."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.restore.statement :
      anytrue([for c in s.condition : c.test == "StringEquals" && c.variable == "organizations:PolicyType" && c.values == tolist(["SERVICE_CONTROL_POLICY"])])
      if contains(s.actions, "organizations:AttachPolicy") || contains(s.actions, "organizations:DetachPolicy")
    ])
    error_message = "AttachPolicy and DetachPolicy of the restore function require organizations:PolicyType SERVICE_CONTROL_POLICY."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.restore.statement :
      length(s.actions) == 1 if contains(s.actions, "organizations:AttachPolicy") || contains(s.actions, "organizations:DetachPolicy")
    ])
    error_message = "AttachPolicy and DetachPolicy are granted by separate statements (detach must not reach the re-attachable SCPs)."
  }
}

run "management_account_of_another_account" {
  command = plan

  variables {
    organization_management_account_id = "999988887777"
  }

  assert {
    condition = one([
      for s in data.aws_iam_policy_document.restore.statement : s if contains(s.actions, "organizations:AttachPolicy")
      ]).resources == toset([
      "arn:aws:organizations::999988887777:policy/o-*/service_control_policy/p-*",
      "arn:aws:organizations::999988887777:root/o-*/r-*",
      "arn:aws:organizations::999988887777:ou/o-*/ou-*",
      "arn:aws:organizations::999988887777:account/o-*/*",
    ])
    error_message = "Organizations ARNs carry the management account's id."
  }
}

run "scheduled_restore_failures_reach_the_topic" {
  command = plan

  # ARNs the mocked provider would leave unknown until apply.
  override_resource {
    target = aws_sqs_queue.restore_dead_letters
    values = { arn = "arn:aws:sqs:us-east-1:123456789012:breakglass-restore-dead-letters" }

    override_during = plan
  }

  override_resource {
    target = aws_sns_topic.notifications
    values = { arn = "arn:aws:sns:us-east-1:123456789012:breakglass-notifications" }

    override_during = plan
  }

  assert {
    condition     = aws_sqs_queue.restore_dead_letters.sqs_managed_sse_enabled && aws_sqs_queue.restore_dead_letters.name == "breakglass-restore-dead-letters"
    error_message = "The dead-letter queue is encrypted."
  }

  assert {
    condition     = aws_lambda_function.restore.dead_letter_config[0].target_arn == aws_sqs_queue.restore_dead_letters.arn
    error_message = "Failed asynchronous invocations of the restore function go to the dead-letter queue."
  }

  assert {
    condition = (
      aws_scheduler_schedule.restore_expired.target[0].dead_letter_config[0].arn == aws_sqs_queue.restore_dead_letters.arn &&
      aws_scheduler_schedule.restore_expired.target[0].retry_policy[0].maximum_retry_attempts == 3 &&
      aws_scheduler_schedule.restore_expired.target[0].retry_policy[0].maximum_event_age_in_seconds == 3600
    )
    error_message = "The periodic schedule retries 3 times within an hour, then sends to the dead-letter queue."
  }

  assert {
    condition     = output.schedule_dead_letter_arn == aws_sqs_queue.restore_dead_letters.arn
    error_message = "The schedule_dead_letter_arn output names the queue."
  }

  assert {
    condition = alltrue([
      for s in [
        one([for s in data.aws_iam_policy_document.scheduler.statement : s if s.sid == "DeadLetters"]),
        one([for s in data.aws_iam_policy_document.restore.statement : s if s.sid == "DeadLetters"]),
      ] : s.actions == toset(["sqs:SendMessage"]) && s.resources == toset([aws_sqs_queue.restore_dead_letters.arn])
    ])
    error_message = "The scheduler role and the function's role may send to the dead-letter queue."
  }

  assert {
    condition = (
      toset(keys(aws_cloudwatch_metric_alarm.restore)) == toset(["dead-letters", "errors", "throttles"]) &&
      alltrue([for a in aws_cloudwatch_metric_alarm.restore : a.alarm_actions == toset([aws_sns_topic.notifications.arn]) && a.threshold == 0 && a.comparison_operator == "GreaterThanThreshold"])
    )
    error_message = "Dead letters, errors and throttles of the restore each raise an alarm on the topic."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.restore["dead-letters"].dimensions["QueueName"] == "breakglass-restore-dead-letters" &&
      aws_cloudwatch_metric_alarm.restore["errors"].dimensions["FunctionName"] == "breakglass-restore" &&
      aws_cloudwatch_metric_alarm.restore["errors"].metric_name == "Errors" &&
      aws_cloudwatch_metric_alarm.restore["throttles"].metric_name == "Throttles"
    )
    error_message = "The alarms watch the queue's depth and the function's errors and throttles."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.notifications_topic.statement :
      contains(s.actions, "sns:Publish") && anytrue([for p in s.principals : contains(p.identifiers, "cloudwatch.amazonaws.com")])
      ]) && anytrue([
      for s in data.aws_iam_policy_document.notifications_key[0].statement :
      contains(s.actions, "kms:GenerateDataKey*") && anytrue([for p in s.principals : contains(p.identifiers, "cloudwatch.amazonaws.com")])
    ])
    error_message = "CloudWatch may publish the alarms to the topic and use its key."
  }
}

run "operator_policy" {
  command = plan

  assert {
    condition = length(setsubtract([
      "cloudtrail:LookupEvents", "iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:GetAccountPasswordPolicy", "iam:GetLoginProfile",
      "iam:GetRole", "iam:GetRolePolicy", "iam:GetUser", "iam:ListAccessKeys", "iam:PutRolePolicy", "iam:UpdateAccessKey",
      "iam:UpdateLoginProfile", "organizations:AttachPolicy", "organizations:DescribeOrganization", "organizations:DescribePolicy",
      "organizations:DetachPolicy", "organizations:ListAccountsForParent", "organizations:ListOrganizationalUnitsForParent",
      "organizations:ListParents", "organizations:ListPoliciesForTarget", "s3:GetBucketObjectLockConfiguration", "s3:PutObject",
      "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "sns:Publish",
      "sts:AssumeRole", "sts:GetCallerIdentity",
      "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem",
      "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:TransactWriteItems", "dynamodb:UpdateItem",
      "scheduler:CreateSchedule", "scheduler:DeleteSchedule", "scheduler:GetSchedule", "iam:PassRole",
      "organizations:ListAccounts", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic", "events:ListRules",
      "events:ListTargetsByRule", "scheduler:ListSchedules", "iam:ListAccountAliases",
    ], flatten([for s in data.aws_iam_policy_document.operator.statement : s.actions]))) == 0
    error_message = "The operator policy must grant every action the tool, its store and its schedules use."
  }

  assert {
    condition = one([
      for s in data.aws_iam_policy_document.operator.statement : s.resources if s.sid == "RotateBreakGlassUsers"
    ]) == toset(["arn:aws:iam::123456789012:user/breakglass-1", "arn:aws:iam::123456789012:user/breakglass-2"])
    error_message = "Access-key rotation must be limited to the break-glass users."
  }

  assert {
    condition = one([
      for s in data.aws_iam_policy_document.operator.statement : s.resources if contains(s.actions, "sts:AssumeRole") && contains(s.actions, "sts:SetSourceIdentity")
    ]) == toset(["arn:aws:iam::*:role/BreakGlassAdmin"])
    error_message = "Operators may assume the break-glass role (with SourceIdentity and tags) by name in any account."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.operator.statement :
      contains(s.actions, "iam:PassRole") && anytrue([for c in s.condition : c.variable == "iam:PassedToService" && contains(c.values, "scheduler.amazonaws.com")])
    ])
    error_message = "The scheduler role may only be passed to EventBridge Scheduler."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.operator.statement :
      !contains(s.resources, "*") && anytrue([for c in s.condition : c.variable == "organizations:PolicyType" && c.values == tolist(["SERVICE_CONTROL_POLICY"])])
      if contains(s.actions, "organizations:AttachPolicy") || contains(s.actions, "organizations:DetachPolicy")
    ])
    error_message = "Operators attach and detach service control policies only, never every resource."
  }
}

run "alerts" {
  command = plan

  assert {
    condition = toset(keys(aws_cloudwatch_event_rule.alert)) == toset([
      "assume-role", "assume-root", "console-login", "root-console-login", "user-credentials", "user-mfa-deleted",
      "role-changed", "secret-read", "trail-changed", "alert-rule-changed", "alert-target-removed",
      "topic-unsubscribed", "scp-change",
    ])
    error_message = "One alert rule per kind of break-glass event (the user kinds because there are users)."
  }

  assert {
    condition     = alltrue([for kind, rule in aws_cloudwatch_event_rule.alert : rule.name == "breakglass-${kind}"])
    error_message = "Alert rules are named <name_prefix>-<kind>."
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.alert["assume-role"].event_pattern) == {
      source        = ["aws.sts"]
      "detail-type" = ["AWS API Call via CloudTrail"]
      detail = {
        eventSource       = ["sts.amazonaws.com"]
        eventName         = ["AssumeRole"]
        requestParameters = { roleArn = [{ suffix = ":role/BreakGlassAdmin" }] }
      }
    }
    error_message = "The role alert matches AssumeRole of the break-glass role by ARN suffix."
  }

  assert {
    condition = (
      jsondecode(aws_cloudwatch_event_rule.alert["console-login"].event_pattern).source == ["aws.signin"] &&
      jsondecode(aws_cloudwatch_event_rule.alert["console-login"].event_pattern).detail.userIdentity.userName == ["breakglass-1", "breakglass-2"]
    )
    error_message = "The console alert matches sign-ins of the break-glass users."
  }

  assert {
    condition = (
      jsondecode(aws_cloudwatch_event_rule.alert["scp-change"].event_pattern).source == ["aws.organizations"] &&
      toset(jsondecode(aws_cloudwatch_event_rule.alert["scp-change"].event_pattern).detail.eventName) == toset(["AttachPolicy", "DetachPolicy", "UpdatePolicy"])
    )
    error_message = "The SCP alert matches AttachPolicy, DetachPolicy and UpdatePolicy."
  }

  assert {
    condition = (
      jsondecode(aws_cloudwatch_event_rule.alert["secret-read"].event_pattern).detail.requestParameters.secretId[0] == { prefix = "breakglass/" } &&
      jsondecode(aws_cloudwatch_event_rule.alert["topic-unsubscribed"].event_pattern).detail.requestParameters.subscriptionArn == [{ wildcard = "arn:aws:sns:*:*:breakglass-notifications:*" }] &&
      jsondecode(aws_cloudwatch_event_rule.alert["alert-rule-changed"].event_pattern).detail.requestParameters.name == [{ prefix = "breakglass" }]
    )
    error_message = "The secret, topic and rule filters follow secret_prefix, the topic's name and name_prefix."
  }

  assert {
    condition = (
      aws_cloudwatch_event_rule.alert["secret-read"].state == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" &&
      alltrue([for kind, rule in aws_cloudwatch_event_rule.alert : rule.state == "ENABLED" if kind != "secret-read"])
    )
    error_message = "GetSecretValue is a read-only management event: only that rule sees all management events."
  }

  assert {
    condition     = length(aws_cloudwatch_event_target.alert) == 13
    error_message = "Every alert needs a target."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.notifications_topic.statement :
      contains(s.actions, "sns:Publish") && anytrue([for p in s.principals : p.type == "Service" && contains(p.identifiers, "events.amazonaws.com")])
    ])
    error_message = "The topic policy must let EventBridge publish."
  }

  assert {
    condition     = length(aws_kms_key.notifications) == 1 && aws_sns_topic.notifications.name == "breakglass-notifications"
    error_message = "Without a key ARN the module creates the KMS key that encrypts the topic."
  }
}

run "without_break_glass_users" {
  command = plan

  variables {
    break_glass_user_names = []
    evidence_require_tls   = false
  }

  assert {
    condition = length(aws_secretsmanager_secret.break_glass) == 0 && length(setintersection(
      toset(keys(aws_cloudwatch_event_rule.alert)), toset(["console-login", "user-credentials", "user-mfa-deleted"])
    )) == 0 && length(aws_cloudwatch_event_rule.alert) == 10
    error_message = "No users: no secrets and no sign-in, credential or MFA alert."
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.operator.statement : s if s.sid == "RotateBreakGlassUsers"]) == 0
    error_message = "No users: no rotation rights."
  }

  assert {
    condition     = length(aws_s3_bucket_policy.evidence) == 0
    error_message = "evidence_require_tls = false drops the bucket policy."
  }
}

run "no_bus_policy_by_default" {
  command = plan

  assert {
    condition     = length(aws_cloudwatch_event_bus_policy.forwarded_alerts) == 0
    error_message = "Without forwarding_organization_id the default bus gets no policy."
  }

  assert {
    condition     = output.event_bus_arn == "arn:aws:events:us-east-1:123456789012:event-bus/default"
    error_message = "event_bus_arn is the default bus of this account and region."
  }
}

run "organization_forwards_alerts_to_the_default_bus" {
  command = plan

  variables {
    forwarding_organization_id = "o-a1b2c3d4e5"
  }

  assert {
    condition     = length(aws_cloudwatch_event_bus_policy.forwarded_alerts) == 1 && aws_cloudwatch_event_bus_policy.forwarded_alerts[0].event_bus_name == "default"
    error_message = "forwarding_organization_id puts a policy on the default bus."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.event_bus[0].statement :
      s.actions == toset(["events:PutEvents"]) &&
      s.resources == toset(["arn:aws:events:us-east-1:123456789012:event-bus/default"]) &&
      anytrue([for c in s.condition : c.test == "StringEquals" && c.variable == "aws:PrincipalOrgID" && c.values == tolist(["o-a1b2c3d4e5"])])
    ])
    error_message = "The bus accepts events:PutEvents from principals of the organization only."
  }
}

run "empty_organization_id_means_no_bus_policy" {
  command = plan

  variables {
    forwarding_organization_id = ""
  }

  assert {
    condition     = length(aws_cloudwatch_event_bus_policy.forwarded_alerts) == 0
    error_message = "An empty forwarding_organization_id is no policy."
  }
}

run "rejects_unknown_lock_mode" {
  command = plan

  variables {
    evidence_lock_mode = "LEGAL_HOLD"
  }

  expect_failures = [var.evidence_lock_mode]
}

run "rejects_lowercase_lock_mode" {
  command = plan

  variables {
    evidence_lock_mode = "governance"
  }

  expect_failures = [var.evidence_lock_mode]
}

run "rejects_zero_retention_days" {
  command = plan

  variables {
    evidence_retention_days = 0
  }

  expect_failures = [var.evidence_retention_days]
}

run "rejects_bad_names_and_keys" {
  command = plan

  variables {
    sns_kms_key_arn        = "alias/aws/sns"
    evidence_bucket_name   = "Evidence_Bucket"
    break_glass_user_names = ["breakglass-1", "breakglass-1"]
    lambda_zip_path        = "tests/fixtures"

    organization_management_account_id = "12345"
    forwarding_organization_id         = "r-abcd"
  }

  expect_failures = [
    var.sns_kms_key_arn, var.evidence_bucket_name, var.break_glass_user_names, var.lambda_zip_path,
    var.organization_management_account_id, var.forwarding_organization_id,
  ]
}

run "custody_shares_and_the_function_seals_for_the_custodians" {
  command = plan

  variables {
    custody_threshold = 2
    custodians = {
      alice = { recipient = "age1alice", principal_arn = "arn:aws:iam::123456789012:role/custodian-alice" }
      bob   = { recipient = "age1bob", principal_arn = "arn:aws:iam::123456789012:role/custodian-bob" }
    }
  }

  assert {
    condition     = length(module.custody.share_arns) == 4 && output.custody_threshold == 2
    error_message = "Two users and two custodians: four share secrets."
  }

  assert {
    condition = (
      aws_lambda_function.restore.environment[0].variables["BREAKGLASS_CUSTODY_THRESHOLD"] == "2" &&
      aws_lambda_function.restore.environment[0].variables["BREAKGLASS_CUSTODIANS"] == "alice=age1alice,bob=age1bob"
    )
    error_message = "The restore function seals the rotations it finishes for the same custodians."
  }
}

run "no_custody_by_default" {
  command = plan

  assert {
    condition     = module.custody.share_arns == {} && !contains(keys(aws_lambda_function.restore.environment[0].variables), "BREAKGLASS_CUSTODIANS")
    error_message = "Without custody: no share secret, no custody setting for the function."
  }
}
