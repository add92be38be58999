output "rules" {
  description = "The alert rules, by kind: {description, pattern (an object: jsonencode it for event_pattern), state}. Kinds about break-glass users only when user_names is not empty."
  value       = local.rules

  precondition {
    condition     = length(local.unknown_concerns) == 0
    error_message = "events.json names concerns this module has no filter for (${join(", ", local.unknown_concerns)}): add them to local.filters in main.tf, as breakglass_aws/watch/coverage.py filters them."
  }
}

output "regional_kinds" {
  description = "The kinds of `rules` whose events can be recorded in any region; the others (IAM, Organizations) are recorded in us-east-1 only."
  value       = local.regional_kinds
}
