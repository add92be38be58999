"""terraform/modules/custody applied on a moto server: one share secret per user and custodian, each
with a resource policy that leaves only its custodian able to read it; then a rotation by the CLI
(as an operator runs it) writes the shares into those secrets and into an offline folder, two of
three custodians open the glass from either store, and `check` finds the custody sound.

Skips with the reason when terraform or the provider mirror is absent.
"""

from __future__ import annotations

import json
import subprocess

import boto3
import pytest
from pyrage import x25519

from breakglass_aws.readiness.custody import lone_reader
from breakglass_aws.testing_kit import start_sandbox
from tests.support.terraform import BREAKGLASS, clean_environment, terraform_session

pytestmark = [pytest.mark.terraform, pytest.mark.e2e]

USER = "breakglass-1"
PREFIX = "breakglass/"
NAMES = ("alice", "bob", "carol")


def _principal(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:role/custodian-{name}"


def test_terraform_share_secrets_hold_a_rotation_that_two_custodians_open(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("custody")
    tf = terraform_session(tmp_path_factory.mktemp("tf-custody"))
    identities = {name: x25519.Identity.generate() for name in NAMES}
    for name, identity in identities.items():
        (tmp / f"{name}.key").write_text(f"{identity}\n")
    with start_sandbox() as kit:  # a seeded organization: check runs in its management account
        iam, sm = kit.client("iam"), kit.client("secretsmanager")
        account = kit.client("sts").get_caller_identity()["Account"]
        iam.create_user(UserName=USER)
        iam.create_access_key(UserName=USER)
        sm.create_secret(Name=f"{PREFIX}{USER}", SecretString=json.dumps({"note": "initial"}))

        workdir = tf.init("modules/custody")
        custodians = {
            n: {"recipient": str(i.to_public()), "principal_arn": _principal(account, n)} for n, i in identities.items()
        }
        var_file = tmp / "custody.tfvars.json"
        var_file.write_text(
            json.dumps({"break_glass_user_names": [USER], "custody_threshold": 2, "custodians": custodians})
        )
        tf_env = kit.environ(clean_environment())
        tf.run("apply", "-auto-approve", "-no-color", f"-var-file={var_file}", cwd=workdir, env=tf_env)
        outputs = tf.outputs(workdir, tf_env)

        # Terraform made the containers and their policies, never a value.
        assert set(outputs["share_arns"]) == {f"{USER}/{n}" for n in NAMES}
        for name in NAMES:
            secret_id = f"{PREFIX}{USER}/custody/{name}"
            policy = sm.get_resource_policy(SecretId=secret_id)["ResourcePolicy"]
            assert lone_reader(policy) == _principal(account, name)
            assert "VersionIdsToStages" not in sm.describe_secret(SecretId=secret_id)

        # The operator's rotation, with the settings Terraform outputs.
        home = tmp / "home"
        home.mkdir()
        env = {
            **kit.environ(clean_environment()),
            "HOME": str(home),
            "BREAKGLASS_STORE": str(tmp / "journal.sqlite3"),
            "BREAKGLASS_ROTATE_USERS": USER,
            "BREAKGLASS_CUSTODY_THRESHOLD": str(outputs["custody_threshold"]),
            "BREAKGLASS_CUSTODIANS": json.dumps(outputs["custodians_setting"]),
            "BREAKGLASS_CUSTODY_SHARES_OUT": str(tmp / "safe"),
        }

        def breakglass(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [BREAKGLASS, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120, check=False
            )

        rotated = breakglass("rotate", "--user", USER, "--output", "json")
        assert rotated.returncode == 0, rotated.stderr
        for name in NAMES:  # written into the secrets Terraform made (same ARN), not new ones
            described = sm.describe_secret(SecretId=f"{PREFIX}{USER}/custody/{name}")
            assert described["ARN"] == outputs["share_arns"][f"{USER}/{name}"]
            assert "AWSCURRENT" in {s for stages in described["VersionIdsToStages"].values() for s in stages}
        assert sorted(p.name.split(".")[1] for p in (tmp / "safe").iterdir()) == sorted(NAMES)

        # alice from her secret, carol from the offline safe: two of three open the glass.
        alice = breakglass("custody", "share", "--user", USER, "--identity", str(tmp / "alice.key"))
        carol_file = next((tmp / "safe").glob(f"{USER}.carol.*"))
        carol = breakglass(
            "custody", "share", "--user", USER, "--identity", str(tmp / "carol.key"), "--share-file", str(carol_file)
        )
        assert alice.returncode == 0 and carol.returncode == 0, alice.stderr + carol.stderr
        opened = breakglass("custody", "open", "--user", USER, "--print", stdin=alice.stdout + carol.stdout)
        assert opened.returncode == 0, opened.stderr
        creds = json.loads(opened.stdout)
        sts = boto3.client(
            "sts",
            region_name="us-east-1",
            endpoint_url=kit.endpoint_url,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
        )
        assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{account}:user/{USER}"
        # one share alone opens nothing
        alone = breakglass("custody", "open", "--user", USER, "--print", stdin=alice.stdout)
        assert alone.returncode in (2, 4) and alone.stdout == "" and "Traceback" not in alone.stderr

        # check: the custody is sound (every share present, each readable by its custodian alone)
        checked = breakglass("check", "--output", "json")
        assert "findings" in json.loads(checked.stdout), checked.stdout + checked.stderr
        custody = [f for f in json.loads(checked.stdout)["findings"] if f["check"] == "custody"]
        assert [f["severity"] for f in custody] == ["info"], custody
        assert "2 of 3: alice, bob, carol" in custody[0]["message"]
        # the main secret holds only the seal: no key, no password
        main = sm.get_secret_value(SecretId=f"{PREFIX}{USER}")["SecretString"]
        assert creds["SecretAccessKey"] not in main and creds["SecretAccessKey"] not in checked.stdout
        assert creds["SecretAccessKey"].encode() not in (tmp / "journal.sqlite3").read_bytes()
