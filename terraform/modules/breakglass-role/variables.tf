variable "role_name" {
  description = "Name of the break-glass IAM role. The tool, the control-plane alert rules and the SCP exemptions all refer to it by this name."
  type        = string
  default     = "BreakGlassAdmin"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name must be 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "role_description" {
  description = "Description of the break-glass IAM role."
  type        = string
  default     = "Emergency (break-glass) administrator access: MFA and SourceIdentity required."
}

variable "trusted_principal_arns" {
  description = "IAM ARNs allowed to assume the break-glass role (break-glass users, a responder role, or an account root ARN)."
  type        = list(string)

  validation {
    condition     = length(var.trusted_principal_arns) > 0
    error_message = "trusted_principal_arns must name at least one principal."
  }

  validation {
    condition = alltrue([
      for arn in var.trusted_principal_arns :
      can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(root|user/[A-Za-z0-9+=,.@_/-]+|role/[A-Za-z0-9+=,.@_/-]+)$", arn))
    ])
    error_message = "Every trusted_principal_arns entry must be an IAM ARN: arn:aws:iam::<12-digit account>:root, :user/NAME or :role/NAME."
  }
}

variable "require_source_identity" {
  description = "Require callers to set sts:SourceIdentity on AssumeRole, so every action in CloudTrail names the person behind it."
  type        = bool
  default     = true
}

variable "max_session_duration" {
  description = "Maximum session duration of the role, in seconds (3600 to 43200)."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200 && floor(var.max_session_duration) == var.max_session_duration
    error_message = "max_session_duration must be a whole number of seconds between 3600 (1 hour) and 43200 (12 hours)."
  }
}

variable "policy_arns" {
  description = "Managed policy ARNs attached to the role."
  type        = list(string)
  default     = ["arn:aws:iam::aws:policy/AdministratorAccess"]

  validation {
    condition = alltrue([
      for arn in var.policy_arns :
      can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/[A-Za-z0-9+=,.@_/-]+$", arn))
    ])
    error_message = "Every policy_arns entry must be an IAM policy ARN (arn:aws:iam::aws:policy/NAME or arn:aws:iam::<account>:policy/NAME)."
  }
}

variable "permissions_boundary_arn" {
  description = "ARN of a permissions boundary for the role, or null for none."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/[A-Za-z0-9+=,.@_/-]+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM policy ARN."
  }
}

variable "break_glass_user_names" {
  description = "Names of break-glass IAM users to create (no access keys, no console passwords: `breakglass rotate` puts those into Secrets Manager)."
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

variable "user_force_destroy" {
  description = "Let `terraform destroy` delete the break-glass users even when they hold access keys or a console password made outside Terraform."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
