variable "target_event_bus_arn" {
  description = "ARN of the central event bus the alert events are forwarded to: the control-plane module's event_bus_arn (the security account's default bus in its region)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._/-]+$", var.target_event_bus_arn))
    error_message = "target_event_bus_arn must be an event bus ARN (arn:aws:events:REGION:ACCOUNT:event-bus/NAME)."
  }
}

variable "name_prefix" {
  description = "Prefix of the names of the forwarding rules and role: the control plane's name_prefix (changes to rules named so are alerted on)."
  type        = string
  default     = "breakglass"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,32}$", var.name_prefix))
    error_message = "name_prefix must be 1-32 letters, digits, underscores or hyphens."
  }
}

variable "break_glass_role_name" {
  description = "Name of the break-glass role (the breakglass-role module's role_name)."
  type        = string
  default     = "BreakGlassAdmin"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.break_glass_role_name))
    error_message = "break_glass_role_name must be 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "break_glass_user_names" {
  description = "Break-glass IAM users of this account (sign-in, credential and MFA events are filtered on them). Empty: no rule for the kinds about users."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for name in var.break_glass_user_names : can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", name))])
    error_message = "Every break_glass_user_names entry must be 1-64 characters of letters, digits and +=,.@_-."
  }

  validation {
    condition     = length(distinct(var.break_glass_user_names)) == length(var.break_glass_user_names)
    error_message = "break_glass_user_names must not repeat a name."
  }
}

variable "secret_prefix" {
  description = "Prefix of the break-glass secrets (the control plane's secret_prefix)."
  type        = string
  default     = "breakglass/"

  validation {
    condition     = can(regex("^[A-Za-z0-9/_+=.@-]{0,200}$", var.secret_prefix))
    error_message = "secret_prefix may hold only letters, digits and /_+=.@- (at most 200 characters)."
  }
}

variable "topic_name" {
  description = "Name of the notification topic (removing one of its subscriptions is alerted on). Null: <name_prefix>-notifications, the control plane's topic."
  type        = string
  default     = null

  validation {
    condition     = var.topic_name == null || can(regex("^[A-Za-z0-9_-]{1,256}$", var.topic_name))
    error_message = "topic_name must be 1-256 letters, digits, underscores or hyphens."
  }
}

variable "forwarding_role_arn" {
  description = "An existing IAM role EventBridge assumes to put the events on the central bus (it must trust events.amazonaws.com and may events:PutEvents on target_event_bus_arn). Null: the module creates <name_prefix>-alert-forwarding-<region>."
  type        = string
  default     = null

  validation {
    condition     = var.forwarding_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", var.forwarding_role_arn))
    error_message = "forwarding_role_arn must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)."
  }
}

variable "tags" {
  description = "Tags for every resource of the module that takes tags."
  type        = map(string)
  default     = {}
}
