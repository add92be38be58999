# Every output named like a setting of the tool (sns_topic_arn, store, role_name, rotate_users,
# secret_prefix, restore_function_arn, scheduler_role_arn, schedule_group, schedule_dead_letter_arn,
# member_role_name, custody_threshold, custodians) feeds its config file or BREAKGLASS_<NAME> environment variable directly.

output "sns_topic_arn" {
  description = "Notification topic (setting sns_topic_arn)."
  value       = module.control_plane.sns_topic_arn
}

output "store" {
  description = "Shared store (setting store): dynamodb://<table name>."
  value       = module.control_plane.store
}

output "role_name" {
  description = "Break-glass role name (setting role_name)."
  value       = module.breakglass_role.role_name
}

output "rotate_users" {
  description = "Break-glass users rotated on close (setting rotate_users)."
  value       = module.breakglass_role.user_names
}

output "secret_prefix" {
  description = "Prefix of the break-glass secrets (setting secret_prefix)."
  value       = module.control_plane.secret_prefix
}

output "evidence_bucket" {
  description = "Evidence bucket name, for `breakglass evidence collect --upload s3://<bucket>/<prefix>`."
  value       = module.control_plane.evidence_bucket
}

output "role_arn" {
  description = "ARN of the break-glass role."
  value       = module.breakglass_role.role_arn
}

output "operator_policy_arn" {
  description = "IAM policy to attach to the operators of the tool."
  value       = module.control_plane.operator_policy_arn
}

output "operator_policy_json" {
  description = "The operator policy document."
  value       = module.control_plane.operator_policy_json
}

output "restore_policy_json" {
  description = "The restore function's policy document."
  value       = module.control_plane.restore_policy_json
}

output "restore_function_name" {
  description = "Name of the scheduled restore function."
  value       = module.control_plane.restore_function_name
}

output "restore_function_arn" {
  description = "ARN of the scheduled restore function (setting restore_function_arn): the per-incident dead-man schedules invoke it."
  value       = module.control_plane.restore_function_arn
}

output "schedule_group" {
  description = "EventBridge Scheduler group of the restore schedules (setting schedule_group)."
  value       = module.control_plane.schedule_group_name
}

output "scheduler_role_arn" {
  description = "Role passed to the per-incident restore schedules (setting scheduler_role_arn)."
  value       = module.control_plane.scheduler_role_arn
}

output "schedule_dead_letter_arn" {
  description = "Dead-letter queue of the restore schedules (setting schedule_dead_letter_arn): a per-incident schedule that cannot invoke the function ends there, and its alarm notifies the topic."
  value       = module.control_plane.schedule_dead_letter_arn
}

output "member_role_name" {
  description = "Role assumed in member accounts to revoke break-glass sessions there (setting member_role_name)."
  value       = module.control_plane.member_role_name
}

output "scp_policy_ids" {
  description = "Ids of the example SCPs, by name (empty when create_scp_guardrails is false)."
  value       = try(module.scp_guardrails[0].policy_ids, {})
}

output "signing_key" {
  description = "The tool's signing_key setting."
  value       = module.control_plane.signing_key
}

output "event_bus_arn" {
  description = "The control plane's default event bus: the alert-forwarding modules of the other accounts and regions target it."
  value       = module.control_plane.event_bus_arn
}

output "alert_rule_arns" {
  description = "ARNs of the control plane's alert rules (us-east-1), by kind."
  value       = module.control_plane.alert_rule_arns
}

output "forwarding_rule_arns" {
  description = "ARNs of the forwarding rules of eu-west-1, by kind (the regional kinds)."
  value       = module.alert_forwarding_eu_west_1.rule_arns
}

output "forwarding_role_arn" {
  description = "Role EventBridge assumes in eu-west-1 to put the alert events on the control plane's bus."
  value       = module.alert_forwarding_eu_west_1.role_arn
}

output "alert_rule_prefix" {
  description = "The tool's alert_rule_prefix setting."
  value       = module.control_plane.alert_rule_prefix
}

output "alert_regions" {
  description = "The tool's alert_regions setting: the regions besides us-east-1 whose alert rules forward here (watch reads them, check checks them)."
  value       = ["eu-west-1"]
}

output "custody_threshold" {
  description = "Custodians needed to open the glass (setting custody_threshold; 0: no custody)."
  value       = module.control_plane.custody_threshold
}

output "custodians" {
  description = "Custodians of the glass, name=age1... (setting custodians; public keys only)."
  value       = module.control_plane.custodians
}
