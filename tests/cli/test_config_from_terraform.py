"""`breakglass config from-terraform [FILE|-]`: the config file written from `terraform output -json`,
every output named like a setting; refuses to overwrite without --force (exit 4); bad input exits 2
with one line; what it writes is read back exactly by tomllib and by the settings loader."""

from __future__ import annotations

import json
import math
import stat
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from breakglass_aws.config_file import to_toml
from breakglass_aws.settings import Settings, load_settings
from tests.support.cli import one_line

# No AWS call is made, but the `cli` fixture's shared botocore session must be made with moto loaded.
pytestmark = pytest.mark.usefixtures("aws")

ACCOUNT = "123456789012"
# What `terraform output -json` prints for terraform/examples/complete (abridged: a few non-setting outputs).
SETTINGS = {
    "sns_topic_arn": f"arn:aws:sns:us-east-1:{ACCOUNT}:breakglass-notifications",
    "store": "dynamodb://breakglass-store",
    "role_name": "BreakGlassAdmin",
    "rotate_users": ["breakglass-1", "breakglass-2"],
    "secret_prefix": "breakglass/",
    "evidence_bucket": "org-breakglass-evidence",
    "restore_function_arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:breakglass-restore",
    "scheduler_role_arn": f"arn:aws:iam::{ACCOUNT}:role/breakglass-scheduler",
    "schedule_group": "breakglass",
    "schedule_dead_letter_arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:breakglass-restore-dead-letters",
    "member_role_name": "OrganizationAccountAccessRole",
    "alert_rule_prefix": "breakglass",
    "alert_regions": ["eu-west-1"],
}
OTHERS = {
    "role_arn": f"arn:aws:iam::{ACCOUNT}:role/BreakGlassAdmin",
    "scp_policy_ids": {"DenyLeaveOrganization": "p-12345678"},
    "signing_key": None,  # create_signing_key = false: a null output is left out
}


def terraform_json(values: dict[str, object]) -> str:
    return json.dumps({k: {"sensitive": False, "type": "string", "value": v} for k, v in values.items()}, indent=2)


OUTPUTS = terraform_json({**SETTINGS, **OTHERS})


def default_path(tmp_path: Path) -> Path:
    return tmp_path / "config" / "breakglass" / "config.toml"  # XDG_CONFIG_HOME is tmp_path/config


def test_writes_every_setting_output_from_standard_input(cli, tmp_path: Path):
    run = cli("config", "from-terraform", "-", input=OUTPUTS)
    assert run.exit_code == 0, run.stderr
    path = default_path(tmp_path)
    assert run.stdout == f"wrote {path}: {', '.join(k for k in Settings.model_fields if k in SETTINGS)}\n"
    with path.open("rb") as handle:
        assert tomllib.load(handle) == SETTINGS
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_settings()
    assert loaded.rotate_users == SETTINGS["rotate_users"] and loaded.store == SETTINGS["store"]


def test_reads_a_file_and_writes_where_config_says(cli, tmp_path: Path):
    source, target = tmp_path / "outputs.json", tmp_path / "elsewhere" / "bg.toml"
    source.write_text(OUTPUTS)
    run = cli("config", "from-terraform", str(source), "--config", str(target), "--output", "json")
    assert run.exit_code == 0, run.stderr
    assert run.json() == {"config": str(target), "settings": SETTINGS, "replaced": False}
    assert load_settings(target).alert_regions == ["eu-west-1"]
    assert not default_path(tmp_path).exists()


def test_print_writes_nothing(cli, tmp_path: Path):
    run = cli("config", "from-terraform", "--print", input=OUTPUTS)
    assert run.exit_code == 0, run.stderr
    assert run.stdout.startswith("# Written by `breakglass config from-terraform`")
    assert tomllib.loads(run.stdout) == SETTINGS
    assert not default_path(tmp_path).exists()


def test_an_existing_file_is_kept_unless_forced(cli, tmp_path: Path):
    path = default_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text('requester_name = "alice"\n')
    run = cli("config", "from-terraform", "-", input=OUTPUTS)
    assert run.exit_code == 4
    assert one_line(run.stderr) == (
        f"error: {path} exists: not overwritten "
        "(hint: add --force to replace it, or --print to see the settings without writing)"
    )
    assert path.read_text() == 'requester_name = "alice"\n'
    forced = cli("config", "from-terraform", "-", "--force", input=OUTPUTS)
    assert forced.exit_code == 0 and forced.stdout.startswith(f"replaced {path}: ")
    assert tomllib.loads(path.read_text()) == SETTINGS


def test_bad_json_is_one_line_exit_2(cli, tmp_path: Path):
    run = cli("config", "from-terraform", "-", input='{"store": ')
    assert run.exit_code == 2
    assert one_line(run.stderr).startswith("error: standard input is not JSON (line 1, column 11: ")
    assert not default_path(tmp_path).exists()


def test_bad_inputs_exit_2_with_one_line(cli, tmp_path: Path):
    cases = [
        (["missing.json"], None, "error: cannot read missing.json: No such file or directory"),
        (["-"], json.dumps({"store": "dynamodb://t"}), "is not the JSON of `terraform output -json`"),
        (["-"], terraform_json(OTHERS), "error: no output is named like a setting of the tool"),
        (["-"], terraform_json({"store": "relative/journal.db"}), "error: output 'store' is not a valid setting"),
        (["-"], terraform_json({"rotate_users": "breakglass-1"}), "error: output 'rotate_users' is not a valid"),
    ]
    for args, given_input, fragment in cases:
        run = cli("config", "from-terraform", *args, input=given_input or "")
        assert run.exit_code == 2, (args, run.stderr)
        assert fragment in one_line(run.stderr), run.stderr
    assert not default_path(tmp_path).exists()


# --- the TOML written by hand: read back exactly -------------------------------------------------

texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
values = st.one_of(
    texts,
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.lists(texts, max_size=5),
)


@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True), values, max_size=8))
def test_tomllib_reads_back_exactly_what_was_written(written: dict[str, object]):
    assert tomllib.loads(to_toml(written)) == written


def test_special_floats_and_escapes():
    tricky = {"a": 'quote " back \\ tab \t nl \n del \x7f nul \x00 é 🚨', "b": math.inf, "c": -math.inf, "d": []}
    assert tomllib.loads(to_toml(tricky)) == tricky
    assert math.isnan(tomllib.loads(to_toml({"n": math.nan}))["n"])
