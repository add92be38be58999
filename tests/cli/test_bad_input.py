"""Malformed invocations: documented exit code, one-line message, no traceback, no AWS call, no change."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.reliability

VALID_ID = "bg-20260101-000000-abcdef"
TARGET = "111111111111"


def _detach(*extra: str) -> list[str]:
    return ["scp", "detach", "--target", TARGET, "--reason", "INC-1", "--yes", *extra]


CASES = [
    # (name, argv, config file text or None, env, exit code, fragment)
    ("short account id", ["scp", "detach", "--target", "12345", "--reason", "x"], None, {}, 2, "invalid target"),
    ("bad ou id", ["scp", "detach", "--target", "ou-bad", "--reason", "x"], None, {}, 2, "invalid target"),
    ("bare root prefix", ["scp", "detach", "--target", "r-", "--reason", "x"], None, {}, 2, "invalid target"),
    (
        "arn as target",
        ["scp", "detach", "--target", "arn:aws:iam::111111111111:root", "--reason", "x"],
        None,
        {},
        2,
        "invalid target",
    ),
    ("missing reason", ["scp", "detach", "--target", TARGET], None, {}, 2, "--reason is required"),
    ("blank reason", ["scp", "detach", "--target", TARGET, "--reason", "   "], None, {}, 2, "--reason is required"),
    ("multi-line reason", ["scp", "detach", "--target", TARGET, "--reason", "a\nb"], None, {}, 2, "one line"),
    ("missing target", ["scp", "detach", "--reason", "x"], None, {}, 2, "--target is required"),
    ("ttl garbage", _detach("--ttl", "soon"), None, {}, 2, "invalid --ttl"),
    ("ttl zero", _detach("--ttl", "0m"), None, {}, 2, "must be positive"),
    ("ttl negative", _detach("--ttl", "-5m"), None, {}, 2, "invalid --ttl"),
    ("ttl above max", _detach("--ttl", "48h"), None, {}, 2, "above the configured maximum 24h"),
    ("ttl absurdly long", _detach("--ttl", "99999999999999999d"), None, {}, 2, "longer than a year"),
    ("config max_ttl absurdly long", ["list"], 'max_ttl = "99999999999999999d"\n', {}, 5, "'max_ttl'"),
    ("ttl above configured max", _detach("--ttl", "3h"), 'max_ttl = "2h"\n', {}, 2, "maximum 2h"),
    ("bad policy id", _detach("--policy", "x-123"), None, {}, 2, "invalid policy id"),
    ("detach FullAWSAccess", _detach("--policy", "p-FullAWSAccess"), None, {}, 2, "refusing to detach"),
    ("bad ticket", _detach("--ticket", "two words"), None, {}, 2, "invalid ticket"),
    ("root without allow-root", ["scp", "detach", "--target", "r-ab12", "--reason", "x"], None, {}, 4, "--allow-root"),
    ("bad output", ["list", "--output", "yaml"], None, {}, 2, "invalid --output"),
    ("bad region", ["list", "--region", "moon-1"], None, {}, 2, "invalid region"),
    ("unknown option", ["scp", "detach", "--targte", TARGET], None, {}, 2, "No such option"),
    ("unknown command", ["detonate"], None, {}, 2, "No such command"),
    ("malformed incident id", ["scp", "restore", "bg-nope"], None, {}, 2, "invalid incident id"),
    ("unknown incident", ["scp", "restore", VALID_ID], None, {}, 2, "no incident"),
    ("show unknown incident", ["show", VALID_ID], None, {}, 2, "no incident"),
    ("verify unknown incident", ["journal", "verify", VALID_ID], None, {}, 2, "no incident"),
    ("restore id and expired", ["restore", VALID_ID, "--expired"], None, {}, 2, "either an INCIDENT_ID"),
    ("restore nothing", ["restore"], None, {}, 2, "either an INCIDENT_ID"),
    ("list limit zero", ["list", "--limit", "0"], None, {}, 2, "--limit"),
    ("list limit not a number", ["list", "--limit", "many"], None, {}, 2, "Invalid value for '--limit'"),
    ("missing config file", ["--config", "/nonexistent/breakglass.toml", "list"], None, {}, 5, "does not exist"),
    ("unknown config key", ["list"], 'defualt_ttl = "1h"\n', {}, 5, "unknown key 'defualt_ttl'"),
    ("config not toml", ["list"], "this is = = not toml\n", {}, 5, "not valid TOML"),
    ("config bad value", ["list"], "max_attempts = 0\n", {}, 5, "'max_attempts'"),
    ("config bad duration", ["list"], 'max_ttl = "forever"\n', {}, 5, "'max_ttl'"),
    ("config bad region", ["list"], 'region = "mars"\n', {}, 5, "'region'"),
    ("config wrong type", ["list"], "output = 3\n", {}, 5, "'output'"),
    ("env typo", ["list"], None, {"BREAKGLASS_DEFAULT_TLL": "1h"}, 5, "BREAKGLASS_DEFAULT_TLL"),
    ("env bad value", ["list"], None, {"BREAKGLASS_RETRY_MODE": "yolo"}, 5, "'retry_mode'"),
    (
        "unknown profile",
        ["--profile", "nope", "scp", "detach", "--target", TARGET, "--reason", "x"],
        None,
        {},
        5,
        "profile 'nope' not found",
    ),
]


@pytest.mark.parametrize(("name", "argv", "config", "env", "code", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_input(org, cli, tmp_path, monkeypatch, name, argv, config, env, code, fragment):
    if config is not None:
        path = tmp_path / "config" / "breakglass" / "config.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    before = org.snapshot()
    calls: list[str] = []
    run = cli(*argv, hooks=[("before-call", lambda model=None, **_: calls.append(model.name))])
    assert run.exit_code == code, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and "hint:" in lines[0]
    assert fragment in lines[0]
    assert "Traceback" not in run.stderr + run.stdout
    assert calls == [], "no AWS call before input is validated"
    assert org.snapshot() == before


def test_config_file_that_is_not_utf8(org, cli, tmp_path):
    path = tmp_path / "config" / "breakglass" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'reason = "caf\xe9"\n')
    before = org.snapshot()
    run = cli("list")
    assert run.exit_code == 5, run.stderr
    expected = f"error: config file {path} is not UTF-8 text (hint: save it as UTF-8 TOML)"
    assert run.stderr.strip().splitlines() == [expected]
    assert org.snapshot() == before


def test_bad_input_json_error_shape(org, cli):
    run = cli("scp", "detach", "--target", "12", "--reason", "x", "--output", "json")
    assert run.exit_code == 2
    assert run.json() == {
        "error": "usage",
        "exit_code": 2,
        "message": "invalid target '12'",
        "remediation": "use a 12-digit account id, an OU id (ou-xxxx-xxxxxxxx) or a root id (r-xxxx)",
    }
