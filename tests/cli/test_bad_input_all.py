"""The bad-input corpus across every command: ids, ARNs, codes, durations, formats, wrong-mode and
finished incidents, a corrupted state file and a tampered journal. Each gets its documented exit
code and a one-line error with a hint, no traceback, and no AWS mutation."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ACCOUNT

BAD = "bg-nope"
UNKNOWN = "bg-20261201-000000-abcdef"
READ_ONLY = ("Get", "List", "Describe", "Lookup", "Head")  # reads a bad input may still need


def _state(tmp_path: Path) -> Path:
    return tmp_path / "state" / "breakglass" / "journal.sqlite3"


def _scp(org: Any, cli: Any, _tmp: Path) -> str:
    org.attach(org.new_policy("Deny"), org.account)
    run = cli("scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json")
    assert run.exit_code == 0, run.stderr
    return str(run.json()["incident_id"])


def _closed(org: Any, cli: Any, tmp: Path) -> str:
    incident_id = _scp(org, cli, tmp)
    assert cli("scp", "restore", incident_id).exit_code == 0
    return incident_id


def _role(_org: Any, cli: Any, _tmp: Path) -> str:
    run = cli("role", "assume", "--account", ACCOUNT, "--reason", "x", "--format", "json")
    assert run.exit_code == 0, run.stderr
    return str(json.loads(run.stdout)["incident_id"])


def _closed_role(org: Any, cli: Any, tmp: Path) -> str:
    incident_id = _role(org, cli, tmp)
    assert cli("close", incident_id, "--yes").exit_code == 0
    return incident_id


def _garbage_db(_org: Any, _cli: Any, tmp: Path) -> str:
    _state(tmp).parent.mkdir(parents=True, exist_ok=True)
    _state(tmp).write_bytes(b"this is not a database" * 100)
    return ""


def _tampered(org: Any, cli: Any, tmp: Path) -> str:
    incident_id = _closed(org, cli, tmp)
    db = sqlite3.connect(_state(tmp))
    row = db.execute("SELECT body FROM incidents WHERE incident_id=?", (incident_id,)).fetchone()
    body = json.loads(row[0]) | {"status": "active", "closed_at": None}
    db.execute("UPDATE incidents SET body=? WHERE incident_id=?", (json.dumps(body), incident_id))
    db.commit()
    db.close()
    return incident_id


SETUPS: dict[str, Callable[[Any, Any, Path], str]] = {
    "scp": _scp,
    "closed": _closed,
    "role": _role,
    "closed-role": _closed_role,
    "garbage-db": _garbage_db,
    "tampered": _tampered,
}
CASES: list[tuple[str, str | None, list[str], int, str]] = [
    # (name, setup, argv, code, fragment)
    ("approve malformed id", None, ["approve", BAD], 2, "invalid incident id"),
    ("approve unknown", None, ["approve", UNKNOWN], 2, "no incident"),
    ("approve active incident", "scp", ["approve", "{scp}"], 2, "is active: nothing to approve"),
    ("approve closed incident", "closed", ["approve", "{closed}"], 2, "is closed: nothing to approve"),
    ("deny malformed id", None, ["deny", BAD], 2, "invalid incident id"),
    ("deny unknown", None, ["deny", UNKNOWN], 2, "no incident"),
    ("deny active incident", "scp", ["deny", "{scp}"], 2, "only a request can be denied"),
    ("activate malformed id", None, ["activate", BAD], 2, "invalid incident id"),
    ("activate unknown", None, ["activate", UNKNOWN], 2, "no incident"),
    ("activate active incident", "scp", ["activate", "{scp}"], 2, "cannot be activated"),
    ("activate bad token code", "scp", ["activate", "{scp}", "--token-code", "12ab56"], 2, "cannot be activated"),
    ("activate bad format", "scp", ["activate", "{scp}", "--format", "yaml"], 2, "invalid --format 'yaml'"),
    ("exec malformed id", None, ["exec", BAD, "--", "true"], 2, "invalid incident id"),
    ("exec unknown", None, ["exec", UNKNOWN, "--", "true"], 2, "no incident"),
    ("exec scp incident", "scp", ["exec", "{scp}", "--", "true"], 2, "is a scp incident"),
    ("exec closed role incident", "closed-role", ["exec", "{closed_role}", "--", "true"], 2, "is closed"),
    ("exec no command", "role", ["exec", "{role}"], 2, "no command given"),
    ("exec bad token code", "role", ["exec", "{role}", "--token-code", "1", "--", "true"], 2, "exactly 6 digits"),
    ("watch since garbage", None, ["watch", "--since", "lately"], 2, "invalid --since 'lately'"),
    ("watch since too far", None, ["watch", "--since", "100d"], 2, "at most 90 days"),
    ("check bad account", None, ["check", "--account", "12"], 2, "invalid target '12'"),
    ("drill nothing", None, ["drill"], 2, "give either --account SANDBOX_ID or --sandbox"),
    ("drill bad account", None, ["drill", "--account", "abc"], 2, "invalid target 'abc'"),
    (
        "drill bad scp target",
        None,
        ["drill", "--account", "123456789012", "--scp-target", "ou-x"],
        2,
        "invalid target 'ou-x'",
    ),
    ("drill bad token", None, ["drill", "--account", "123456789012", "--token-code", "99"], 2, "exactly 6 digits"),
    ("rotate bad user name", None, ["rotate", "--user", "bad user!"], 2, "invalid IAM user name"),
    ("rotate unknown user", None, ["rotate", "--user", "nosuch"], 2, "IAM user 'nosuch' not found"),
    (
        "rotate bad secret id",
        None,
        ["rotate", "--user", "bg", "--secret-id", "has spaces in it"],
        2,
        "invalid secret id",
    ),
    ("collect malformed id", None, ["evidence", "collect", BAD], 2, "invalid incident id"),
    ("collect unknown", None, ["evidence", "collect", UNKNOWN], 2, "no incident"),
    (
        "collect upload not s3",
        "closed",
        ["evidence", "collect", "{closed}", "--upload", "https://x/y"],
        2,
        "invalid S3 URL",
    ),
    (
        "collect retain zero",
        "closed",
        ["evidence", "collect", "{closed}", "--upload", "s3://b/p", "--retain-days", "0"],
        2,
        "--retain-days must be 1 to 36500",
    ),
    (
        "collect lock mode",
        "closed",
        ["evidence", "collect", "{closed}", "--upload", "s3://b/p", "--lock-mode", "FOREVER"],
        2,
        "invalid --lock-mode 'FOREVER'",
    ),
    (
        "collect lookup region",
        "closed",
        ["evidence", "collect", "{closed}", "--lookup-region", "moon-1"],
        2,
        "invalid region 'moon-1'",
    ),
    ("verify missing bundle", None, ["evidence", "verify", "/nonexistent/bundle"], 2, "is not a folder"),
    ("verify bad sha", None, ["evidence", "verify", "/tmp", "--expect-sha256", "abc"], 2, "must be 64 hex digits"),
    ("revoke bad account", None, ["role", "revoke-sessions", "--account", "1234"], 2, "invalid account id '1234'"),
    ("revoke bad arn", None, ["role", "revoke-sessions", "--role-arn", "arn:aws:iam::x:role/y"], 2, "invalid role ARN"),
    (
        "revoke both targets",
        None,
        ["role", "revoke-sessions", "--account", "123456789012", "--role-arn", "arn:aws:iam::123456789012:role/B"],
        2,
        "exactly one of --account or --role-arn",
    ),
    (
        "revoke before garbage",
        None,
        ["role", "revoke-sessions", "--account", "123456789012", "--before", "yesterday"],
        2,
        "invalid timestamp 'yesterday'",
    ),
    (
        "assume bad account",
        None,
        ["role", "assume", "--account", "12345678901x", "--reason", "x"],
        2,
        "invalid account id",
    ),
    (
        "assume bad arn",
        None,
        ["role", "assume", "--role-arn", "arn:aws:s3:::bucket", "--reason", "x"],
        2,
        "invalid role ARN",
    ),
    ("assume no reason", None, ["role", "assume", "--account", "123456789012"], 2, "--reason is required"),
    (
        "assume duration zero",
        None,
        ["role", "assume", "--account", "123456789012", "--reason", "x", "--duration", "0s"],
        2,
        "must be positive",
    ),
    (
        "assume duration absurd",
        None,
        ["role", "assume", "--account", "123456789012", "--reason", "x", "--duration", "99h"],
        2,
        "between 15m and 12h",
    ),
    (
        "assume bad format",
        None,
        ["role", "assume", "--account", "123456789012", "--reason", "x", "--format", "yaml"],
        2,
        "invalid --format 'yaml'",
    ),
    (
        "assume bad token",
        None,
        [
            "role",
            "assume",
            "--account",
            "123456789012",
            "--reason",
            "x",
            "--mfa-serial",
            "arn:aws:iam::123456789012:mfa/a",
            "--token-code",
            "abcdef",
        ],
        2,
        "exactly 6 digits",
    ),
    ("close malformed", None, ["close", BAD], 2, "invalid incident id"),
    ("close unknown", None, ["close", UNKNOWN, "--yes"], 2, "no incident"),
    ("restore role incident", "role", ["scp", "restore", "{role}"], 2, "is a role incident"),
    ("sync offline on a local store", None, ["--offline-store", "sync"], 2, "`sync` needs the shared store"),
    ("corrupted state file", "garbage-db", ["list"], 5, "file is not a database"),
    ("tampered journal", "tampered", ["journal", "verify", "{closed}"], 4, "tampered"),
]


@pytest.mark.parametrize(("name", "setup", "argv", "code", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_everywhere(org, iam, cli, tmp_path, name, setup, argv, code, fragment):
    made = {setup: SETUPS[setup](org, cli, tmp_path)} if setup else {}
    if setup == "tampered":
        made["closed"] = made["tampered"]
    names = {k.replace("-", "_"): v for k, v in made.items()}
    argv = [a.format(**names) if "{" in a else a for a in argv]
    before = org.snapshot()
    calls: list[str] = []
    run = cli(*argv, hooks=[("before-call", lambda model=None, **_: calls.append(model.name))])
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.exit_code == code, run.stderr
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and "hint:" in lines[0], lines[0]
    assert fragment in lines[0]
    assert "Traceback" not in run.stderr + run.stdout
    assert [c for c in calls if not c.startswith(READ_ONLY)] == [], f"an AWS change was attempted: {calls}"
    assert org.snapshot() == before
