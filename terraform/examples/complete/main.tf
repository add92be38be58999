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
  tags                      = var.tags
}

module "scp_guardrails" {
  source = "../../modules/scp-guardrails"
  count  = var.create_scp_guardrails ? 1 : 0

  break_glass_role_name = module.breakglass_role.role_name
  allowed_regions       = var.allowed_regions
  target_ids            = var.scp_target_ids
  tags                  = var.tags
}
