"""Validation that means it: store addresses parsed strictly, the federation endpoint checked as a
parsed address, every id anchored and ASCII-only, control and bidi characters refused in free text.

Each bad input goes through the real command line: its documented exit code, one line
`error: ... (hint: ...)`, no traceback, no AWS call, no incident, no file anywhere (the current
directory above all: a refused store used to become a SQLite file there)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from breakglass_aws.errors import ConfigError, UsageError
from breakglass_aws.settings import load_settings
from breakglass_aws.validate import (
    TableAddress,
    check_text,
    parse_duration,
    parse_store,
    validate_federation_url,
    validate_iam_name,
    validate_incident_id,
    validate_policy_id,
    validate_reason,
    validate_region,
    validate_target,
    validate_ticket,
)
from tests.conftest import ACCOUNT, MFA


def wide(text: str) -> str:
    """ASCII letters and digits in their full-width forms (U+FF01..U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


def arabic(digits: str) -> str:
    """ASCII digits as Arabic-Indic digits (U+0660..U+0669)."""
    return "".join(chr(0x0660 + int(c)) for c in digits)


FULL_WIDTH = wide(ACCOUNT)  # the account id in full-width digits
ARABIC_INDIC = arabic(ACCOUNT)  # and in Arabic-Indic digits
UNKNOWN = "bg-20261201-000000-abcdef"


def _detach(*extra: str, target: str = ACCOUNT, reason: str = "INC-1 SCP blocks rollback") -> list[str]:
    return ["scp", "detach", "--target", target, "--reason", reason, "--yes", *extra]


def _assume(*extra: str, account: str = ACCOUNT, reason: str = "IdP down") -> list[str]:
    return ["role", "assume", "--account", account, "--reason", reason, "--format", "json", *extra]


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _incidents(tmp_path: Path) -> int:
    journal = tmp_path / "state" / "breakglass" / "journal.sqlite3"
    if not journal.exists():
        return 0
    with sqlite3.connect(journal) as db:
        return int(db.execute("SELECT count(*) FROM incidents").fetchone()[0])


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current directory: nothing may land in it."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def _refused(cli: Any, argv: list[str], code: int, fragment: str) -> str:
    calls: list[str] = []
    run = cli(*argv, hooks=[("before-call", lambda model=None, **_: calls.append(model.name))])
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.exit_code == code, run.stderr
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and "(hint: " in lines[0] and lines[0].endswith(")"), lines[0]
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in run.stderr + run.stdout
    assert calls == [], f"an AWS call was made before the input was refused: {calls}"
    return lines[0]


# --- the store setting ----------------------------------------------------------------------

BAD_STORES = [
    # (value, fragment of the line, a suggestion expected in the hint or None)
    ("dynamo://team-table", "unknown scheme 'dynamo:'", "dynamodb://team-table"),
    ("DynamoDB://t", "unknown scheme 'DynamoDB:'", "dynamodb://t"),
    ("dynamodb:/t", "unknown scheme 'dynamodb:'", "dynamodb://t"),
    (" dynamodb://t", "surrounding spaces", "dynamodb://t"),
    ("dynamodb://team-table\n", "surrounding spaces or a control character", "dynamodb://team-table"),
    ("s3://b", "unknown scheme 's3:'", None),
    ("https://x", "unknown scheme 'https:'", None),
    ("journal.sqlite3", "a relative path", None),
    ("./journal.sqlite3", "a relative path", None),
    ("team-table", "a relative path", "dynamodb://team-table"),
    ("sqlite:journal.sqlite3", "unknown scheme 'sqlite:'", None),
    ("sqlite://journal.sqlite3", "sqlite:// takes an absolute path", None),
    ("dynamodb://t", "a DynamoDB table name", None),
    ("dynamodb://team-table/", "a DynamoDB table name", None),
    ("dynamodb://team-table?regoin=eu-west-1", "the only option is ?region=REGION", None),
    ("dynamodb://team-table?region=eu-west-1\u202e", "surrounding spaces or a control character", None),
]


@pytest.mark.parametrize(("value", "fragment", "guess"), BAD_STORES, ids=[repr(s[0]) for s in BAD_STORES])
def test_bad_store_is_refused_before_anything(org, cli, tmp_path, cwd, monkeypatch, value, fragment, guess):
    monkeypatch.setenv("BREAKGLASS_STORE", value)
    before, scps = _files(tmp_path), org.snapshot()
    line = _refused(cli, _detach(), 5, fragment)
    assert "invalid value for 'store'" in line and repr(value) in line
    assert "dynamodb://TABLE" in line and "sqlite:///ABSOLUTE/PATH" in line
    if guess:
        assert f"did you mean {guess!r}?" in line
    assert _files(tmp_path) == before, "a refused store created a file"
    assert list(cwd.iterdir()) == []
    assert org.snapshot() == scps


@pytest.mark.parametrize("argv", [["restore", "--expired"], ["list"], ["scp", "restore", UNKNOWN]])
def test_bad_store_from_the_config_file(org, cli, tmp_path, cwd, argv):
    config = tmp_path / "config" / "breakglass" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('store = "dynamo://team-table"\n')
    before = _files(tmp_path)
    line = _refused(cli, argv, 5, f"{config}: invalid value for 'store'")
    assert "did you mean 'dynamodb://team-table'?" in line
    assert _files(tmp_path) == before and list(cwd.iterdir()) == []


@pytest.mark.parametrize(
    ("form", "file"),
    [
        ("{tmp}/plain.sqlite3", "plain.sqlite3"),
        ("sqlite://{tmp}/url.sqlite3", "url.sqlite3"),
        ("~/home.sqlite3", "home.sqlite3"),
    ],
)
def test_accepted_store_forms_put_the_journal_where_they_say(org, cli, tmp_path, cwd, monkeypatch, form, file):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("BREAKGLASS_STORE", form.format(tmp=tmp_path))
    org.attach(org.new_policy("Deny"), org.account)
    run = cli(*_detach("--output", "json", target=org.account))
    assert run.exit_code == 0, run.stderr
    assert (tmp_path / file).is_file()
    assert list(cwd.iterdir()) == []
    assert cli("scp", "restore", run.json()["incident_id"]).exit_code == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("dynamodb://team-table", TableAddress(table="team-table")),
        ("dynamodb://team.table_1?region=eu-west-1", TableAddress(table="team.table_1", region="eu-west-1")),
        (
            "sqlite:///var/lib/breakglass/journal.sqlite3",
            Path("/var/lib/breakglass/journal.sqlite3"),
        ),
        ("/var/lib/breakglass/journal.sqlite3", Path("/var/lib/breakglass/journal.sqlite3")),
        ("/srv/a:b/journal.sqlite3", Path("/srv/a:b/journal.sqlite3")),
    ],
)
def test_parse_store_accepts(value, expected):
    assert parse_store(value) == expected
    if value.startswith("/"):  # a Path object says the same
        assert parse_store(Path(value)) == expected


