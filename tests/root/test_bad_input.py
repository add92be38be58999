"""Bad input to the root commands (the style of tests/cli/test_bad_input_all.py): exit 2, one line
with a hint, no traceback, and not one AWS call: nothing read, nothing changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.root import BUCKET, bucket_policy, locked_bucket

ACCOUNT_ID = "{account}"
QUEUE = "https://sqs.eu-west-1.amazonaws.com/{account}/orders"
FILES = {
    "good.json": json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket", "Resource": "*"}],
        }
    ),
    "empty.json": json.dumps({"Version": "2012-10-17", "Statement": []}),
    "broken.json": '{"Version": "2012-10-17", "Statement": [',
    "list.json": json.dumps([{"Effect": "Allow"}]),
    "nostatement.json": json.dumps({"Version": "2012-10-17"}),
    "big.json": json.dumps({"Statement": [{"Sid": "x" * (20 * 1024)}]}),
    "mid.json": json.dumps({"Statement": [{"Sid": "x" * (9 * 1024)}]}),  # over SQS's 8 KB, under S3's 20 KB
    "latin1.json": b'{"Statement": [], "Sid": "\xe9"}',
}


def bucket(*extra: str, name: str = BUCKET) -> list[str]:
    return ["root", "unlock-bucket", "--account", ACCOUNT_ID, "--bucket", name, "--reason", "x", "--yes", *extra]


def queue(url: str = QUEUE, *extra: str) -> list[str]:
    return ["root", "unlock-queue", "--account", ACCOUNT_ID, "--queue-url", url, "--reason", "x", "--yes", *extra]


CASES: list[tuple[str, list[str], str]] = [
    (
        "account short",
        ["root", "unlock-bucket", "--account", "12", "--bucket", BUCKET, "--reason", "x"],
        "invalid account id '12'",
    ),
    ("account missing", ["root", "unlock-bucket", "--bucket", BUCKET, "--reason", "x"], "--account is required"),
    ("bucket uppercase", bucket(name="Orders_Data"), "invalid bucket name 'Orders_Data'"),
    ("bucket too short", bucket(name="ab"), "invalid bucket name 'ab'"),
    ("bucket too long", bucket(name="a" * 64), "invalid bucket name"),
    ("bucket double dot", bucket(name="my..bucket"), "invalid bucket name 'my..bucket'"),
    ("bucket dash dot", bucket(name="my-.bucket"), "invalid bucket name 'my-.bucket'"),
    ("bucket ip", bucket(name="192.168.1.10"), "S3 reserves this form"),
    ("bucket xn prefix", bucket(name="xn--bucket"), "S3 reserves this form"),
    ("bucket alias suffix", bucket(name="data-s3alias"), "S3 reserves this form"),
    ("bucket newline", bucket(name="orders\ndata"), "--bucket contains a control character"),
    ("bucket missing", ["root", "unlock-bucket", "--account", ACCOUNT_ID, "--reason", "x"], "--bucket is required"),
    ("no reason", ["root", "unlock-bucket", "--account", ACCOUNT_ID, "--bucket", BUCKET], "--reason is required"),
    ("bad ticket", bucket("--ticket", "INC 1"), "invalid ticket reference"),
    ("policy file missing", bucket("--replace-with", "{tmp}/nope.json"), "cannot read --replace-with"),
    ("policy not json", bucket("--replace-with", "{tmp}/broken.json"), "is not valid JSON"),
    ("policy not utf-8", bucket("--replace-with", "{tmp}/latin1.json"), "is not valid JSON"),
    ("policy a list", bucket("--replace-with", "{tmp}/list.json"), "is not a policy: a JSON object with a Statement"),
    ("policy no statement", bucket("--replace-with", "{tmp}/nostatement.json"), "is not a policy"),
    ("policy empty statement", bucket("--replace-with", "{tmp}/empty.json"), "has no statement"),
    ("policy over 20 KB", bucket("--replace-with", "{tmp}/big.json"), "a bucket policy holds at most 20480"),
    ("policy a folder", bucket("--replace-with", "{tmp}"), "cannot read --replace-with"),
    ("queue url http", queue("http://sqs.eu-west-1.amazonaws.com/{account}/orders"), "invalid queue URL"),
    ("queue url global", queue("https://sqs.amazonaws.com/{account}/orders"), "invalid queue URL"),
    ("queue url no name", queue("https://sqs.eu-west-1.amazonaws.com/{account}/"), "invalid queue URL"),
    ("queue url bad region", queue("https://sqs.moon.amazonaws.com/{account}/orders"), "invalid queue URL"),
    ("queue url path", queue("https://sqs.eu-west-1.amazonaws.com/{account}/orders/x"), "invalid queue URL"),
    ("queue url other host", queue("https://sqs.eu-west-1.example.com/{account}/orders"), "invalid queue URL"),
    (
        "queue other account",
        queue("https://sqs.eu-west-1.amazonaws.com/999999999999/orders"),
        "is in account 999999999999",
    ),
    ("queue policy over 8 KB", queue(QUEUE, "--replace-with", "{tmp}/mid.json"), "a queue policy holds at most 8192"),
    ("audit bad account", ["root", "audit", "--account", "abcdefghijkl"], "invalid account id 'abcdefghijkl'"),
    ("delete no reason", ["root", "delete-credentials", "--account", ACCOUNT_ID, "--yes"], "--reason is required"),
    (
        "delete bad account",
        ["root", "delete-credentials", "--account", "1" * 13, "--reason", "x"],
        "invalid account id",
    ),
]


@pytest.mark.parametrize(("name", "argv", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_root_input(ready, cli, journal_store, tmp_path: Path, name, argv, fragment):
    for file_name, content in FILES.items():
        (tmp_path / file_name).write_bytes(content if isinstance(content, bytes) else content.encode())
    lockout = locked_bucket(ready.account)
    before = ready.snapshot()
    argv = [a.replace("{account}", ready.account).replace("{tmp}", str(tmp_path)) for a in argv]
    calls: list[str] = []
    run = cli(*argv, hooks=[("before-call", lambda model=None, **_: calls.append(model.name))])
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.exit_code == 2, run.stderr
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and "hint:" in lines[0], lines[0]
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in run.stderr + run.stdout
    assert calls == [], f"an AWS call was made before the input was checked: {calls}"
    assert journal_store().list_incidents() == []
    assert bucket_policy(ready.account) == lockout and ready.snapshot() == before


def test_a_valid_policy_file_passes_the_same_checks(ready, cli, tmp_path):
    """The control: good.json above is accepted (a dry run reads, changes nothing)."""
    (tmp_path / "good.json").write_text(FILES["good.json"])
    locked_bucket(ready.account)
    argv = bucket("--replace-with", str(tmp_path / "good.json"), "--dry-run", "--region", "eu-west-1")
    run = cli(*[a.replace("{account}", ready.account) for a in argv])
    assert run.exit_code == 0, run.stderr
    assert "put the corrected policy" in run.stdout
