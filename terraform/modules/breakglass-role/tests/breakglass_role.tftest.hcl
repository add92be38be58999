# Plan-only tests with a mocked AWS provider: no credentials, no network.
# The mocked policy document renders a fixed JSON, so the assertions read the statements the
# module configures on the data source (what the real provider turns into JSON).

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  trusted_principal_arns = ["arn:aws:iam::111122223333:user/breakglass-1"]
}

run "defaults" {
  command = plan

  assert {
    condition     = aws_iam_role.this.name == "BreakGlassAdmin"
    error_message = "The role must be named BreakGlassAdmin by default."
  }

  assert {
    condition     = aws_iam_role.this.max_session_duration == 3600
    error_message = "The default maximum session duration must be one hour."
  }

  assert {
    condition     = keys(aws_iam_role_policy_attachment.this) == ["arn:aws:iam::aws:policy/AdministratorAccess"]
    error_message = "AdministratorAccess must be the only policy attached by default."
  }

  assert {
    condition     = length(aws_iam_user.this) == 0
    error_message = "No break-glass user may be created unless asked for."
  }
}

run "trust_policy_requires_mfa_and_source_identity" {
  command = plan

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.trust.statement :
      s.effect == "Allow" && contains(s.actions, "sts:AssumeRole") && anytrue([
        for c in s.condition : c.test == "Bool" && c.variable == "aws:MultiFactorAuthPresent" && toset(c.values) == toset(["true"])
      ])
    ])
    error_message = "sts:AssumeRole must require MFA (Bool aws:MultiFactorAuthPresent true)."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.trust.statement :
      anytrue([for c in s.condition : c.test == "Bool" && c.variable == "aws:MultiFactorAuthPresent" && toset(c.values) == toset(["true"])])
    ])
    error_message = "Every statement of the trust policy must require MFA."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.trust.statement :
      contains(s.actions, "sts:AssumeRole") && anytrue([
        for c in s.condition : c.test == "Null" && c.variable == "sts:SourceIdentity" && toset(c.values) == toset(["false"])
      ])
    ])
    error_message = "sts:AssumeRole must require a SourceIdentity by default (Null sts:SourceIdentity false)."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.trust.statement :
      s.effect == "Allow" && contains(s.actions, "sts:SetSourceIdentity") && contains(s.actions, "sts:TagSession")
    ])
    error_message = "The trust policy must allow sts:SetSourceIdentity and sts:TagSession."
  }

  assert {
    condition = alltrue(flatten([
      for s in data.aws_iam_policy_document.trust.statement : [
        for p in s.principals : p.type == "AWS" && toset(p.identifiers) == toset(["arn:aws:iam::111122223333:user/breakglass-1"])
      ]
    ]))
    error_message = "Only the configured principals may be trusted."
  }

  assert {
    condition     = toset(flatten([for s in data.aws_iam_policy_document.trust.statement : s.actions])) == toset(["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"])
    error_message = "The trust policy must allow exactly sts:AssumeRole, sts:SetSourceIdentity and sts:TagSession."
  }
}

run "source_identity_can_be_optional" {
  command = plan

  variables {
    require_source_identity = false
  }

  assert {
    condition = alltrue(flatten([
      for s in data.aws_iam_policy_document.trust.statement : [
        for c in s.condition : c.variable != "sts:SourceIdentity"
      ]
    ]))
    error_message = "With require_source_identity = false no SourceIdentity condition may remain."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.trust.statement :
      contains(s.actions, "sts:AssumeRole") && anytrue([for c in s.condition : c.variable == "aws:MultiFactorAuthPresent"])
    ])
    error_message = "MFA stays required without the SourceIdentity condition."
  }
}

run "custom_name_duration_policies_and_users" {
  command = plan

  variables {
    role_name              = "EmergencyAccess"
    max_session_duration   = 43200
    policy_arns            = ["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::111122223333:policy/Responder"]
    break_glass_user_names = ["breakglass-1", "breakglass-2"]
    tags                   = { Purpose = "break-glass" }
  }

  assert {
    condition     = aws_iam_role.this.name == "EmergencyAccess" && aws_iam_role.this.max_session_duration == 43200
    error_message = "The role name and session duration must follow the variables."
  }

  assert {
    condition     = toset(keys(aws_iam_role_policy_attachment.this)) == toset(["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::111122223333:policy/Responder"])
    error_message = "The supplied policies must replace AdministratorAccess."
  }

  assert {
    condition     = toset([for u in aws_iam_user.this : u.name]) == toset(["breakglass-1", "breakglass-2"])
    error_message = "One IAM user per break-glass user name."
  }

  assert {
    condition     = output.user_names == ["breakglass-1", "breakglass-2"]
    error_message = "user_names must list the users in the given order."
  }

  assert {
    condition     = aws_iam_role.this.tags["Purpose"] == "break-glass"
    error_message = "Tags must reach the role."
  }
}

run "rejects_session_shorter_than_one_hour" {
  command = plan

  variables {
    max_session_duration = 1800
  }

  expect_failures = [var.max_session_duration]
}

run "rejects_session_longer_than_twelve_hours" {
  command = plan

  variables {
    max_session_duration = 50000
  }

  expect_failures = [var.max_session_duration]
}

run "rejects_principal_that_is_not_an_iam_arn" {
  command = plan

  variables {
    trusted_principal_arns = ["arn:aws:iam::1234:user/short-account"]
  }

  expect_failures = [var.trusted_principal_arns]
}

run "rejects_wildcard_principal" {
  command = plan

  variables {
    trusted_principal_arns = ["*"]
  }

  expect_failures = [var.trusted_principal_arns]
}

run "rejects_policy_arn_that_is_not_a_policy" {
  command = plan

  variables {
    policy_arns = ["arn:aws:iam::aws:role/AdministratorAccess"]
  }

  expect_failures = [var.policy_arns]
}
