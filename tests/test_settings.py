"""Settings precedence: flag > environment > file > default; unknown keys are errors."""

from __future__ import annotations

import pytest

from breakglass_aws.errors import ConfigError
from breakglass_aws.settings import load_settings


def write(tmp_path, text):
    path = tmp_path / "bg.toml"
    path.write_text(text)
    return path


def test_defaults(tmp_path):
    s = load_settings(None, environ={"XDG_CONFIG_HOME": str(tmp_path)})
    assert (s.output, s.default_ttl, s.max_ttl, s.retry_mode, s.max_attempts) == ("text", "1h", "24h", "standard", 5)


def test_file_then_env_then_flag(tmp_path):
    path = write(tmp_path, 'region = "eu-west-1"\noutput = "json"\ndefault_ttl = "2h"\n')
    assert load_settings(path, environ={}).region == "eu-west-1"
    env = {"BREAKGLASS_REGION": "eu-central-1"}
    assert load_settings(path, environ=env).region == "eu-central-1"
    merged = load_settings(path, {"region": "ap-south-1"}, environ=env)
    assert merged.region == "ap-south-1"
    assert merged.output == "json" and merged.default_ttl == "2h"


def test_flag_none_does_not_override(tmp_path):
    path = write(tmp_path, 'output = "json"\n')
    assert load_settings(path, {"output": None}, environ={}).output == "json"


def test_config_path_from_env(tmp_path):
    path = write(tmp_path, 'max_ttl = "4h"\n')
    assert load_settings(None, environ={"BREAKGLASS_CONFIG": str(path)}).max_ttl == "4h"


def test_default_file_location(tmp_path):
    path = tmp_path / "breakglass" / "config.toml"
    path.parent.mkdir()
    path.write_text("max_attempts = 7\n")
    assert load_settings(None, environ={"XDG_CONFIG_HOME": str(tmp_path)}).max_attempts == 7


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('regoin = "us-east-1"\n', "unknown key 'regoin'"),
        ("[scp]\nttl = 1\n", "unknown key 'scp'"),
        ('retry_mode = "legacy"\n', "'retry_mode'"),
        ("read_timeout = -1\n", "'read_timeout'"),
        ('default_ttl = "1 hour"\n', "'default_ttl'"),
    ],
)
def test_invalid_file(tmp_path, text, fragment):
    with pytest.raises(ConfigError, match=fragment) as info:
        load_settings(write(tmp_path, text), environ={})
    assert info.value.exit_code == 5
    assert info.value.remediation


def test_store_path(tmp_path):
    s = load_settings(write(tmp_path, f'store = "sqlite://{tmp_path}/j.db"\n'), environ={})
    assert s.store_path() == tmp_path / "j.db"
