# The control plane lives in us-east-1: IAM, STS-global and console sign-in events are delivered
# there only, and so must the EventBridge rules alerting on them.
provider "aws" {
  region = "us-east-1"

  skip_credentials_validation = var.skip_credentials_validation
  skip_requesting_account_id  = var.skip_requesting_account_id
  skip_metadata_api_check     = var.skip_metadata_api_check
  s3_use_path_style           = var.s3_use_path_style
  max_retries                 = var.max_retries
}

# A second region in use: the same account in eu-west-1, where its alert events are recorded.
provider "aws" {
  alias  = "eu_west_1"
  region = "eu-west-1"

  skip_credentials_validation = var.skip_credentials_validation
  skip_requesting_account_id  = var.skip_requesting_account_id
  skip_metadata_api_check     = var.skip_metadata_api_check
  s3_use_path_style           = var.s3_use_path_style
  max_retries                 = var.max_retries
}

# The organization whose accounts forward their alert events to the control plane's bus (this
# configuration runs in the management account).
data "aws_organizations_organization" "this" {
  count = var.accept_organization_alerts ? 1 : 0
}

# In an organization, apply this module in every member account (one provider alias per account);
# here it runs in the control-plane account itself.
module "breakglass_role" {
  source = "../../modules/breakglass-role"

  role_name              = var.role_name
  trusted_principal_arns = var.trusted_principal_arns
  max_session_duration   = var.max_session_duration
  break_glass_user_names = var.break_glass_user_names
  tags                   = var.tags
}

module "control_plane" {
  source = "../../modules/control-plane"

  break_glass_role_name     = module.breakglass_role.role_name
  member_role_name          = var.member_role_name
  break_glass_user_names    = module.breakglass_role.user_names
  store_table_name          = var.store_table_name
  store_deletion_protection = var.store_deletion_protection
  evidence_bucket_name      = var.evidence_bucket_name
  evidence_lock_mode        = var.evidence_lock_mode
  evidence_retention_days   = var.evidence_retention_days
  evidence_require_tls      = var.evidence_require_tls
  evidence_force_destroy    = var.evidence_force_destroy
  secret_prefix             = var.secret_prefix
  lambda_zip_path           = var.lambda_zip_path
  enable_root_tasks         = var.enable_root_tasks
  custody_threshold         = var.custody_threshold
  custodians                = var.custodians
  tags                      = var.tags

  forwarding_organization_id = one(data.aws_organizations_organization.this[*].id)
}

# EventBridge sees a CloudTrail event only in the account and region where it is recorded, even
# with an organization trail: every other region in use forwards its alert events to the control
# plane's default bus (us-east-1), here eu-west-1 of this account.
module "alert_forwarding_eu_west_1" {
  source = "../../modules/alert-forwarding"
  providers = {
    aws = aws.eu_west_1
  }

  target_event_bus_arn   = module.control_plane.event_bus_arn
  break_glass_role_name  = module.breakglass_role.role_name
  break_glass_user_names = module.breakglass_role.user_names
  secret_prefix          = var.secret_prefix
  tags                   = var.tags
}

# Every member account does the same in each region it uses (us-east-1 included: the IAM and
# Organizations rules exist there only), through a provider that assumes a role in it. For example:
#
# provider "aws" {
#   alias  = "workloads_us_east_1"
#   region = "us-east-1"
#
#   assume_role {
#     role_arn = "arn:aws:iam::111122223333:role/OrganizationAccountAccessRole"
#   }
# }
#
# module "alert_forwarding_workloads_us_east_1" {
#   source = "../../modules/alert-forwarding"
#   providers = {
#     aws = aws.workloads_us_east_1
#   }
#
#   target_event_bus_arn  = module.control_plane.event_bus_arn
#   break_glass_role_name = module.breakglass_role.role_name
#   secret_prefix         = var.secret_prefix
#   tags                  = var.tags
# }

module "scp_guardrails" {
  source = "../../modules/scp-guardrails"
  count  = var.create_scp_guardrails ? 1 : 0

  break_glass_role_name = module.breakglass_role.role_name
  allowed_regions       = var.allowed_regions
  target_ids            = var.scp_target_ids
  tags                  = var.tags
}
