# The module has no resources and no provider: each run plans and reads its outputs. The project's
# Python tests also compare the whole `rules` output with breakglass_aws.watch.coverage.patterns.

variables {
  role_name  = "BreakGlassAdmin"
  user_names = ["breakglass-1", "breakglass-2"]
}

run "every_kind_with_users" {
  command = plan

  assert {
    condition = toset(keys(output.rules)) == toset([
      "assume-role", "assume-root", "console-login", "root-console-login", "user-credentials", "user-mfa-deleted",
      "role-changed", "secret-read", "trail-changed", "alert-rule-changed", "alert-target-removed",
      "topic-unsubscribed", "scp-change",
    ])
    error_message = "With break-glass users every declared kind has a rule."
  }

  assert {
    condition = output.rules["assume-role"].pattern == {
      source        = ["aws.sts"]
      "detail-type" = ["AWS API Call via CloudTrail"]
      detail = {
        eventSource       = ["sts.amazonaws.com"]
        eventName         = ["AssumeRole"]
        requestParameters = { roleArn = [{ suffix = ":role/BreakGlassAdmin" }] }
      }
    }
    error_message = "AssumeRole of the break-glass role is matched by the role ARN's suffix."
  }

  assert {
    condition = (
      output.rules["console-login"].pattern["detail-type"] == ["AWS Console Sign In via CloudTrail"] &&
      jsonencode(output.rules["console-login"].pattern.detail.userIdentity) == jsonencode({ type = ["IAMUser"], userName = ["breakglass-1", "breakglass-2"] }) &&
      output.rules["user-mfa-deleted"].pattern.detail.requestParameters.serialNumber == [{ suffix = ":mfa/breakglass-1" }, { suffix = ":mfa/breakglass-2" }]
    )
    error_message = "Sign-in and MFA alerts are filtered on the break-glass users."
  }

  assert {
    condition = (
      output.rules["secret-read"].state == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" &&
      length([for kind, rule in output.rules : kind if rule.state != "ENABLED" && kind != "secret-read"]) == 0
    )
    error_message = "Only the read-only kind (GetSecretValue) needs the state that sees read-only management events."
  }

  assert {
    condition     = output.rules["scp-change"].pattern.detail == { eventSource = ["organizations.amazonaws.com"], eventName = ["AttachPolicy", "DetachPolicy", "UpdatePolicy"] }
    error_message = "A concern of `any` adds no filter."
  }

  assert {
    condition     = length(setintersection(toset(output.regional_kinds), toset(["user-credentials", "user-mfa-deleted", "role-changed", "scp-change"]))) == 0 && contains(output.regional_kinds, "assume-role")
    error_message = "IAM and Organizations kinds are not regional."
  }
}

run "names_reach_the_filters" {
  command = plan

  variables {
    secret_prefix = "ops/bg-"
    rule_prefix   = "bg"
    topic_name    = "bg-alerts"
  }

  assert {
    condition = (
      output.rules["secret-read"].pattern.detail.requestParameters.secretId == [{ prefix = "ops/bg-" }, { wildcard = "arn:aws:secretsmanager:*:*:secret:ops/bg-*" }] &&
      output.rules["alert-rule-changed"].pattern.detail.requestParameters.name == [{ prefix = "bg" }] &&
      output.rules["alert-target-removed"].pattern.detail.requestParameters.rule == [{ prefix = "bg" }] &&
      output.rules["topic-unsubscribed"].pattern.detail.requestParameters.subscriptionArn == [{ wildcard = "arn:aws:sns:*:*:bg-alerts:*" }]
    )
    error_message = "The secret, rule and topic filters follow the variables."
  }
}

run "without_users_no_user_kinds" {
  command = plan

  variables {
    user_names = []
  }

  assert {
    condition     = length(setintersection(toset(keys(output.rules)), toset(["console-login", "user-credentials", "user-mfa-deleted"]))) == 0 && length(output.rules) == 10
    error_message = "No users: no sign-in, credential or MFA rule (EventBridge refuses an empty list)."
  }
}

run "rejects_bad_names" {
  command = plan

  variables {
    role_name   = "Break Glass"
    user_names  = ["a/b"]
    rule_prefix = ""
  }

  expect_failures = [var.role_name, var.user_names, var.rule_prefix]
}
