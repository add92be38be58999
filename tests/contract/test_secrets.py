"""No secret reaches logs, output, the journal or error messages."""

from __future__ import annotations

import logging

import pytest

from breakglass_aws.models import FULL_AWS_ACCESS
from breakglass_aws.redact import RedactingFilter, redact
from tests.conftest import FAKE_SECRET

pytestmark = pytest.mark.reliability

TOKEN = "FwoGZXIvYXdzE" + "A" * 120


def test_redact_patterns():
    assert FAKE_SECRET not in redact(f"key {FAKE_SECRET} end")
    assert TOKEN not in redact(f"token={TOKEN}")
    assert "hunter2" not in redact('{"Password": "hunter2"}')
    assert "123456" not in redact("TokenCode=123456")
    assert "SecretAccessKey" in redact('"SecretAccessKey": "abc"')
    assert redact("detach p-abcd1234 from 111111111111") == "detach p-abcd1234 from 111111111111"


def test_filter_redacts_args_and_tracebacks(caplog):
    logger = logging.getLogger("breakglass_aws.test")
    handler_filter = RedactingFilter()
    record = logger.makeRecord("x", logging.INFO, __file__, 1, "creds %s", (FAKE_SECRET,), None)
    handler_filter.filter(record)
    assert FAKE_SECRET not in record.getMessage()
    try:
        raise ValueError(f"boom {FAKE_SECRET}")
    except ValueError:
        import sys

        record = logger.makeRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    handler_filter.filter(record)
    assert FAKE_SECRET not in (record.exc_text or "")


def test_full_flow_at_debug_leaks_nothing(org, cli, tmp_path, capfd):
    p = org.new_policy("Deny")
    org.attach(p, org.account)
    opened = cli("-vv", "scp", "detach", "--target", org.account, "--reason", "x", "--yes", "--output", "json")
    restored = cli("-vv", "scp", "restore", opened.json()["incident_id"])
    shown = cli("show", opened.json()["incident_id"], "--output", "json")
    listed = cli("list")
    captured = capfd.readouterr()
    texts = [r.stdout + r.stderr for r in (opened, restored, shown, listed)] + [captured.out, captured.err]
    journal = (tmp_path / "state" / "breakglass" / "journal.sqlite3").read_bytes()
    wal = tmp_path / "state" / "breakglass" / "journal.sqlite3-wal"
    blobs = [journal, wal.read_bytes() if wal.exists() else b""]
    assert "aws organizations:DetachPolicy" in opened.stderr
    for text in texts:
        assert FAKE_SECRET not in text
    for blob in blobs:
        assert FAKE_SECRET.encode() not in blob
    assert org.scps(org.account) == {p, FULL_AWS_ACCESS}
