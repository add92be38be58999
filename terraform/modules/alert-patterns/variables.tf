variable "role_name" {
  description = "Name of the break-glass role (AssumeRole and role-change events are filtered on it)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name must be 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "user_names" {
  description = "Break-glass IAM users (sign-in, credential and MFA events are filtered on them). Empty: the kinds about users get no rule."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for name in var.user_names : can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", name))])
    error_message = "Every user_names entry must be 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "secret_prefix" {
  description = "Prefix of the break-glass secrets (GetSecretValue events are filtered on it, by name or ARN)."
  type        = string
  default     = "breakglass/"

  validation {
    condition     = can(regex("^[A-Za-z0-9/_+=.@-]{0,200}$", var.secret_prefix))
    error_message = "secret_prefix may hold only letters, digits and /_+=.@- (at most 200 characters)."
  }
}

variable "rule_prefix" {
  description = "Name prefix of the alert rules (changes to rules whose name starts with it are alerted on): the modules' name_prefix."
  type        = string
  default     = "breakglass"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,32}$", var.rule_prefix))
    error_message = "rule_prefix must be 1-32 letters, digits, underscores or hyphens."
  }
}

variable "topic_name" {
  description = "Name of the notification topic (removing one of its subscriptions is alerted on)."
  type        = string
  default     = "breakglass-notifications"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,256}$", var.topic_name))
    error_message = "topic_name must be 1-256 letters, digits, underscores or hyphens."
  }
}
