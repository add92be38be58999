"""A newcomer follows README's quick start, literally: every `sh` block of that section runs, as
written and in order, in one bash shell, from `terraform apply` on a moto server to
`config from-terraform`, `check` (no error) and `drill` (passed). Nothing is done that README does
not show; the test only sets up what the section asks to have before starting (an organization with
a sandbox member account, an administrator's credentials, Terraform with its provider mirror), puts
its own values in the "your values" block, types the MFA codes, and sets the Terraform variables an
emulator needs (TF_VAR_*: provider settings, no TLS-only bucket policy, which moto cannot evaluate).

moto has no CloudTrail LookupEvents: the server is `breakglass_aws.testing.MotoServer` with its
CloudTrail stand-in (what `breakglass sandbox serve` runs from a shell). Skips without terraform,
its provider mirror, or the aws CLI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from breakglass_aws.testing import MotoServer, env_for
from tests.support.terraform import REPO, clean_environment, terraform_session

pytestmark = [pytest.mark.e2e, pytest.mark.terraform]

BIN = Path(sys.executable).parent
SECTION = "## Real AWS: quick start"
# The emulator's Terraform variables (undeclared ones are ignored by the configuration that lacks them).
EMULATOR_VARIABLES = {
    "skip_credentials_validation": "true",
    "skip_requesting_account_id": "true",
    "skip_metadata_api_check": "true",
    "s3_use_path_style": "true",
    "max_retries": "1",
    "evidence_require_tls": "false",
}
MFA_CODES = "123456 654321\n234567 765432\n345678\n"  # two devices' first codes, then the drill's code


def quick_start_blocks() -> list[str]:
    """The `sh` blocks of README's quick start, in order, dedented."""
    text = (REPO / "README.md").read_text()
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    blocks = re.findall(r"^( *)```sh\n(.*?)^\1```", section, re.MULTILINE | re.DOTALL)
    return ["\n".join(line.removeprefix(indent) for line in body.splitlines()) for indent, body in blocks]


def with_our_values(block: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        block, count = re.subn(rf"^{name}=.*$", f"{name}={value}", block, flags=re.MULTILINE)
        assert count == 1, f"README's quick start sets no {name}: update this test's values"
    return block


def test_quick_start_blocks_are_found():
    blocks = quick_start_blocks()
    commands = "\n".join(blocks)
    for step in (
        "breakglass package-lambda",
        "terraform -chdir=terraform/examples/complete apply",
        "breakglass config from-terraform -",
        "aws iam create-virtual-mfa-device",
        "aws iam enable-mfa-device",
        "aws cloudtrail create-trail",
        "--profile breakglass-base",
        "breakglass check",
        "drill --account",
    ):
        assert step in commands, step


def test_readme_quick_start_from_terraform_apply_to_a_passing_drill(tmp_path_factory: pytest.TempPathFactory):
    aws_cli = shutil.which("aws", path=str(BIN)) or shutil.which("aws")
    if aws_cli is None:
        pytest.skip("the aws CLI is not installed")
    tmp = tmp_path_factory.mktemp("newcomer")
    checkout = tmp / "checkout"  # the newcomer's repository root: a scratch copy of terraform/ goes there
    checkout.mkdir()
    tf = terraform_session(checkout)  # skips without terraform or the provider mirror
    seed = tmp / "cloudtrail.jsonl"
    seed.write_text("")
    server = MotoServer(cloudtrail_seed=str(seed))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        server.start()
    try:
        org = boto3.client(
            "organizations",
            region_name="us-east-1",
            endpoint_url=server.url,
            aws_access_key_id="AKIAFAKEFORTESTS0000",
            aws_secret_access_key="fakeSecretKeyForTests0000000000000000000",
        )
        org.create_organization(FeatureSet="ALL")
        created = org.create_account(Email="sandbox@example.com", AccountName="sandbox")["CreateAccountStatus"]
        sandbox = created["AccountId"]

        home = tmp / "home"
        home.mkdir()
        env = env_for(server.url, clean_environment())  # the administrator's credentials, on moto
        env.update(
            HOME=str(home),
            PATH=f"{BIN}{os.pathsep}{Path(aws_cli).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            TF_CLI_CONFIG_FILE=tf.env["TF_CLI_CONFIG_FILE"],
            TF_IN_AUTOMATION="1",
            CHECKPOINT_DISABLE="1",
            **{f"TF_VAR_{name}": value for name, value in EMULATOR_VARIABLES.items()},
        )
        for key in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR", "BREAKGLASS_CONFIG"):
            env.pop(key, None)
        values = {"SANDBOX_ID": sandbox, "EVIDENCE_BUCKET": "newcomer-breakglass-evidence"}
        blocks = quick_start_blocks()
        script = "\n\n".join([with_our_values(blocks[0], values), *blocks[1:]])
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=checkout,
            env=env,
            input=MFA_CODES,
            capture_output=True,
            text=True,
            timeout=1500,
            check=False,
        )
        log = f"--- stdout ---\n{done.stdout[-8000:]}\n--- stderr ---\n{done.stderr[-8000:]}"
        assert done.returncode == 0, log

        # What the newcomer sees: the zip for the function's runtime, the config file, a check with
        # no error, a passing drill.
        assert "breakglass-restore.zip" in done.stdout and "for python3.11 on x86_64" in done.stdout, log
        config = home / ".config" / "breakglass" / "config.toml"
        assert f"wrote {config}: " in done.stdout, log
        assert "0 error(s), 1 other finding(s)" in done.stdout, log
        assert re.search(r"^WARNING drill +drill: no drill recorded$", done.stdout, re.MULTILINE), log
        assert re.search(rf"^drill bg-\S+ on {sandbox}: PASSED$", done.stdout, re.MULTILINE), log

        # The function was deployed for what the zip records.
        lambda_ = boto3.client(
            "lambda", region_name="us-east-1", endpoint_url=server.url, aws_access_key_id="x", aws_secret_access_key="x"
        )
        function = lambda_.get_function_configuration(FunctionName="breakglass-restore")
        assert (function["Runtime"], function["Architectures"]) == ("python3.11", ["x86_64"])

        # After the drill, check is clean, nothing left open.
        after = subprocess.run(
            [str(BIN / "breakglass"), "check", "--output", "json"],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert after.returncode == 0, after.stderr
        assert json.loads(after.stdout)["findings"] == []
    finally:
        server.stop()
