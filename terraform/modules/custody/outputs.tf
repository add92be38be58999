output "share_arns" {
  description = "ARNs of the share secrets, by \"<user>/<custodian>\" (empty without custody)."
  value       = { for key, secret in aws_secretsmanager_secret.custody_share : key => secret.arn }
}

output "custodians_setting" {
  description = "The tool's custodians setting: name=age1... for each custodian (public keys only)."
  value       = [for name, c in var.custodians : "${name}=${c.recipient}"]
}

output "custody_threshold" {
  description = "The tool's custody_threshold setting."
  value       = var.custody_threshold
}
