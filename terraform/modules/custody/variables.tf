variable "break_glass_user_names" {
  description = "Break-glass IAM users whose credentials are kept in custody: each gets one share secret per custodian."
  type        = list(string)
  default     = []
}

variable "secret_prefix" {
  description = "Prefix of the break-glass secrets (the tool's secret_prefix setting): shares are <secret_prefix><user>/custody/<custodian>."
  type        = string
  default     = "breakglass/"
}

variable "custody_threshold" {
  description = "Custody of the glass: k, the number of custodians needed to open a break-glass user's credentials (0: no custody, the credentials in one secret). The tool's custody_threshold setting."
  type        = number
  default     = 0

  validation {
    condition     = var.custody_threshold == 0 || (var.custody_threshold >= 2 && var.custody_threshold <= length(var.custodians))
    error_message = "custody_threshold is 0 (no custody) or between 2 and the number of custodians."
  }
}

variable "custodians" {
  description = "Custodians of the glass, by name: their age X25519 recipient (age1..., public) and the IAM principal (role or user ARN) that alone may read their share. Each break-glass user gets one share secret per custodian, <secret_prefix><user>/custody/<name>, whose resource policy denies reading it to every other principal."
  type = map(object({
    recipient     = string
    principal_arn = string
  }))
  default = {}

  validation {
    condition = alltrue([
      for name, c in var.custodians :
      can(regex("^[a-z0-9][a-z0-9_-]{0,31}$", name)) && startswith(c.recipient, "age1") && can(regex("^arn:[^:]+:iam::[0-9]{12}:(role|user)/", c.principal_arn))
    ])
    error_message = "Each custodian: a lowercase name (letters, digits, _ and -), an age1... recipient and an IAM role or user ARN."
  }
}

variable "kms_key_arn" {
  description = "KMS key of the share secrets (null: the account's aws/secretsmanager key). A custodian then needs kms:Decrypt on it too."
  type        = string
  default     = null
}

variable "secret_recovery_window_days" {
  description = "Days a deleted share secret can be recovered (0: deleted at once)."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
