"""Rotation of break-glass credentials into Secrets Manager, alone and inside close."""

from __future__ import annotations

import string

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breakglass_aws.rotation import SYMBOLS, PasswordPolicy, generate_password
from tests.support.rotation import USER, keys, make_user, secret


def console_password(user=USER):
    """The login-profile password as moto's IAM backend holds it (None: no login profile)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    return iam_backends[DEFAULT_ACCOUNT_ID]["aws"].get_user(user).password


STRONG = {
    "MinimumPasswordLength": 40,
    "RequireSymbols": True,
    "RequireNumbers": True,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
}


@pytest.mark.parametrize(("existing", "inactive"), [(0, 0), (1, 0), (2, 1), (2, 0)])
@pytest.mark.parametrize("login", [True, False])
@pytest.mark.parametrize("policy", [None, STRONG])
def test_rotation(aws_clients, cli, existing, inactive, login, policy):
    iam, sm = aws_clients
    old = make_user(iam, sm, existing, inactive, login, policy)
    run = cli("rotate", "--user", USER, "--output", "json")
    assert run.exit_code == 0, run.stderr
    current = secret(sm)
    assert keys(iam) == {current["access_key_id"]: "Active"}
    assert current["access_key_id"] not in old
    assert secret(sm, "AWSPREVIOUS") == {"note": "initial"}
    assert current["user"] == USER and current["rotated_at"] and current["incident"] == run.json()["incident_id"]
    assert run.json()["new_key_id"] == current["access_key_id"]
    assert sorted(run.json()["deleted_keys"]) == sorted(old)
    assert run.json()["password_reset"] is login
    if login:
        assert current["password"] == console_password() != "Old-passw0rd!"
        assert len(current["password"]) >= (40 if policy else 14)
        assert current["password"] not in run.stdout + run.stderr
    else:
        assert "password" not in current, "no login profile: no password in the secret"
        assert console_password() is None
    assert current["secret_access_key"] not in run.stdout + run.stderr


def test_new_key_really_works(aws_clients, cli):
    iam, sm = aws_clients
    make_user(iam, sm, 1)
    assert cli("rotate", "--user", USER).exit_code == 0
    stored = secret(sm)
    sts = boto3.client(
        "sts",
        region_name="us-east-1",
        aws_access_key_id=stored["access_key_id"],
        aws_secret_access_key=stored["secret_access_key"],
    )
    assert sts.get_caller_identity()["Arn"].endswith(f":user/{USER}")


def test_dry_run_changes_nothing(aws_clients, cli):
    iam, sm = aws_clients
    old = make_user(iam, sm, 2, 1, login=True)
    run = cli("rotate", "--user", USER, "--dry-run")
    assert run.exit_code == 0, run.stderr
    assert "dry run" in run.stdout and "create a new access key" in run.stdout
    assert f"delete access key {old[0]}" in run.stdout
    assert set(keys(iam)) == set(old) and secret(sm) == {"note": "initial"}
    assert cli("list", "--output", "json").json() == []


def test_no_password_leaves_login_profile(aws_clients, cli):
    iam, sm = aws_clients
    make_user(iam, sm, 1, login=True)
    run = cli("rotate", "--user", USER, "--no-password", "--output", "json")
    assert run.exit_code == 0 and run.json()["password_reset"] is False
    assert console_password() == "Old-passw0rd!"
    assert "password" not in secret(sm), "the previous secret had no password: none is invented"


def test_no_password_keeps_the_console_password_in_the_secret(aws_clients, cli):
    iam, sm = aws_clients
    make_user(iam, sm, 1, login=True)
    assert cli("rotate", "--user", USER).exit_code == 0
    first = secret(sm)
    assert first["password"] == console_password()
    run = cli("rotate", "--user", USER, "--no-password", "--output", "json")
    assert run.exit_code == 0, run.stderr
    current = secret(sm)
    assert current["access_key_id"] != first["access_key_id"]
    assert current["password"] == first["password"] == console_password()
    assert secret(sm, "AWSPREVIOUS")["access_key_id"] == first["access_key_id"]


def test_two_active_keys_keep_the_key_in_the_secret(aws_clients, cli):
    """The 2-key limit makes room by deleting the key that is NOT the break-glass key in use."""
    iam, sm = aws_clients
    make_user(iam, sm, 0)
    assert cli("rotate", "--user", USER).exit_code == 0
    in_secret = secret(sm)["access_key_id"]
    stray = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]  # newer, not in the secret
    plan = cli("rotate", "--user", USER, "--dry-run", "--output", "json").json()["steps"]
    assert plan[:3] == [
        f"deactivate access key {stray} of {USER}",
        f"delete access key {stray} of {USER}",
        "create a new access key of " + USER,
    ]
    calls: list[tuple[str, str]] = []

    def seen(params=None, model=None, **_):
        if model.name in ("DeleteAccessKey", "CreateAccessKey"):
            calls.append((model.name, params.get("AccessKeyId", "")))

    run = cli("rotate", "--user", USER, "--output", "json", hooks=[("before-parameter-build.iam", seen)])
    assert run.exit_code == 0, run.stderr
    assert run.json()["verified"]["active_key_id"] == secret(sm)["access_key_id"]
    assert run.json()["verified"]["old_keys_gone"] == sorted([stray, in_secret])
    assert calls[:2] == [("DeleteAccessKey", stray), ("CreateAccessKey", "")], "the stray key makes room"
    assert keys(iam) == {secret(sm)["access_key_id"]: "Active"}
    assert sorted(run.json()["deleted_keys"]) == sorted([stray, in_secret])


@pytest.mark.parametrize(
    ("argv", "code", "fragment"),
    [
        (["rotate", "--user", "nobody"], 2, "nobody"),
        (["rotate", "--user", USER, "--secret-id", "missing/secret"], 2, "secret 'missing/secret' not found"),
        (["rotate", "--user", "bad user"], 2, "invalid IAM user name"),
        (["rotate", "--user", USER, "--secret-id", "bad secret!"], 2, "invalid secret id"),
        (["rotate"], 2, "--user is required"),
    ],
)
def test_rotation_bad_input(aws_clients, cli, argv, code, fragment):
    iam, sm = aws_clients
    old = make_user(iam, sm, 1)
    run = cli(*argv)
    assert run.exit_code == code, run.stderr
    assert fragment in run.stderr
    assert len(run.stderr.strip().splitlines()) <= 2, run.stderr
    assert set(keys(iam)) == set(old) and secret(sm) == {"note": "initial"}
    assert cli("list", "--output", "json").json() == [], "bad input leaves no rotation incident behind"
    again = cli("rotate", "--user", USER, "--output", "json")
    assert again.exit_code == 0 and again.json()["resumed"] is False


@settings(max_examples=200, deadline=None)
@given(
    length=st.integers(min_value=6, max_value=128),
    symbols=st.booleans(),
    numbers=st.booleans(),
    upper=st.booleans(),
    lower=st.booleans(),
)
def test_generated_password_satisfies_policy(length, symbols, numbers, upper, lower):
    policy = PasswordPolicy(
        minimum_length=length,
        require_symbols=symbols,
        require_numbers=numbers,
        require_uppercase=upper,
        require_lowercase=lower,
    )
    password = generate_password(policy)
    assert len(password) >= max(length, 8)
    assert any(c in SYMBOLS for c in password)
    assert any(c in string.digits for c in password)
    assert any(c in string.ascii_uppercase for c in password)
    assert any(c in string.ascii_lowercase for c in password)
    assert all(c in string.ascii_letters + string.digits + SYMBOLS for c in password)


def test_secret_scan_rotation_at_debug(aws_clients, cli, tmp_path, capfd):
    iam, sm = aws_clients
    make_user(iam, sm, keys=2, inactive=1, login=True)
    first = cli("-vv", "rotate", "--user", USER)
    first_secret = secret(sm)
    second = cli("-vv", "rotate", "--user", USER, "--output", "json")
    outputs = [first, second, cli("-vv", "list"), cli("show", second.json()["incident_id"], "--output", "json")]
    captured = capfd.readouterr()
    texts = [r.stdout + r.stderr for r in outputs] + [captured.out, captured.err]
    blobs = [p.read_bytes() for p in (tmp_path / "state" / "breakglass").iterdir()]
    for value in (
        first_secret["secret_access_key"],
        first_secret["password"],
        secret(sm)["secret_access_key"],
        secret(sm)["password"],
    ):
        assert all(value not in t for t in texts)
        assert all(value.encode() not in b for b in blobs)
    assert "aws iam:CreateAccessKey" in first.stderr
