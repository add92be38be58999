output "rule_arns" {
  description = "ARNs of the forwarding rules, by kind of break-glass event (IAM and Organizations kinds only in us-east-1)."
  value       = { for kind, rule in aws_cloudwatch_event_rule.forward : kind => rule.arn }
}

output "role_arn" {
  description = "ARN of the role EventBridge assumes to put the events on the central bus (created, or forwarding_role_arn)."
  value       = local.role_arn
}

output "records_global_events" {
  description = "Whether this region records the IAM and Organizations events (us-east-1), hence has their rules."
  value       = local.records_global
}
