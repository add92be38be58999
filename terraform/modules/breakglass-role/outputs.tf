output "role_name" {
  description = "Name of the break-glass role."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "ARN of the break-glass role."
  value       = aws_iam_role.this.arn
}

output "role_unique_id" {
  description = "Unique id of the break-glass role (the principal id CloudTrail records)."
  value       = aws_iam_role.this.unique_id
}

output "max_session_duration" {
  description = "Maximum session duration of the role, in seconds."
  value       = aws_iam_role.this.max_session_duration
}

output "trust_policy_json" {
  description = "The role's trust policy."
  value       = data.aws_iam_policy_document.trust.json
}

output "attached_policy_arns" {
  description = "Managed policy ARNs attached to the role."
  value       = sort(keys(aws_iam_role_policy_attachment.this))
}

output "user_names" {
  description = "Names of the break-glass IAM users created (empty when none)."
  value       = [for name in var.break_glass_user_names : aws_iam_user.this[name].name]
}

output "user_arns" {
  description = "ARNs of the break-glass IAM users, by name (empty when none)."
  value       = { for name, user in aws_iam_user.this : name => user.arn }
}
