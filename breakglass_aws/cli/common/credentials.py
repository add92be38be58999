"""Credentials of a role incident, handed out: the MFA prompt, the output formats (shell exports,
JSON, credential_process, a console URL), and a command run with them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from breakglass_aws.cli.state import CliState

if TYPE_CHECKING:
    from breakglass_aws.role.assume import AssumeRequest, Credentials
    from breakglass_aws.runtime import Runtime

from breakglass_aws.cli.common.request import OVERRIDE_LINE

__all__ = ["FORMATS", "PASS_THROUGH", "command_after", "deliver", "prompt_code", "run_with", "usage"]

PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}
FORMATS = ("env", "json", "credential-process")


def deliver(
    st: CliState,
    rt: Runtime,
    incident_id: str,
    creds: Credentials,
    request: AssumeRequest,
    fmt: str,
    console: bool,
    command: list[str],
    announce: Callable[[], None] | None = None,
) -> None:
    """Hand out the credentials, then `announce` (the notification: it never delays them; before
    a command runs, it goes out first with its short budget)."""
    if command:
        if announce is not None:
            announce()
        run_with(creds, request.region, command)
    try:
        _print_credentials(rt, incident_id, creds, request, fmt, console)
    finally:
        sys.stdout.flush()
        if announce is not None:
            announce()


def _print_credentials(
    rt: Runtime, incident_id: str, creds: Credentials, request: AssumeRequest, fmt: str, console: bool
) -> None:
    from breakglass_aws.errors import AwsFailure, BreakglassError
    from breakglass_aws.role.assume import console_url, credential_process_json, credentials_json, env_exports

    override = rt.store.get_incident(incident_id).override
    if console:
        seconds = None if request.chained else request.duration_seconds
        try:
            url = console_url(creds, rt.role.http_get, seconds, rt.role.federation_url)
        except BreakglassError:
            raise
        except Exception as err:  # the federation endpoint: HTTP errors, bad answers, timeouts
            raise AwsFailure(
                f"incident {incident_id} is open and the role was assumed, but the console sign-in URL "
                f"could not be obtained from the federation endpoint ({type(err).__name__}: {str(err)[:120]})",
                f"use the CLI credentials: breakglass exec {incident_id} -- COMMAND; or retry the console later "
                f"with a new `breakglass role assume --console` (and close this one: breakglass close {incident_id})",
            ) from None
        typer.echo(url)
    elif fmt == "json":
        typer.echo(
            credentials_json(
                creds,
                {
                    "incident_id": incident_id,
                    "role_arn": request.role_arn,
                    "source_identity": request.source_identity,
                    "override": override,
                },
            )
        )
    elif fmt == "credential-process":
        typer.echo(credential_process_json(creds))
    else:
        typer.echo(f"# breakglass incident {incident_id}: eval this output in your shell")
        if override:
            typer.echo(f"# {OVERRIDE_LINE}")
        typer.echo(env_exports(creds, request.region))


def run_with(creds: Credentials, region: str, command: list[str]) -> None:
    from breakglass_aws.role.assume import child_environment

    env = child_environment(creds, region, dict(os.environ))
    try:
        completed = subprocess.run(command, env=env, check=False)
    except FileNotFoundError:
        raise _not_run(f"command not found: {command[0]}", "check the command after --", NOT_FOUND) from None
    except PermissionError:
        raise _not_run(f"cannot run {command[0]}: permission denied", "is it executable? chmod +x it") from None
    except OSError as err:
        raise _not_run(f"cannot run {command[0]}: {err.strerror or err}", "check the command after --") from None
    sys.stdout.flush()
    code = completed.returncode
    raise typer.Exit(128 - code if code < 0 else code)  # killed by a signal: 128 + its number, as shells do


NOT_FOUND, NOT_RUNNABLE = 127, 126  # as shells exit when the command cannot be found or run


def _not_run(message: str, hint: str, code: int = NOT_RUNNABLE) -> Exception:
    """The command after -- could not be started: the shell's exit code, not breakglass's own."""
    from breakglass_aws.errors import UsageError

    error = UsageError(message, hint)
    error.exit_code = code
    return error


def command_after(ctx: typer.Context) -> list[str]:
    args = list(ctx.args)
    if args and args[0] == "--":
        args = args[1:]
    if args and args[0].startswith("-") and not ctx.args[0] == "--":
        raise usage(f"unknown option {args[0]}", "put the command to run after --")
    return args


def prompt_code(on_terminal: bool = False) -> str:
    """The MFA code, hidden. With `on_terminal` (credential_process output: the aws CLI and the
    SDKs capture this process's stdout and stderr), the prompt is written to and the code read
    from the controlling terminal, which they do not swallow."""
    from breakglass_aws.role.assume import validate_token_code

    if on_terminal and not _isatty(sys.stderr):
        return validate_token_code(_code_from_terminal())
    try:
        code = typer.prompt("MFA code", hide_input=True, err=True)
    except typer.Abort:
        raise usage("no MFA code given", "pass --token-code or answer the prompt") from None
    return validate_token_code(str(code).strip())


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


def _code_from_terminal() -> str:
    import getpass

    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        raise usage(
            "an MFA code is needed and there is no terminal to ask for it on",
            "run the same `breakglass role assume` once in a terminal (later runs are served by its "
            "credentials agent), or pass --token-code",
        ) from None
    try:
        return getpass.getpass("breakglass: MFA code for the break-glass role: ").strip()
    except (EOFError, KeyboardInterrupt):
        raise usage("no MFA code given", "answer the prompt on the terminal, or pass --token-code") from None


def usage(message: str, hint: str) -> Exception:
    from breakglass_aws.errors import UsageError

    return UsageError(message, hint)
