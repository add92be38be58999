variable "trusted_principal_arns" {
  description = "IAM ARNs allowed to assume the break-glass role (break-glass users, a responder role, or an account root ARN)."
  type        = list(string)

  validation {
    condition = length(var.trusted_principal_arns) > 0 && alltrue([
      for arn in var.trusted_principal_arns :
      can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(root|user/[A-Za-z0-9+=,.@_/-]+|role/[A-Za-z0-9+=,.@_/-]+)$", arn))
    ])
    error_message = "trusted_principal_arns must hold at least one IAM ARN: arn:aws:iam::<12-digit account>:root, :user/NAME or :role/NAME."
  }
}

variable "role_name" {
  description = "Name of the break-glass role."
  type        = string
  default     = "BreakGlassAdmin"
}

variable "member_role_name" {
  description = "Role assumed in member accounts to revoke break-glass sessions there (the tool's member_role_name setting)."
  type        = string
  default     = "OrganizationAccountAccessRole"
}

variable "max_session_duration" {
  description = "Maximum session duration of the break-glass role, in seconds (3600 to 43200)."
  type        = number
  default     = 3600
}

variable "break_glass_user_names" {
  description = "Break-glass IAM users to create; each gets a secret for `breakglass rotate`."
  type        = list(string)
  default     = ["breakglass-1", "breakglass-2"]
}

variable "evidence_bucket_name" {
  description = "Name of the evidence bucket (globally unique)."
  type        = string
}

variable "evidence_lock_mode" {
  description = "Default Object Lock mode of the evidence bucket: GOVERNANCE or COMPLIANCE."
  type        = string
  default     = "GOVERNANCE"
}

variable "evidence_retention_days" {
  description = "Default Object Lock retention of evidence, in days."
  type        = number
  default     = 365
}

variable "evidence_require_tls" {
  description = "Deny requests to the evidence bucket that do not use TLS."
  type        = bool
  default     = true
}

variable "evidence_force_destroy" {
  description = "Let `terraform destroy` empty the evidence bucket (objects under retention stay)."
  type        = bool
  default     = false
}

variable "store_table_name" {
  description = "Name of the DynamoDB table of the shared store."
  type        = string
  default     = "breakglass-store"
}

variable "store_deletion_protection" {
  description = "Protect the store table against deletion."
  type        = bool
  default     = true
}

variable "secret_prefix" {
  description = "Prefix of the break-glass secrets."
  type        = string
  default     = "breakglass/"
}

variable "lambda_zip_path" {
  description = "Path of the restore function's deployment package (`breakglass package-lambda` builds it)."
  type        = string
}

variable "create_scp_guardrails" {
  description = "Create the example SCPs (needs an organization; run in its management account)."
  type        = bool
  default     = true
}

variable "allowed_regions" {
  description = "Regions the region SCP allows; empty creates no region SCP."
  type        = list(string)
  default     = ["us-east-1", "us-west-2"]
}

variable "scp_target_ids" {
  description = "Roots, OUs or accounts to attach the example SCPs to; empty attaches nothing."
  type        = list(string)
  default     = []
}

variable "accept_organization_alerts" {
  description = "Let the organization's accounts forward their alert events to the control plane's default bus (reads the organization: run in its management account)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = { Project = "breakglass" }
}

# Provider settings: the defaults suit AWS; a local AWS emulator (AWS_ENDPOINT_URL) needs the
# validation calls and the instance metadata lookup switched off and path-style S3 addressing.
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

variable "s3_use_path_style" {
  description = "Address S3 buckets path-style (endpoint/bucket) instead of as bucket.endpoint."
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

variable "enable_root_tasks" {
  description = "Grant root-task mode (breakglass root ...) to the operators and the restore function."
  type        = bool
  default     = true
}

variable "custody_threshold" {
  description = "Custody of the glass: custodians needed to open a break-glass user's credentials (0: no custody, one secret)."
  type        = number
  default     = 0
}

variable "custodians" {
  description = "Custodians by name: their age recipient (age1...) and the IAM principal that alone may read their share."
  type = map(object({
    recipient     = string
    principal_arn = string
  }))
  default = {}
}
