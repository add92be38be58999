# One member account of the organization: the break-glass role (modules/breakglass-role) and the
# forwarding of its alert events to the control plane's bus (modules/alert-forwarding) in each region
# in use, us-east-1 included (IAM and Organizations events are recorded there only). Apply it once per
# member account, with the credentials of the management account: the providers assume the member
# role in the account.

provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"

  skip_credentials_validation = var.skip_credentials_validation
  skip_requesting_account_id  = var.skip_requesting_account_id
  skip_metadata_api_check     = var.skip_metadata_api_check
  max_retries                 = var.max_retries

  assume_role {
    role_arn     = "arn:aws:iam::${var.account_id}:role/${var.member_role_name}"
    session_name = "breakglass-staging"
  }
}

provider "aws" {
  alias  = "eu_west_1"
  region = "eu-west-1"

  skip_credentials_validation = var.skip_credentials_validation
  skip_requesting_account_id  = var.skip_requesting_account_id
  skip_metadata_api_check     = var.skip_metadata_api_check
  max_retries                 = var.max_retries

  assume_role {
    role_arn     = "arn:aws:iam::${var.account_id}:role/${var.member_role_name}"
    session_name = "breakglass-staging"
  }
}

module "breakglass_role" {
  source = "../../modules/breakglass-role"
  providers = {
    aws = aws.us_east_1
  }

  role_name              = var.role_name
  trusted_principal_arns = var.trusted_principal_arns
  max_session_duration   = var.max_session_duration
  tags                   = var.tags
}

module "alert_forwarding_us_east_1" {
  source = "../../modules/alert-forwarding"
  providers = {
    aws = aws.us_east_1
  }

  target_event_bus_arn   = var.event_bus_arn
  break_glass_role_name  = module.breakglass_role.role_name
  break_glass_user_names = var.break_glass_user_names
  secret_prefix          = var.secret_prefix
  tags                   = var.tags
}

module "alert_forwarding_eu_west_1" {
  source = "../../modules/alert-forwarding"
  providers = {
    aws = aws.eu_west_1
  }

  target_event_bus_arn   = var.event_bus_arn
  break_glass_role_name  = module.breakglass_role.role_name
  break_glass_user_names = var.break_glass_user_names
  secret_prefix          = var.secret_prefix
  tags                   = var.tags
}
