# Plan-only tests with a mocked AWS provider: no credentials, no network.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  break_glass_user_names = ["breakglass-1", "breakglass-2"]
  custody_threshold      = 2
  custodians = {
    alice = { recipient = "age1alice", principal_arn = "arn:aws:iam::111122223333:role/custodian-alice" }
    bob   = { recipient = "age1bob", principal_arn = "arn:aws:iam::111122223333:role/custodian-bob" }
    carol = { recipient = "age1carol", principal_arn = "arn:aws:iam::111122223333:user/carol" }
  }
}

run "one_share_secret_per_user_and_custodian" {
  command = plan

  assert {
    condition     = length(aws_secretsmanager_secret.custody_share) == 6 && length(aws_secretsmanager_secret_policy.custody_share) == 6
    error_message = "Two users and three custodians make six share secrets, each with its policy."
  }

  assert {
    condition     = aws_secretsmanager_secret.custody_share["breakglass-2/carol"].name == "breakglass/breakglass-2/custody/carol"
    error_message = "A share secret is <secret_prefix><user>/custody/<custodian>, where the tool writes it."
  }

  assert {
    condition     = output.custodians_setting == ["alice=age1alice", "bob=age1bob", "carol=age1carol"]
    error_message = "The custodians setting lists name=recipient, public keys only."
  }
}

run "no_custody_no_secrets" {
  command = plan

  variables {
    custody_threshold = 0
  }

  assert {
    condition     = length(aws_secretsmanager_secret.custody_share) == 0 && output.share_arns == {}
    error_message = "Without custody (threshold 0) the module makes nothing."
  }
}

run "threshold_above_custodians_refused" {
  command = plan

  variables {
    custody_threshold = 4
  }

  expect_failures = [var.custody_threshold]
}
