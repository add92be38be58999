variable "name_prefix" {
  description = "Prefix of the names of the module's alert rules, IAM roles and policies, KMS alias and restore function."
  type        = string
  default     = "breakglass"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,32}$", var.name_prefix))
    error_message = "name_prefix must be 1-32 letters, digits, underscores or hyphens."
  }
}

variable "break_glass_role_name" {
  description = "Name of the break-glass role in the member accounts (the breakglass-role module's role_name)."
  type        = string
  default     = "BreakGlassAdmin"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.break_glass_role_name))
    error_message = "break_glass_role_name must be 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "member_role_name" {
  description = "Role the operators assume in a member account to revoke break-glass sessions there (the tool's member_role_name setting)."
  type        = string
  default     = "OrganizationAccountAccessRole"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.member_role_name))
    error_message = "member_role_name must be 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "organization_management_account_id" {
  description = "Account id of the organization's management account, which the ARNs of its roots, OUs, accounts and policies carry. Null: this account (the control plane runs in the management account)."
  type        = string
  default     = null

  validation {
    condition     = var.organization_management_account_id == null || can(regex("^[0-9]{12}$", var.organization_management_account_id))
    error_message = "organization_management_account_id must be a 12-digit account id."
  }
}

variable "forwarding_organization_id" {
  description = "Organization (o-...) whose accounts may forward alert events to this account's default event bus (a bus policy granting events:PutEvents on aws:PrincipalOrgID). Null or empty: no bus policy, only this account's events are seen."
  type        = string
  default     = null

  validation {
    condition     = var.forwarding_organization_id == null || var.forwarding_organization_id == "" || can(regex("^o-[a-z0-9]{10,32}$", var.forwarding_organization_id))
    error_message = "forwarding_organization_id must be an organization id: o- followed by 10-32 lowercase letters or digits."
  }
}

variable "break_glass_user_names" {
  description = "Break-glass IAM users of this account: each gets a secret, sign-in, credential and MFA alerts and rotation rights in the operator policy."
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

variable "sns_kms_key_arn" {
  description = "KMS key (ARN) encrypting the notification topic. Null creates a customer managed key that EventBridge may use: the AWS managed key alias/aws/sns cannot be granted to EventBridge, whose alerts would then never arrive."
  type        = string
  default     = null

  validation {
    condition     = var.sns_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.sns_kms_key_arn))
    error_message = "sns_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "store_table_name" {
  description = "Name of the DynamoDB table holding the shared incident store (the tool's store setting is dynamodb://<name>)."
  type        = string
  default     = "breakglass-store"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.store_table_name))
    error_message = "store_table_name must be 3-255 letters, digits, underscores, hyphens or dots."
  }
}

variable "store_deletion_protection" {
  description = "Protect the store table against deletion."
  type        = bool
  default     = true
}

variable "evidence_bucket_name" {
  description = "Name of the S3 bucket receiving evidence bundles (created with Object Lock)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.evidence_bucket_name))
    error_message = "evidence_bucket_name must be a valid S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens."
  }
}

variable "evidence_lock_mode" {
  description = "Default Object Lock retention mode of the evidence bucket: GOVERNANCE (lifted only with s3:BypassGovernanceRetention) or COMPLIANCE (nobody can shorten it)."
  type        = string
  default     = "GOVERNANCE"

  validation {
    condition     = contains(["GOVERNANCE", "COMPLIANCE"], var.evidence_lock_mode)
    error_message = "evidence_lock_mode must be GOVERNANCE or COMPLIANCE."
  }
}

variable "evidence_retention_days" {
  description = "Default Object Lock retention of evidence objects, in days."
  type        = number
  default     = 365

  validation {
    condition     = var.evidence_retention_days >= 1 && floor(var.evidence_retention_days) == var.evidence_retention_days
    error_message = "evidence_retention_days must be a whole number of days, at least 1."
  }
}

