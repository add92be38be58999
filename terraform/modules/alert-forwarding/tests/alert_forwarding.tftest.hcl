# Plan-only tests with a mocked AWS provider: no credentials, no network. Policy documents are
# mocked to a fixed JSON, so the assertions read the statements the module configures.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "111122223333"
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }
}

variables {
  target_event_bus_arn   = "arn:aws:events:us-east-1:999988887777:event-bus/default"
  break_glass_user_names = ["breakglass-1"]
}

run "regional_kinds_only_outside_us_east_1" {
  command = plan

  assert {
    condition = toset(keys(aws_cloudwatch_event_rule.forward)) == toset([
      "assume-role", "assume-root", "console-login", "root-console-login", "secret-read", "trail-changed",
      "alert-rule-changed", "alert-target-removed", "topic-unsubscribed",
    ])
    error_message = "Outside us-east-1 only the regional kinds get a rule (IAM and Organizations events are recorded in us-east-1)."
  }

  assert {
    condition     = alltrue([for kind, rule in aws_cloudwatch_event_rule.forward : rule.name == "breakglass-${kind}"])
    error_message = "Forwarding rules are named <name_prefix>-<kind>, like the control plane's."
  }

  assert {
    condition = (
      aws_cloudwatch_event_rule.forward["secret-read"].state == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" &&
      aws_cloudwatch_event_rule.forward["assume-role"].state == "ENABLED" &&
      jsondecode(aws_cloudwatch_event_rule.forward["assume-role"].event_pattern).detail.requestParameters.roleArn == [{ suffix = ":role/BreakGlassAdmin" }]
    )
    error_message = "The rules carry the patterns and states of the alert-patterns module."
  }

  assert {
    condition     = alltrue([for t in aws_cloudwatch_event_target.forward : t.arn == "arn:aws:events:us-east-1:999988887777:event-bus/default"])
    error_message = "Every rule targets the central bus."
  }

  assert {
    condition     = aws_iam_role.forwarding[0].name == "breakglass-alert-forwarding-eu-west-1" && !output.records_global_events
    error_message = "The role's name carries the region (IAM is global)."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.forwarding_trust[0].statement :
      s.actions == toset(["sts:AssumeRole"]) &&
      anytrue([for p in s.principals : p.type == "Service" && p.identifiers == toset(["events.amazonaws.com"])]) &&
      anytrue([for c in s.condition : c.test == "StringEquals" && c.variable == "aws:SourceAccount" && c.values == tolist(["111122223333"])])
    ])
    error_message = "Only EventBridge, for this account, assumes the role."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.forwarding[0].statement :
      s.actions == toset(["events:PutEvents"]) && s.resources == toset(["arn:aws:events:us-east-1:999988887777:event-bus/default"])
    ])
    error_message = "The role may put events on the central bus and nothing else."
  }
}

run "every_kind_in_us_east_1" {
  command = plan

  override_data {
    target = data.aws_region.current
    values = { name = "us-east-1" }
  }

  assert {
    condition     = length(aws_cloudwatch_event_rule.forward) == 13 && output.records_global_events
    error_message = "In us-east-1 every kind gets a rule, IAM and Organizations included."
  }

  assert {
    condition     = aws_iam_role.forwarding[0].name == "breakglass-alert-forwarding-us-east-1"
    error_message = "The role's name carries the region."
  }
}

run "no_users_no_user_kinds" {
  command = plan

  override_data {
    target = data.aws_region.current
    values = { name = "us-east-1" }
  }

  variables {
    break_glass_user_names = []
  }

  assert {
    condition     = length(setintersection(toset(keys(aws_cloudwatch_event_rule.forward)), toset(["console-login", "user-credentials", "user-mfa-deleted"]))) == 0 && length(aws_cloudwatch_event_rule.forward) == 10
    error_message = "No users: no sign-in, credential or MFA rule."
  }
}

run "existing_role" {
  command = plan

  variables {
    forwarding_role_arn = "arn:aws:iam::111122223333:role/org-event-forwarder"
  }

  assert {
    condition = (
      length(aws_iam_role.forwarding) == 0 && output.role_arn == "arn:aws:iam::111122223333:role/org-event-forwarder" &&
      alltrue([for t in aws_cloudwatch_event_target.forward : t.role_arn == "arn:aws:iam::111122223333:role/org-event-forwarder"])
    )
    error_message = "A given role is used instead of creating one."
  }
}

run "refuses_the_control_planes_own_account_and_region" {
  command = plan

  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "999988887777" }
  }

  override_data {
    target = data.aws_region.current
    values = { name = "us-east-1" }
  }

  expect_failures = [aws_cloudwatch_event_rule.forward]
}

run "rejects_bad_inputs" {
  command = plan

  variables {
    target_event_bus_arn = "arn:aws:sns:us-east-1:999988887777:breakglass-notifications"
    name_prefix          = "break glass"
    forwarding_role_arn  = "org-event-forwarder"
  }

  expect_failures = [var.target_event_bus_arn, var.name_prefix, var.forwarding_role_arn]
}
