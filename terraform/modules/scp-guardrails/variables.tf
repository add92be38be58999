variable "break_glass_role_name" {
  description = "Name of the break-glass role exempted from every Deny statement (arn:aws:iam::*:role/<name>)."
  type        = string
  default     = "BreakGlassAdmin"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.break_glass_role_name))
    error_message = "break_glass_role_name must be 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "name_prefix" {
  description = "Prefix of the policy names."
  type        = string
  default     = "breakglass-"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{0,64}$", var.name_prefix))
    error_message = "name_prefix may hold only letters, digits and +=,.@_- (at most 64 characters)."
  }
}

variable "deny_leave_organization" {
  description = "Create the SCP denying organizations:LeaveOrganization."
  type        = bool
  default     = true
}

variable "deny_cloudtrail_changes" {
  description = "Create the SCP denying stopping, deleting or reconfiguring CloudTrail trails."
  type        = bool
  default     = true
}

variable "allowed_regions" {
  description = "Regions where requests are allowed; empty creates no region SCP. Global services (region_exempt_actions) stay allowed everywhere."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for region in var.allowed_regions : can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+$", region))])
    error_message = "Every allowed_regions entry must be a region name such as us-east-1."
  }
}

variable "region_exempt_actions" {
  description = "Actions of global services that the region SCP never denies (their endpoints live in us-east-1)."
  type        = list(string)
  default = [
    "a4b:*", "account:*", "acm:*", "aws-marketplace-management:*", "aws-marketplace:*", "aws-portal:*",
    "budgets:*", "ce:*", "chime:*", "cloudfront:*", "config:*", "cur:*", "directconnect:*", "ec2:DescribeRegions",
    "ec2:DescribeTransitGateways", "ec2:DescribeVpnGateways", "fms:*", "globalaccelerator:*", "health:*", "iam:*",
    "importexport:*", "kms:*", "mobileanalytics:*", "networkmanager:*", "organizations:*", "pricing:*",
    "route53:*", "route53domains:*", "route53-recovery-cluster:*", "route53-recovery-control-config:*",
    "route53-recovery-readiness:*", "s3:GetAccountPublic*", "s3:ListAllMyBuckets", "s3:ListMultiRegionAccessPoints",
    "s3:PutAccountPublic*", "shield:*", "sts:*", "support:*", "trustedadvisor:*", "waf-regional:*", "waf:*",
    "wafv2:*", "wellarchitected:*",
  ]

  validation {
    condition     = alltrue([for action in var.region_exempt_actions : can(regex("^[a-z0-9-]+:[A-Za-z0-9*]+$", action))])
    error_message = "Every region_exempt_actions entry must look like service:Action (wildcards allowed)."
  }
}

variable "target_ids" {
  description = "Roots (r-...), OUs (ou-...) or accounts (12 digits) to attach every created SCP to; empty attaches nothing."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.target_ids : can(regex("^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|[0-9]{12})$", id))])
    error_message = "Every target_ids entry must be a root id (r-...), an OU id (ou-...-...) or a 12-digit account id."
  }
}

variable "tags" {
  description = "Tags for the policies."
  type        = map(string)
  default     = {}
}
