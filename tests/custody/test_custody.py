"""Custody of the glass: every rotation seals the credentials for k of n custodians."""

from __future__ import annotations

import base64
import json

import pytest

from breakglass_aws.custody.blob import ShareBlob, parse_blob
from tests.custody.support import NAMES, caller_arn, configure, main_secret, open_print, share_of, share_secret
from tests.rotation.test_rotation import console_password
from tests.support.rotation import USER, keys, make_user


@pytest.fixture
def custodians(monkeypatch, tmp_path):
    return configure(monkeypatch, tmp_path)


def test_k_shares_open_the_rotated_credentials(aws_clients, cli, custodians, store_env):
    iam, sm = aws_clients
    make_user(iam, sm, keys=1, login=True)
    run = cli("rotate", "--user", USER, "--output", "json")
    assert run.exit_code == 0, run.stderr
    stored = main_secret(sm)
    assert "secret_access_key" not in stored and "password" not in stored
    doc = stored["custody"]
    assert doc["threshold"] == 2 and sorted(doc["custodians"]) == sorted(NAMES)
    for name in NAMES:
        held = share_secret(sm, name)
        assert held["rotation_id"] == stored["rotation_id"] == doc["rotation_id"]
    opened = open_print(cli, share_of(cli, custodians, "alice"), share_of(cli, custodians, "carol"))
    assert opened.exit_code == 0, opened.stderr
    creds = json.loads(opened.stdout)
    assert keys(iam) == {creds["AccessKeyId"]: "Active"} and creds["AccessKeyId"] == stored["access_key_id"]
    assert caller_arn(creds).endswith(f":user/{USER}")
    assert creds["ConsolePassword"] == console_password()
    assert "alice, carol" in opened.stderr


def test_open_without_print_checks_the_key_and_is_journaled(aws_clients, cli, custodians):
    iam, sm = aws_clients
    make_user(iam, sm, keys=1)
    assert cli("rotate", "--user", USER).exit_code == 0
    blobs = "\n".join(share_of(cli, custodians, n) for n in ("bob", "carol")) + "\n"
    opened = cli("custody", "open", "--user", USER, input=blobs)
    assert opened.exit_code == 0, opened.stderr
    assert f":user/{USER}" in opened.stdout and main_secret(sm)["access_key_id"] in opened.stdout
    incident_id = opened.stderr.split(":")[0].strip()
    shown = cli("show", incident_id, "--output", "json").json()
    assert shown["status"] == "active" and "bob, carol" in shown["reason"]
    again = cli("rotate", "--user", USER, "--output", "json")
    assert again.exit_code == 0 and again.json()["incident_id"] == incident_id, "rotating after use ends it"


def test_fewer_than_k_shares_are_refused(aws_clients, cli, custodians):
    make_user(*aws_clients, keys=1)
    assert cli("rotate", "--user", USER).exit_code == 0
    refused = open_print(cli, share_of(cli, custodians, "alice"))
    assert refused.exit_code == 4 and "2 of 3 are needed" in refused.stderr
    twice = open_print(cli, share_of(cli, custodians, "alice"), share_of(cli, custodians, "alice"))
    assert twice.exit_code == 4 and refused.stdout == twice.stdout == ""


def test_a_share_of_the_previous_rotation_is_refused(aws_clients, cli, custodians, store_env):
    make_user(*aws_clients, keys=1)
    assert cli("rotate", "--user", USER).exit_code == 0
    old = share_of(cli, custodians, "alice")
    assert cli("rotate", "--user", USER).exit_code == 0
    refused = open_print(cli, old, share_of(cli, custodians, "bob"))
    assert refused.exit_code == 4 and "not of the current one" in refused.stderr and refused.stdout == ""


def _resealed(text: str, flip: int) -> str:
    """The same share with one byte of its secret part flipped, and a valid checksum (a forger's)."""
    blob = parse_blob(text)
    share = bytearray(blob.share)
    share[flip] ^= 0x01
    return ShareBlob(blob.user, blob.rotation_id, blob.custodian, blob.index, bytes(share)).text()


@pytest.mark.parametrize("flip", [0, 31])
def test_a_tampered_share_is_refused(aws_clients, cli, custodians, flip):
    make_user(*aws_clients, keys=1)
    assert cli("rotate", "--user", USER).exit_code == 0
    alice, bob = share_of(cli, custodians, "alice"), share_of(cli, custodians, "bob")
    forged = open_print(cli, _resealed(alice, flip), bob)
    assert forged.exit_code == 4 and "altered" in forged.stderr and forged.stdout == ""
    typo = alice[:20] + ("A" if alice[20] != "A" else "B") + alice[21:]
    assert open_print(cli, typo, bob).exit_code == 4
    assert open_print(cli, "not-a-share", bob).exit_code == 2


def test_a_tampered_ciphertext_is_refused(aws_clients, cli, custodians):
    iam, sm = aws_clients
    make_user(iam, sm, keys=1)
    assert cli("rotate", "--user", USER).exit_code == 0
    blobs = share_of(cli, custodians, "alice"), share_of(cli, custodians, "bob")
    stored = main_secret(sm)
    raw = bytearray(base64.b64decode(stored["custody"]["ciphertext"]))
    raw[-1] ^= 0x80
    stored["custody"]["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    sm.put_secret_value(SecretId=f"breakglass/{USER}", SecretString=json.dumps(stored))
    refused = open_print(cli, *blobs)
    assert refused.exit_code == 4 and "altered" in refused.stderr and refused.stdout == ""


def test_a_replaced_stored_share_is_refused(aws_clients, cli, custodians):
    iam, sm = aws_clients
    make_user(iam, sm, keys=1)
    assert cli("rotate", "--user", USER).exit_code == 0
    bob = share_secret(sm, "bob")
    sm.put_secret_value(SecretId=f"breakglass/{USER}/custody/alice", SecretString=json.dumps(bob))
    refused = cli("custody", "share", "--user", USER, "--identity", str(custodians.identity("alice")))
    assert refused.exit_code == 4 and refused.stdout == ""


def test_no_custody_configured_keeps_one_secret(aws_clients, cli):
    iam, sm = aws_clients
    make_user(iam, sm, keys=1)
    assert cli("rotate", "--user", USER).exit_code == 0
    assert "secret_access_key" in main_secret(sm) and "custody" not in main_secret(sm)
    assert cli("custody", "open", "--user", USER, "--share", "x").exit_code in (2, 5)


def test_bad_custody_settings_are_refused(aws_clients, cli, monkeypatch):
    make_user(*aws_clients, keys=1)
    monkeypatch.setenv("BREAKGLASS_CUSTODY_THRESHOLD", "2")
    monkeypatch.setenv("BREAKGLASS_CUSTODIANS", json.dumps(["alice=age1notakey"]))
    assert cli("rotate", "--user", USER).exit_code == 5
