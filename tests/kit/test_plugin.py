"""The testing kit as pytest users get it: README's example run as they would run it (a pytest
session of its own, the plugin found through its entry point), the plugin opt-in, and what the
`breakglass_sandbox` fixture holds: the seeded organization, LookupEvents over seeded events,
AssumeRoot, the environment, reset."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

README = Path(__file__).parents[2] / "README.md"
SECTION = "## Testing your automation against moto"

pytestmark = pytest.mark.e2e


def readme_block(language: str) -> str:
    section = README.read_text().split(SECTION, 1)[1].split("\n## ", 1)[0]
    found = re.search(rf"```{language}\n(.*?)```", section, re.DOTALL)
    assert found, f"README's {SECTION!r} has no {language} example"
    return found.group(1)


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A pytest session of its own in `folder` (not this project's conftest), as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=folder,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_plugin_is_registered_under_pytest11():
    plugins = {e.value for e in importlib.metadata.entry_points(group="pytest11")}
    assert "breakglass_aws.pytest_plugin" in plugins, "reinstall: pip install -e '.[test]'"


def test_readme_example_passes_as_a_user_runs_it(tmp_path):
    example = readme_block("python")
    assert len(example.strip().splitlines()) <= 10
    (tmp_path / "test_readme_example.py").write_text(example)
    done = run_pytest(tmp_path, "test_readme_example.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_the_plugin_changes_nothing_in_a_session_that_does_not_ask(tmp_path):
    (tmp_path / "test_plain.py").write_text(
        textwrap.dedent(
            """
            import os, sys

            def test_nothing_started(request):
                assert request.config.pluginmanager.hasplugin("breakglass_aws.pytest_plugin")
                heavy = [m for m in ("moto", "boto3", "botocore", "breakglass_aws.testing_kit") if m in sys.modules]
                assert heavy == []
                assert os.environ.get("AWS_ENDPOINT_URL") == "http://untouched.invalid"
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_plain.py"],
        cwd=tmp_path,
        env={**os.environ, "AWS_ENDPOINT_URL": "http://untouched.invalid"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_fixture_sets_the_environment_for_one_test_and_stops_the_server(tmp_path):
    pid_file = tmp_path / "pid"
    (tmp_path / "test_env.py").write_text(
        textwrap.dedent(
            f"""
            import os
            import pytest

            @pytest.fixture
            def a_profile(monkeypatch):
                monkeypatch.setenv("AWS_PROFILE", "production")
                monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "https://s3.example.invalid")

            def test_inside(a_profile, breakglass_sandbox):
                open({str(pid_file)!r}, "w").write(str(breakglass_sandbox.pid))
                assert os.environ["AWS_ENDPOINT_URL"] == breakglass_sandbox.endpoint_url
                assert "AWS_PROFILE" not in os.environ and "AWS_ENDPOINT_URL_S3" not in os.environ
                assert breakglass_sandbox.env.items() <= os.environ.items()

            def test_after():
                assert "AWS_ENDPOINT_URL" not in os.environ
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "breakglass_aws.pytest_plugin"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the session's end stopped the server by its PID


# --- the fixture in this project's own session ---------------------------------------------------


def test_the_organization_is_seeded(breakglass_sandbox):
    ids = breakglass_sandbox.org
    org = breakglass_sandbox.client("organizations")
    assert org.describe_organization()["Organization"]["Id"] == ids.organization
    accounts = {a["Id"]: a["Name"] for a in org.list_accounts()["Accounts"]}
    assert accounts[ids.account] == "workload" and ids.management in accounts
    assert [p["Id"] for p in org.list_parents(ChildId=ids.account)["Parents"]] == [ids.ou]
    assert [p["Id"] for p in org.list_parents(ChildId=ids.ou)["Parents"]] == [ids.root]


def test_lookup_events_answers_from_seeded_events(breakglass_sandbox):
    import boto3

    breakglass_sandbox.seed_events(
        [{"EventName": "GetObject", "Username": "oncall", "EventId": f"e{n}"} for n in range(60)], region="eu-west-1"
    )
    breakglass_sandbox.seed_events([{"EventName": "AssumeRole", "Username": "other", "CloudTrailEvent": {"a": 1}}])
    trail = boto3.client("cloudtrail", region_name="eu-west-1")  # the environment points at the sandbox
    pages = trail.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "oncall"}]
    )
    assert sorted(e["EventId"] for page in pages for e in page["Events"]) == sorted(f"e{n}" for n in range(60))
    [east] = boto3.client("cloudtrail", region_name="us-east-1").lookup_events()["Events"]
    assert east["EventName"] == "AssumeRole" and east["CloudTrailEvent"] == '{"a": 1}'


def test_assume_root_stands_in(breakglass_sandbox):
    import boto3

    boto3.client("organizations").enable_aws_service_access(ServicePrincipal="iam.amazonaws.com")
    boto3.client("iam").enable_organizations_root_sessions()
    answer = boto3.client("sts").assume_root(
        TargetPrincipal=breakglass_sandbox.org.account,
        TaskPolicyArn={"arn": "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy"},
    )
    assert answer["Credentials"]["AccessKeyId"]


def test_reset_wipes_state_and_events(breakglass_sandbox):
    s3 = breakglass_sandbox.client("s3")
    s3.create_bucket(Bucket="left-over")
    breakglass_sandbox.seed_events([{"EventName": "DeleteBucket", "Username": "x"}])
    before = breakglass_sandbox.org
    breakglass_sandbox.reset()
    assert s3.list_buckets()["Buckets"] == []
    assert breakglass_sandbox.seed_file.read_text() == ""
    assert breakglass_sandbox.org is not None and breakglass_sandbox.org.account != before.account
