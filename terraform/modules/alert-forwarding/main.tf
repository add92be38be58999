data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name

  # IAM and Organizations events (regional = false in events.json) are recorded in us-east-1 only:
  # their rules exist in this module only there; elsewhere the regional kinds alone.
  global_events_region = "us-east-1"
  records_global       = local.region == local.global_events_region
  rules = {
    for kind, rule in module.alert_patterns.rules : kind => rule
    if local.records_global || contains(module.alert_patterns.regional_kinds, kind)
  }

  create_role = var.forwarding_role_arn == null
  role_name   = "${var.name_prefix}-alert-forwarding-${local.region}" # IAM is global: one role per region
  role_arn    = local.create_role ? aws_iam_role.forwarding[0].arn : var.forwarding_role_arn

  # arn:PARTITION:events:REGION:ACCOUNT:event-bus/NAME
  target_region  = split(":", var.target_event_bus_arn)[3]
  target_account = split(":", var.target_event_bus_arn)[4]
}

module "alert_patterns" {
  source = "../alert-patterns"

  role_name     = var.break_glass_role_name
  user_names    = var.break_glass_user_names
  secret_prefix = var.secret_prefix
  rule_prefix   = var.name_prefix
  topic_name    = coalesce(var.topic_name, "${var.name_prefix}-notifications")
}

################################################################################
# The rules: the control plane's patterns, each forwarding to the central bus
################################################################################

resource "aws_cloudwatch_event_rule" "forward" {
  for_each = local.rules

  name          = "${var.name_prefix}-${each.key}"
  description   = "${each.value.description} (forwarded to ${var.target_event_bus_arn})"
  event_pattern = jsonencode(each.value.pattern)
  state         = each.value.state
  tags          = var.tags

  lifecycle {
    precondition {
      condition     = !(local.account_id == local.target_account && local.region == local.target_region)
      error_message = "The target bus is this account's bus in this region: the control plane's rules already see these events here; do not apply alert-forwarding in the control plane's own account and region."
    }
  }
}

resource "aws_cloudwatch_event_target" "forward" {
  for_each = local.rules

  rule      = aws_cloudwatch_event_rule.forward[each.key].name
  target_id = "central-bus"
  arn       = var.target_event_bus_arn
  role_arn  = local.role_arn

  depends_on = [aws_iam_role_policy.forwarding] # the role may put events before the first one comes
}

################################################################################
# The role EventBridge assumes to put the events on the central bus
################################################################################

data "aws_iam_policy_document" "forwarding_trust" {
  count = local.create_role ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "forwarding" {
  count = local.create_role ? 1 : 0

  statement {
    sid       = "PutOnTheCentralBus"
    actions   = ["events:PutEvents"]
    resources = [var.target_event_bus_arn]
  }
}

resource "aws_iam_role" "forwarding" {
  count = local.create_role ? 1 : 0

  name               = local.role_name
  description        = "EventBridge forwards the break-glass alert events of ${local.region} to ${var.target_event_bus_arn}."
  assume_role_policy = data.aws_iam_policy_document.forwarding_trust[0].json
  tags               = var.tags

  lifecycle {
    precondition {
      condition     = length(local.role_name) <= 64
      error_message = "The forwarding role's name (${local.role_name}) is longer than IAM's 64 characters: shorten name_prefix or pass forwarding_role_arn."
    }
  }
}

resource "aws_iam_role_policy" "forwarding" {
  count = local.create_role ? 1 : 0

  name   = "put-events"
  role   = aws_iam_role.forwarding[0].id
  policy = data.aws_iam_policy_document.forwarding[0].json
}
