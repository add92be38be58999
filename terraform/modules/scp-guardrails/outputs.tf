output "policy_ids" {
  description = "Ids of the created SCPs, by policy name (without the prefix)."
  value       = { for name, policy in aws_organizations_policy.this : name => policy.id }
}

output "policy_arns" {
  description = "ARNs of the created SCPs, by policy name (without the prefix)."
  value       = { for name, policy in aws_organizations_policy.this : name => policy.arn }
}

output "policy_documents" {
  description = "Documents of the created SCPs, by policy name (without the prefix)."
  value       = { for name, policy in aws_organizations_policy.this : name => policy.content }
}

output "exempt_principal_arns" {
  description = "Principal ARN patterns exempted from every Deny statement."
  value       = local.exempt_principal_arns
}

output "attachments" {
  description = "Policy attachments made, as <policy name>/<target id> => target id."
  value       = { for key, attachment in aws_organizations_policy_attachment.this : key => attachment.target_id }
}
