"""The command line's conventions as a user meets them: help (emergency commands first, exit
codes, completion), usage lines, required options, groups without a command, exec's own codes,
timestamps in Z form, a `list` that fits the terminal, and the status as the last line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ACCOUNT, ROLE
from tests.support.cli import one_line
from tests.support.scp import seeded

STAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?")


def test_top_level_help_puts_the_emergency_first_and_ends_with_the_exit_codes(aws, cli):
    run = cli("--help")
    assert run.exit_code == 0
    sections = run.stdout.split("Emergency commands:")[1].split("Other commands:")
    assert [line.split()[0] for line in sections[0].splitlines() if line.startswith("  ") and line[2] != " "] == [
        "scp", "role", "close", "restore"
    ]  # fmt: skip
    cut = [line for line in run.stdout.splitlines()[1:] if line.endswith("...")]
    assert cut == [], "each command's first sentence whole, wrapped"
    codes = run.stdout.split("Exit codes (stable: runbooks branch on them):")[1]
    for code in range(9):
        assert re.search(rf"^\s+{code}  \S", codes, re.MULTILINE), code
    assert "127 not found" in codes
    assert "--install-completion" in run.stdout and "--show-completion" in run.stdout


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["close"], "Usage: breakglass close [OPTIONS] INCIDENT_ID"),
        (["show"], "Usage: breakglass show [OPTIONS] INCIDENT_ID"),
        (["restore"], "Usage: breakglass restore [OPTIONS] [INCIDENT_ID]"),
        (["scp", "restore"], "Usage: breakglass scp restore [OPTIONS] INCIDENT_ID"),
        (["evidence", "collect"], "Usage: breakglass evidence collect [OPTIONS] INCIDENT_ID"),
    ],
)
def test_usage_lines_name_arguments_by_their_metavar(aws, cli, argv, usage):
    run = cli(*argv, "--help")
    assert run.exit_code == 0 and usage in run.stdout
    assert "{" not in run.stdout.splitlines()[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["scp", "detach", "--target", "123456789012"],
        ["role", "assume", "--account", "123456789012"],
        ["root", "unlock-bucket", "--account", "123456789012", "--bucket", "b"],
    ],
)
def test_reason_is_a_required_option(aws, cli, argv):
    shown = cli(*argv[:2], "--help").stdout
    assert re.search(r"--reason TEXT\s+Why the glass is broken[^\[]*\[required\]", shown), shown
    missing = cli(*argv)
    assert missing.exit_code == 2
    assert one_line(missing.stderr).startswith("error: --reason is required (hint: see breakglass ")
    empty = cli(*argv, "--reason", " ")
    assert empty.exit_code == 2 and "--reason is required" in one_line(empty.stderr)


@pytest.mark.parametrize("argv", [[], ["scp"], ["role"], ["root"], ["journal"], ["evidence"]])
def test_a_group_without_its_command_exits_2(aws, cli, argv):
    run = cli(*argv)
    assert run.exit_code == 2
    assert run.stdout == "" and "Usage: breakglass" in run.stderr
    assert one_line(run.stderr).endswith("needs a command (hint: see " + " ".join(["breakglass", *argv]) + " --help)")


def test_exec_of_a_command_not_found_exits_127(iam, cli, tmp_path):
    opened = cli("role", "assume", "--account", ACCOUNT, "--reason", "IdP down", "--format", "json").json()
    missing = cli("exec", opened["incident_id"], "--", "no-such-command-here")
    assert missing.exit_code == 127
    assert "command not found: no-such-command-here" in one_line(missing.stderr)
    script = tmp_path / "not-executable.sh"
    script.write_text("#!/bin/sh\n")
    refused = cli("exec", opened["incident_id"], "--", str(script))
    assert refused.exit_code == 126 and "permission denied" in one_line(refused.stderr)
    ran = cli("exec", opened["incident_id"], "--", sys.executable, "-c", "raise SystemExit(3)")
    assert ran.exit_code == 3, "the command's own code"


def test_every_timestamp_printed_is_in_z_form(iam, org, cli):
    seeded(org, 1)
    runs = [cli("scp", "detach", "--target", org.account, "--reason", "INC-1", "--yes")]
    scp_id = runs[0].stdout.splitlines()[-1].split()[0]
    opened = cli("role", "assume", "--account", ACCOUNT, "--reason", "IdP down", "--format", "json")
    role_id = opened.json()["incident_id"]
    runs += [opened, cli("extend", scp_id, "--ttl", "2h", "--reason", "still needed")]
    runs += [cli("show", scp_id), cli("show", scp_id, "--output", "json"), cli("list"), cli("list", "--output", "json")]
    runs += [cli("close", role_id, "--yes"), cli("close", scp_id, "--yes"), cli("show", role_id)]
    runs += [cli("role", "revoke-sessions", "--role-arn", ROLE), cli("watch", "--since", "1h")]
    assert [r.exit_code for r in runs[:-1]] == [0] * (len(runs) - 1), [r.stderr for r in runs]
    printed = "".join(r.stdout + r.stderr for r in runs if r is not opened) + opened.stderr
    stamps = STAMP.findall(printed)
    assert len(stamps) > 20 and all(s.endswith("Z") and "T" in s for s in stamps), sorted(set(stamps))


def test_list_fits_the_terminal_and_cuts_no_arn_or_account(iam, org, cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    seeded(org, 1)
    reason = "INC-9 the deploy role is locked out by an SCP that was pushed with the wrong condition key"
    cli("scp", "detach", "--target", org.account, "--reason", reason, "--yes")
    cli("role", "assume", "--account", ACCOUNT, "--reason", "IdP down", "--format", "json")
    run = cli("list")
    assert run.exit_code == 0, run.stderr
    assert max(len(line) for line in run.stdout.splitlines()) <= 80, run.stdout
    assert f"    target: {org.account}\n" in run.stdout
    assert f"    target: {ACCOUNT} role/BreakGlassAdmin\n" in run.stdout, "a role as its account and name, whole"
    assert " ".join(run.stdout.split()).count(reason) == 1, "the reason wrapped, not cut"


def test_close_ends_with_the_status_as_stored_and_show_says_it_once(org, cli):
    seeded(org, 1)
    detached = cli("scp", "detach", "--target", org.account, "--reason", "INC-1", "--yes")
    incident_id = detached.stdout.splitlines()[-1].split()[0]
    assert detached.stdout.splitlines()[-1] == f"{incident_id} active"
    closed = cli("close", incident_id, "--skip-rotation", "--yes")
    assert closed.exit_code == 0, closed.stderr
    assert closed.stdout.splitlines()[-1] == f"{incident_id} closed"
    assert cli("show", incident_id, "--output", "json").json()["status"] == "closed"
    again = cli("close", incident_id, "--yes")
    assert again.stdout.splitlines()[-1].startswith(f"{incident_id} is already closed")
    shown = cli("show", incident_id).stdout
    assert shown.splitlines()[0] == f"incident {incident_id} (scp) closed"
    assert not re.search(r"^\s*status:", shown, re.MULTILINE)


def test_a_restored_incident_is_shown_closed_with_why(org, cli):
    seeded(org, 1)
    detached = cli("scp", "detach", "--target", org.account, "--reason", "INC-2", "--yes")
    incident_id = detached.stdout.splitlines()[-1].split()[0]
    restored = cli("scp", "restore", incident_id)
    assert restored.stdout.splitlines()[-1] == f"{incident_id} closed"
    shown = cli("show", incident_id).stdout
    assert shown.splitlines()[0].endswith(" closed") and "restored" not in shown.splitlines()[0]
    assert "  why closed: by a restore (scp restore or the expiry sweep)" in shown
    statuses = re.findall(r"\b(active|closing|closed|restored|needs-attention)\b", "\n".join(shown.splitlines()[:7]))
    assert set(statuses) == {"closed"}, shown


def test_shell_completion_completes_commands():
    command = str(Path(sys.executable).with_name("breakglass"))
    env = {**os.environ, "_BREAKGLASS_COMPLETE": "complete_bash", "COMP_WORDS": "breakglass sc", "COMP_CWORD": "1"}
    done = subprocess.run([command], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout.split() == ["scp"], done.stderr
    script = subprocess.run([command, "--show-completion", "bash"], capture_output=True, text=True, check=False)
    assert script.returncode == 0 and "_BREAKGLASS_COMPLETE=complete_bash" in script.stdout
