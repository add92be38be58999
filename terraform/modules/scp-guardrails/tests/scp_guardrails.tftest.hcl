# Plan-only tests with a mocked AWS provider: no credentials, no network.
# Policy documents are mocked to a fixed JSON, so the assertions read the statements the module
# configures on each aws_iam_policy_document (what the real provider renders).

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json          = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
      minified_json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
}

run "defaults_exempt_the_break_glass_role" {
  command = plan

  assert {
    condition     = toset(keys(aws_organizations_policy.this)) == toset(["DenyLeaveOrganization", "DenyCloudTrailChanges"])
    error_message = "By default: the leave-organization and CloudTrail SCPs, no region SCP."
  }

  assert {
    condition     = alltrue([for p in aws_organizations_policy.this : p.type == "SERVICE_CONTROL_POLICY"])
    error_message = "Every policy must be a Service Control Policy."
  }

  assert {
    condition = alltrue(flatten([
      for doc in concat(data.aws_iam_policy_document.deny_leave_organization, data.aws_iam_policy_document.deny_cloudtrail_changes) : [
        for s in doc.statement : s.effect == "Deny" && anytrue([
          for c in s.condition : c.test == "ArnNotLike" && c.variable == "aws:PrincipalARN" && toset(c.values) == toset(["arn:aws:iam::*:role/BreakGlassAdmin"])
        ])
      ]
    ]))
    error_message = "Every Deny must exempt arn:aws:iam::*:role/BreakGlassAdmin with ArnNotLike aws:PrincipalARN."
  }

  assert {
    condition     = contains(data.aws_iam_policy_document.deny_leave_organization[0].statement[0].actions, "organizations:LeaveOrganization")
    error_message = "The organization SCP must deny LeaveOrganization."
  }

  assert {
    condition     = length(setsubtract(["cloudtrail:StopLogging", "cloudtrail:DeleteTrail"], data.aws_iam_policy_document.deny_cloudtrail_changes[0].statement[0].actions)) == 0
    error_message = "The CloudTrail SCP must deny StopLogging and DeleteTrail."
  }

  assert {
    condition     = length(aws_organizations_policy_attachment.this) == 0
    error_message = "Nothing is attached without target_ids."
  }
}

run "region_allow_list_and_attachments" {
  command = plan

  variables {
    break_glass_role_name   = "EmergencyAccess"
    deny_leave_organization = false
    allowed_regions         = ["eu-west-1", "eu-central-1"]
    target_ids              = ["ou-ab12-cdef3456", "111122223333"]
  }

  assert {
    condition     = toset(keys(aws_organizations_policy.this)) == toset(["DenyCloudTrailChanges", "DenyRegionsOutsideAllowList"])
    error_message = "The region SCP exists once regions are given; a disabled SCP is not created."
  }

  assert {
    condition = anytrue([
      for c in data.aws_iam_policy_document.deny_regions_outside_allow_list[0].statement[0].condition :
      c.test == "StringNotEquals" && c.variable == "aws:RequestedRegion" && toset(c.values) == toset(["eu-west-1", "eu-central-1"])
    ])
    error_message = "The region SCP denies requests outside the allowed regions."
  }

  assert {
    condition = anytrue([
      for c in data.aws_iam_policy_document.deny_regions_outside_allow_list[0].statement[0].condition :
      c.test == "ArnNotLike" && c.variable == "aws:PrincipalARN" && toset(c.values) == toset(["arn:aws:iam::*:role/EmergencyAccess"])
    ])
    error_message = "The region SCP exempts the configured break-glass role."
  }

  assert {
    condition     = contains(data.aws_iam_policy_document.deny_regions_outside_allow_list[0].statement[0].not_actions, "sts:*")
    error_message = "Global services such as STS stay allowed outside the region list."
  }

  assert {
    condition     = length(aws_organizations_policy_attachment.this) == 4
    error_message = "Every created SCP is attached to every target."
  }

  assert {
    condition     = aws_organizations_policy_attachment.this["DenyRegionsOutsideAllowList/111122223333"].target_id == "111122223333"
    error_message = "Attachments are keyed <policy>/<target>."
  }
}

run "rejects_bad_target_and_region" {
  command = plan

  variables {
    target_ids      = ["1234"]
    allowed_regions = ["moon-1"]
  }

  expect_failures = [var.target_ids, var.allowed_regions]
}