variable "evidence_kms_key_arn" {
  description = "KMS key (ARN) for the evidence bucket's default encryption; null uses SSE-S3 (AES256)."
  type        = string
  default     = null

  validation {
    condition     = var.evidence_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.evidence_kms_key_arn))
    error_message = "evidence_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "evidence_require_tls" {
  description = "Attach a bucket policy denying every request to the evidence bucket that does not use TLS."
  type        = bool
  default     = true
}

variable "evidence_force_destroy" {
  description = "Let `terraform destroy` empty the evidence bucket. Objects under retention still cannot be deleted."
  type        = bool
  default     = false
}

variable "secret_prefix" {
  description = "Prefix of the Secrets Manager secret of each break-glass user: <secret_prefix><user> (the tool's secret_prefix setting)."
  type        = string
  default     = "breakglass/"

  validation {
    condition     = can(regex("^[A-Za-z0-9/_+=.@-]{0,200}$", var.secret_prefix))
    error_message = "secret_prefix may hold only letters, digits and /_+=.@- (at most 200 characters)."
  }
}

variable "secrets_kms_key_arn" {
  description = "KMS key (ARN) encrypting the break-glass secrets; null uses the AWS managed key aws/secretsmanager."
  type        = string
  default     = null

  validation {
    condition     = var.secrets_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.secrets_kms_key_arn))
    error_message = "secrets_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "secret_recovery_window_days" {
  description = "Days a deleted break-glass secret stays recoverable: 0 (immediate) or 7 to 30."
  type        = number
  default     = 30

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30."
  }
}

variable "lambda_zip_path" {
  description = "Path of the restore function's deployment package (a zip holding breakglass_aws and its dependencies)."
  type        = string

  validation {
    condition     = endswith(var.lambda_zip_path, ".zip")
    error_message = "lambda_zip_path must name a .zip file."
  }
}

variable "restore_timeout" {
  description = "Timeout of the restore function, in seconds (1 to 900)."
  type        = number
  default     = 300

  validation {
    condition     = var.restore_timeout >= 1 && var.restore_timeout <= 900
    error_message = "restore_timeout must be between 1 and 900 seconds."
  }
}

variable "restore_memory_size" {
  description = "Memory of the restore function, in MB (128 to 10240)."
  type        = number
  default     = 256

  validation {
    condition     = var.restore_memory_size >= 128 && var.restore_memory_size <= 10240
    error_message = "restore_memory_size must be between 128 and 10240 MB."
  }
}

variable "restore_schedule_expression" {
  description = "How often EventBridge Scheduler runs the restore function: a rate() or cron() expression."
  type        = string
  default     = "rate(5 minutes)"

  validation {
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.restore_schedule_expression))
    error_message = "restore_schedule_expression must be a rate(...) or cron(...) expression."
  }
}

variable "schedule_group_name" {
  description = "EventBridge Scheduler group holding the periodic restore schedule and the per-incident schedules the tool creates."
  type        = string
  default     = "breakglass"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,64}$", var.schedule_group_name))
    error_message = "schedule_group_name must be 1-64 letters, digits, underscores, hyphens or dots."
  }
}

variable "log_retention_days" {
  description = "Retention of the restore function's CloudWatch log group, in days (a value CloudWatch Logs accepts; 0 keeps the logs forever)."
  type        = number
  default     = 365

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

variable "tags" {
  description = "Tags for every resource of the module that takes tags."
  type        = map(string)
  default     = {}
}

variable "create_signing_key" {
  description = "Create the asymmetric KMS key (ECC_NIST_P256, SIGN_VERIFY) that signs journal heads at close and evidence manifests (the tool's signing_key setting)."
  type        = bool
  default     = true
}

variable "enable_root_tasks" {
  description = "Grant the operators root-task mode (breakglass root ...: sts:AssumeRoot with an AWS root-task policy, and its prerequisite reads), and the restore function the AssumeRoot that ends a stale root incident. Centralized root access must be enabled in the organization too."
  type        = bool
  default     = false
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
