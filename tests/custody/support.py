"""Custodians with age identities, custody configured through the environment, and readers of
what a custody rotation leaves in Secrets Manager."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import boto3
from pyrage import x25519

from tests.support.rotation import SECRET, USER

NAMES = ("alice", "bob", "carol")


@dataclass
class Custodians:
    folder: Path

    def identity(self, name: str) -> Path:
        return self.folder / f"{name}.key"


def configure(monkeypatch, tmp_path: Path, threshold: int = 2, names=NAMES) -> Custodians:
    folder = tmp_path / "keys"
    folder.mkdir()
    entries = []
    for name in names:
        identity = x25519.Identity.generate()
        (folder / f"{name}.key").write_text(f"# {name}\n{identity}\n")
        entries.append(f"{name}={identity.to_public()}")
    monkeypatch.setenv("BREAKGLASS_CUSTODY_THRESHOLD", str(threshold))
    monkeypatch.setenv("BREAKGLASS_CUSTODIANS", json.dumps(entries))
    return Custodians(folder)


def main_secret(sm, stage="AWSCURRENT") -> dict:
    return json.loads(sm.get_secret_value(SecretId=SECRET, VersionStage=stage)["SecretString"])


def share_secret(sm, name: str) -> dict:
    return json.loads(sm.get_secret_value(SecretId=f"{SECRET}/custody/{name}")["SecretString"])


def share_of(cli, custodians: Custodians, name: str) -> str:
    run = cli("custody", "share", "--user", USER, "--identity", str(custodians.identity(name)))
    assert run.exit_code == 0, run.stderr
    return run.stdout.strip()


def open_print(cli, *blobs: str):
    args = [a for blob in blobs for a in ("--share", blob)]
    return cli("custody", "open", "--user", USER, "--print", *args)


def caller_arn(creds: dict) -> str:
    sts = boto3.client(
        "sts",
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
    )
    return sts.get_caller_identity()["Arn"]