def test_parse_store_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert parse_store("~/j.sqlite3") == tmp_path / "j.sqlite3"


@pytest.mark.parametrize(
    "value", [s[0] for s in BAD_STORES] + ["~nosuchuser-xyz/j.sqlite3", "dynamodb://t?region=mars"]
)
def test_parse_store_refuses(value):
    with pytest.raises(ConfigError) as info:
        parse_store(value)
    assert info.value.exit_code == 5 and info.value.remediation


def test_open_store_refuses_what_settings_refuse(tmp_path, cwd):
    from breakglass_aws.journal import open_store

    for value in ("dynamo://team-table", "journal.sqlite3", Path("journal.sqlite3")):
        with pytest.raises(ConfigError, match="invalid store"):
            open_store(value)
    assert list(cwd.iterdir()) == []


def test_relative_xdg_state_home_is_ignored(tmp_path, cwd, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_STATE_HOME", "state")
    settings = load_settings(None, environ={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert settings.store_path() == tmp_path / "home" / ".local" / "state" / "breakglass" / "journal.sqlite3"


# --- the federation endpoint ----------------------------------------------------------------

HOST_TRICKS = [
    "http://localhost.attacker.example/federation",
    "http://127.0.0.1.evil.example/federation",
    "http://10.0.0.1/federation",
    "http://127.0.0.1@evil.example/federation",
    "http://127.0.0.1:1@evil.example/federation",
    "http://localhost/federation",
    "http://127.1/federation",
    "http://[::ffff:127.0.0.1]/federation",
    "ftp://127.0.0.1/federation",
    "https:///federation",
    "http://127.0.0.1:99999/federation",
]
BAD_FEDERATION = [
    *HOST_TRICKS,
    "https://signin.aws.amazon.com/federation?x=1",
    " https://signin.aws.amazon.com/federation",
    "https://signin.aws.amazon.com/federation\n",
]


@pytest.mark.parametrize("url", BAD_FEDERATION)
def test_bad_federation_url_is_refused_before_anything(iam, cli, tmp_path, cwd, monkeypatch, url):
    monkeypatch.setenv("BREAKGLASS_FEDERATION_URL", url)
    line = _refused(cli, _assume("--console"), 5, "invalid value for 'federation_url'")
    assert repr(url) in line and "https://signin.aws.amazon.com/federation" in line
    assert _incidents(tmp_path) == 0 and list(cwd.iterdir()) == []


class _Federation(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        body = b'{"SigninToken": "tok-loopback"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        return None


@pytest.fixture
def stub_on_127_0_0_10() -> Iterator[tuple[int, list[str]]]:
    _Federation.seen = []
    server = ThreadingHTTPServer(("127.0.0.10", 0), _Federation)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], _Federation.seen
    finally:
        server.shutdown()
        server.server_close()


def test_any_loopback_address_is_allowed_for_plain_http(iam, cli, monkeypatch, stub_on_127_0_0_10):
    port, seen = stub_on_127_0_0_10
    monkeypatch.setenv("BREAKGLASS_FEDERATION_URL", f"http://127.0.0.10:{port}/federation")
    run = cli("role", "assume", "--account", ACCOUNT, "--reason", "IdP down", "--console")
    assert run.exit_code == 0, run.stderr
    assert len(seen) == 1 and "SigninToken=tok-loopback" in run.stdout


@pytest.mark.parametrize(
    "url",
    [
        "https://signin.aws.amazon.com/federation",
        "https://user@signin.example/federation",
        "HTTPS://signin.aws.amazon.com/federation",
        "http://127.0.0.1:8080/federation",
        "http://127.0.0.10:8080/federation",
        "http://127.255.255.254/federation",
        "http://[::1]:8080/federation",
    ],
)
def test_federation_urls_accepted(url):
    assert validate_federation_url(url) == url
    assert load_settings(None, environ={"BREAKGLASS_FEDERATION_URL": url}).federation_url == url


@pytest.mark.parametrize("url", HOST_TRICKS)
def test_the_fetch_itself_refuses_and_never_shows_the_secret(url):
    from breakglass_aws.runtime import default_http_get

    with pytest.raises(UsageError) as info:
        default_http_get(f"{url}?Action=getSigninToken&Session=SECRETKEY")
    assert "SECRETKEY" not in f"{info.value.message} {info.value.remediation}"


def test_console_url_refuses_before_building_the_request():
    from datetime import UTC, datetime

    from pydantic import SecretStr

    from breakglass_aws.role.assume import Credentials, console_url

    creds = Credentials(
        access_key_id="ASIAX",
        secret_access_key=SecretStr("SECRETKEY"),
        session_token=SecretStr("TOKEN"),
        expiration=datetime.now(UTC),
    )
    fetched: list[str] = []
    with pytest.raises(UsageError, match="refusing"):
        console_url(creds, fetched.append, 3600, "http://localhost.attacker.example/federation")  # type: ignore[arg-type]
    assert fetched == []


# --- ids, regions, codes, durations: anchored and ASCII-only ----------------------------------

BAD_IDS = [
    # (name, argv, exit code, fragment)
    ("region with a newline", ["--region", "eu-west-1\n", *_detach()], 2, "invalid region 'eu-west-1\\n'"),
    ("region after the command", [*_detach(), "--region", "eu-west-1\n"], 2, "invalid region"),
    ("region in full-width digits", ["--region", "eu-west-" + wide("1"), "list"], 2, "invalid region"),
    ("target in full-width digits", _detach(target=FULL_WIDTH), 2, "invalid target"),
    ("target in Arabic-Indic digits", _detach(target=ARABIC_INDIC), 2, "invalid target"),
    ("target with a newline", _detach(target=f"{ACCOUNT}\n"), 2, "invalid target"),
    ("ou id with a newline", _detach(target="ou-ab12-abcd1234\n"), 2, "invalid target"),
    ("policy id with a newline", _detach("--policy", "p-abcd1234\n"), 2, "invalid policy id"),
    ("ttl in full-width digits", _detach("--ttl", wide("120")), 2, "invalid --ttl"),
    ("ttl with Arabic-Indic digits", _detach("--ttl", arabic("1") + "h"), 2, "invalid --ttl"),
    ("ttl with a newline", _detach("--ttl", "1h\n"), 2, "invalid --ttl"),
    ("ticket with a newline", _detach("--ticket", "INC-1\n"), 2, "--ticket contains a control character U+000A"),
    ("ticket in full-width letters", _detach("--ticket", wide("INC") + "-1"), 2, "invalid ticket"),
    ("ticket with Arabic-Indic digits", _detach("--ticket", "INC-" + arabic("1")), 2, "invalid ticket"),
    (
        "ticket with a bidi override",
        _detach("--ticket", "INC-\u202e1"),
        2,
        "U+202E (RIGHT-TO-LEFT OVERRIDE) at position 5",
    ),
    ("account in full-width digits", _assume(account=FULL_WIDTH), 2, "invalid account id"),
    ("account with a newline", _assume(account=f"{ACCOUNT}\n"), 2, "invalid account id"),
    (
        "role ARN with a newline",
        ["role", "assume", "--role-arn", f"arn:aws:iam::{ACCOUNT}:role/B\n", "--reason", "x"],
        2,
        "invalid role ARN",
    ),
    (
        "role ARN in full-width digits",
        ["role", "assume", "--role-arn", f"arn:aws:iam::{FULL_WIDTH}:role/B", "--reason", "x"],
        2,
        "invalid role ARN",
    ),
    (
        "role name with a newline",
        _assume("--role-name", "Admin\n"),
        2,
        "--role-name contains a control character U+000A",
    ),
    (
        "role name with a bidi override",
        _assume("--role-name", "Ad\u202emin"),
        2,
        "--role-name contains a control character U+202E",
    ),
    (
        "role name with a zero-width space",
        _assume("--role-name", "Ad\u200bmin"),
        2,
        "U+200B (ZERO WIDTH SPACE) at position 3",
    ),
    ("mfa serial with a newline", _assume("--mfa-serial", f"{MFA}\n"), 2, "invalid MFA serial"),
    (
        "mfa serial in full-width digits",
        _assume("--mfa-serial", f"arn:aws:iam::{FULL_WIDTH}:mfa/oncall"),
        2,
        "invalid MFA serial",
    ),
    (
        "token code in Arabic-Indic digits",
        _assume("--mfa-serial", MFA, "--token-code", arabic("123456")),
        2,
        "exactly 6 digits",
    ),
    (
        "token code in full-width digits",
        _assume("--mfa-serial", MFA, "--token-code", wide("123456")),
        2,
        "exactly 6 digits",
    ),
    ("token code with a newline", _assume("--mfa-serial", MFA, "--token-code", "123456\n"), 2, "exactly 6 digits"),
    ("duration in full-width digits", _assume("--duration", wide("1") + "h"), 2, "invalid --duration"),
    ("exec id with a newline", ["exec", f"{UNKNOWN}\n", "--", "true"], 2, "invalid incident id"),
    (
        "exec id in full-width digits",
        ["exec", "bg-" + wide("2026") + "1201-000000-abcdef", "--", "true"],
        2,
        "invalid incident id",
    ),
    ("approve id with a newline", ["approve", f"{UNKNOWN}\n"], 2, "invalid incident id"),
    ("rotate user with a newline", ["rotate", "--user", "bg\n"], 2, "--user contains a control character U+000A"),
    ("rotate user not ASCII", ["rotate", "--user", "bgé"], 2, "invalid IAM user name"),
    ("rotate user in full-width digits", ["rotate", "--user", "bg-" + wide("1")], 2, "invalid IAM user name"),
    (
        "rotate secret id with a newline",
        ["rotate", "--user", "bg", "--secret-id", "breakglass/bg\n"],
        2,
        "invalid secret id",
    ),
    ("close user with a newline", ["close", UNKNOWN, "--user", "bg\n"], 2, "invalid IAM user name"),
    (
        "revoke account in full-width digits",
        ["role", "revoke-sessions", "--account", FULL_WIDTH],
        2,
        "invalid account id",
    ),
    ("watch since in full-width digits", ["watch", "--since", wide("1") + "h"], 2, "invalid --since"),
]

# --- free text: reason, ticket, comment -------------------------------------------------------

REFUSED_CHARS = [
    ("\u0085", "U+0085 (NEXT LINE)"),
    ("\u2028", "U+2028 (LINE SEPARATOR)"),
    ("\u2029", "U+2029 (PARAGRAPH SEPARATOR)"),
    ("\u009b", "U+009B (CONTROL SEQUENCE INTRODUCER)"),
    ("\u007f", "U+007F (DELETE)"),
    ("\u202e", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
    ("\u202a", "U+202A (LEFT-TO-RIGHT EMBEDDING)"),
    ("\u2066", "U+2066 (LEFT-TO-RIGHT ISOLATE)"),
    ("\u2069", "U+2069 (POP DIRECTIONAL ISOLATE)"),
    ("\u200b", "U+200B (ZERO WIDTH SPACE)"),
    ("\u200d", "U+200D (ZERO WIDTH JOINER)"),
    ("\ufeff", "U+FEFF (ZERO WIDTH NO-BREAK SPACE)"),
    ("\x1b", "U+001B (ESCAPE)"),
    ("\t", "U+0009 (CHARACTER TABULATION)"),
    ("\r", "U+000D (CARRIAGE RETURN)"),
    ("\x00", "U+0000 (NULL)"),
    ("\udcff", "U+DCFF"),
]


def _kind(char: str) -> str:
    return "an invalid character" if char == "\udcff" else "a control character"


BAD_TEXT = [
    (
        f"reason with U+{ord(char):04X}",
        _detach(reason=f"INC-42 SCP{char} blocks"),
        2,
        f"--reason contains {_kind(char)} {label} at position 11",
    )
    for char, label in REFUSED_CHARS
] + [
    (
        "role reason with a bidi override",
        _assume(reason="IdP \u202edown"),
        2,
        "--reason contains a control character U+202E",
    ),
    ("revoke reason with NEL", ["role", "revoke-sessions", "--account", ACCOUNT, "--reason", "a\u0085b"], 2, "U+0085"),
    ("rotate reason with CSI", ["rotate", "--user", "bg", "--reason", "x\u009b31m"], 2, "U+009B"),
    (
        "approve comment with a bidi override",
        ["approve", UNKNOWN, "--comment", "ok \u202eevil"],
        2,
        "--comment contains a control character U+202E (RIGHT-TO-LEFT OVERRIDE) at position 4",
    ),
    (
        "deny comment with a line separator",
        ["deny", UNKNOWN, "--comment", "no\u2028way"],
        2,
        "--comment contains a control character U+2028",
    ),
]

CASES = BAD_IDS + BAD_TEXT


@pytest.mark.parametrize(("name", "argv", "code", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_before_any_call(org, iam, cli, tmp_path, cwd, name, argv, code, fragment):
    before = org.snapshot()
    _refused(cli, argv, code, fragment)
    assert _incidents(tmp_path) == 0
    assert list(cwd.iterdir()) == []
    assert org.snapshot() == before


def test_the_reason_line_names_the_character_and_its_position(org, cli, cwd):
    run = cli(*_detach(reason="INC-42 undo\u202e txt.exe"))
    assert run.exit_code == 2
    assert run.stderr.strip() == (
        "error: --reason contains a control character U+202E (RIGHT-TO-LEFT OVERRIDE) at position 12 "
        "(hint: --reason must be one line of visible text: retype it (text pasted from a chat or a web page "
        "can carry invisible characters))"
    )


def test_json_output_carries_the_same_refusal(org, cli, cwd):
    run = cli(*_detach("--output", "json", reason="a\u2028b"))
    assert run.exit_code == 2
    assert (
        json.loads(run.stdout)["message"]
        == "--reason contains a control character U+2028 (LINE SEPARATOR) at position 2"
    )


@pytest.mark.parametrize(
    "reason",
    [
        "Café déjà vu: Ünïcödé accents",
        "東京リージョン障害 (INC-42)",
        "🚨 prod down 🔥",
        "👩‍💻 on call, 🏳️‍🌈 team, 👩🏽‍💻 too",
        "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f office",
        "שלום עולם and مرحبا",
        "non\u00a0breaking space",
    ],
)
def test_normal_unicode_is_kept_in_the_reason(org, cli, cwd, reason):
    org.attach(org.new_policy("Deny"), org.account)
    run = cli(*_detach("--output", "json", target=org.account, reason=reason))
    assert run.exit_code == 0, run.stderr
    shown = cli("show", run.json()["incident_id"], "--output", "json").json()
    assert shown["reason"] == reason


# --- settings holding names -----------------------------------------------------------------

BAD_NAME_SETTINGS = [
    (
        "BREAKGLASS_REQUESTER_NAME",
        "ali\u202ece",
        "'requester_name': requester_name contains a control character U+202E",
    ),
    ("BREAKGLASS_REQUESTER_NAME", "alice\n", "U+000A (LINE FEED) at position 6"),
    ("BREAKGLASS_ROLE_NAME", "BreakGlass\u200bAdmin", "'role_name': role name contains a control character U+200B"),
    ("BREAKGLASS_ROLE_NAME", "Bréak", "'role_name': invalid role name 'Bréak'"),
    ("BREAKGLASS_MEMBER_ROLE_NAME", "OrgAccess\n", "'member_role_name'"),
    ("BREAKGLASS_ROTATE_USERS", "breakglass-1,bg-" + wide("2"), "'rotate_users': invalid IAM user name"),
]


@pytest.mark.parametrize(("key", "value", "fragment"), BAD_NAME_SETTINGS)
def test_bad_name_settings_are_refused(iam, cli, tmp_path, cwd, monkeypatch, key, value, fragment):
    monkeypatch.setenv(key, value)
    _refused(cli, _assume(), 5, fragment)
    assert _incidents(tmp_path) == 0 and list(cwd.iterdir()) == []


BAD_REGION_SETTINGS = [
    ("BREAKGLASS_REGION", "eu-west-1\n", "'region'"),
    ("BREAKGLASS_STORE_REGION", "eu-west-1\n", "'store_region'"),
    ("BREAKGLASS_ALERT_REGIONS", "eu-west-1,eu-west-" + wide("2"), "'alert_regions'"),
    ("BREAKGLASS_EVIDENCE_REGIONS", '["eu-west-1", "eu-west-' + arabic("3") + '"]', "'evidence_regions'"),
]


@pytest.mark.parametrize(("key", "value", "fragment"), BAD_REGION_SETTINGS)
def test_bad_region_settings_are_refused(org, cli, tmp_path, cwd, monkeypatch, key, value, fragment):
    monkeypatch.setenv(key, value)
    _refused(cli, _detach(), 5, f"invalid value for {fragment}: invalid region")
    assert _incidents(tmp_path) == 0 and list(cwd.iterdir()) == []


# --- the validators themselves --------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["eu-west-1\n", "eu-west-1 ", "eu-west-" + arabic("1"), "eu-west-" + wide("1"), "\neu-west-1"]
)
def test_region_is_anchored_and_ascii(value):
    with pytest.raises(UsageError):
        validate_region(value)


@pytest.mark.parametrize(
    "value", [FULL_WIDTH, ARABIC_INDIC, f"{ACCOUNT}\n", f"\t{ACCOUNT}", "r-ab12\n", "ou-ab12-abcd1234\n"]
)
def test_target_is_anchored_and_ascii(value):
    with pytest.raises(UsageError):
        validate_target(value)


def test_target_keeps_tolerating_surrounding_spaces():
    assert validate_target(f" {ACCOUNT} ").value == "account"


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (validate_incident_id, "bg-20260101-000000-abcdef\n"),
        (validate_incident_id, "bg-" + wide("2026") + "0101-000000-abcdef"),
        (validate_policy_id, "p-abcd1234\n"),
        (validate_policy_id, "p-abcd" + wide("1234")),
        (validate_ticket, "INC-1\n"),
        (validate_ticket, "INC-" + arabic("1")),
        (validate_ticket, "ÉTÉ-1"),
        (parse_duration, wide("1") + "h"),
        (parse_duration, arabic("120")),
        (parse_duration, "1h\n"),
    ],
)
def test_ids_are_anchored_and_ascii(check, value):
    with pytest.raises(UsageError):
        check(value)


def test_role_side_patterns():
    from breakglass_aws.role.assume import parse_role_arn, role_arn_for, validate_mfa_serial, validate_token_code

    for bad_code in (arabic("123456"), "123456\n", wide("123456")):
        with pytest.raises(UsageError):
            validate_token_code(bad_code)
    for bad_arn in (
        f"arn:aws:iam::{ACCOUNT}:role/B\n",
        f"arn:aws:iam::{FULL_WIDTH}:role/B",
        f"arn:aws:iam::{ACCOUNT}:role/Bé",
    ):
        with pytest.raises(UsageError):
            parse_role_arn(bad_arn)
    with pytest.raises(UsageError):
        validate_mfa_serial(f"{MFA}\n")
    with pytest.raises(UsageError, match="position 6"):
        role_arn_for(ACCOUNT, "Admin\n")
    assert parse_role_arn(f"arn:aws:iam::{ACCOUNT}:role/ops/B") == (ACCOUNT, "B")


def test_rotation_and_evidence_patterns():
    from breakglass_aws.incident.approvals import principal_of
    from breakglass_aws.incident.rotation import validate_user
    from breakglass_aws.validate import parse_s3_url

    for user, secret in (
        ("bg\n", None),
        ("bgé", None),
        ("bg-" + wide("1"), None),
        ("bg", "breakglass/bg\n"),
        ("bg", "brèakglass/bg"),
    ):
        with pytest.raises(UsageError):
            validate_user(user, secret)
    validate_user("breakglass-1", "arn:aws:secretsmanager:us-east-1:123456789012:secret:breakglass/bg")
    for url in ("s3://bucket/prefix\n", "s3://bucket/pre\u202efix", "s3://bucket/pré"):
        with pytest.raises(UsageError):
            parse_s3_url(url)
    assert parse_s3_url("s3://bucket/a/b/") == ("bucket", "a/b")
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Admin/alice"
    assert principal_of(session) == f"arn:aws:iam::{ACCOUNT}:role/AWSReservedSSO_Admin/alice"
    assert principal_of(session + "\n") == session + "\n"  # not an assumed-role ARN: compared as given


def test_check_text_unit():
    assert check_text("plain text, accents é and 東京 🚨", "--reason") == "plain text, accents é and 東京 🚨"
    for char, label in REFUSED_CHARS:
        with pytest.raises(UsageError) as info:
            check_text(f"ab{char}cd", "--x")
        assert f"{label} at position 3" in info.value.message
        assert "\n" not in info.value.message and char not in info.value.message
    with pytest.raises(UsageError, match=r"U\+200D"):
        check_text("hidden\u200djoin", "--x")  # a joiner between letters hides; between pictographs it joins


def test_reason_rules_kept():
    assert validate_reason("  INC-1 rollback  ") == "INC-1 rollback"
    with pytest.raises(UsageError, match="--reason is required"):
        validate_reason("   ")
    with pytest.raises(UsageError, match="at most 1024"):
        validate_reason("x" * 1025)
    assert validate_iam_name("breakglass-1", "IAM user name") == "breakglass-1"
