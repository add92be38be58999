variable "account_id" {
  description = "The member account to stage (12 digits): the providers assume member_role_name in it."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be a 12-digit AWS account id."
  }
}

variable "member_role_name" {
  description = "Role the providers assume in the member account (the tool's member_role_name setting)."
  type        = string
  default     = "OrganizationAccountAccessRole"
}

variable "trusted_principal_arns" {
  description = "IAM ARNs allowed to assume the break-glass role: the break-glass users of the control-plane account, or that account's root ARN."
  type        = list(string)

  validation {
    condition = length(var.trusted_principal_arns) > 0 && alltrue([
      for arn in var.trusted_principal_arns :
      can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(root|user/[A-Za-z0-9+=,.@_/-]+|role/[A-Za-z0-9+=,.@_/-]+)$", arn))
    ])
    error_message = "trusted_principal_arns must hold at least one IAM ARN: arn:aws:iam::<12-digit account>:root, :user/NAME or :role/NAME."
  }
}

variable "event_bus_arn" {
  description = "The control plane's default event bus (the complete example's event_bus_arn output): alert events are forwarded there."
  type        = string
}

variable "role_name" {
  description = "Name of the break-glass role."
  type        = string
  default     = "BreakGlassAdmin"
}

variable "max_session_duration" {
  description = "Maximum session duration of the break-glass role, in seconds (3600 to 43200)."
  type        = number
  default     = 3600
}

variable "break_glass_user_names" {
  description = "The break-glass users (of the control-plane account): their sign-in, credential and MFA events are forwarded too."
  type        = list(string)
  default     = ["breakglass-1", "breakglass-2"]
}

variable "secret_prefix" {
  description = "Prefix of the break-glass secrets."
  type        = string
  default     = "breakglass/"
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = { Project = "breakglass" }
}

variable "skip_credentials_validation" {
  description = "Skip the provider's STS credentials check."
  type        = bool
  default     = false
}

variable "skip_requesting_account_id" {
  description = "Skip the provider's account id lookup."
  type        = bool
  default     = false
}

variable "skip_metadata_api_check" {
  description = "Skip the EC2 instance metadata lookup for credentials."
  type        = bool
  default     = false
}

variable "max_retries" {
  description = "Maximum retries of a failed AWS API call by the provider."
  type        = number
  default     = 25

  validation {
    condition     = var.max_retries >= 0 && floor(var.max_retries) == var.max_retries
    error_message = "max_retries must be a whole number, 0 or more."
  }
}
