output "role_arn" {
  description = "ARN of the break-glass role in the member account."
  value       = module.breakglass_role.role_arn
}

output "forwarding_rule_arns" {
  description = "ARNs of the forwarding rules, by region, then kind."
  value = {
    us-east-1 = module.alert_forwarding_us_east_1.rule_arns
    eu-west-1 = module.alert_forwarding_eu_west_1.rule_arns
  }
}
