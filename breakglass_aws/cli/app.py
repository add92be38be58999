"""The `breakglass` command: a thin layer that parses, confirms, calls the library, renders."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from breakglass_aws.cli import approvals, evidence, incidents, ops, readiness, role, scp, watch
from breakglass_aws.cli import config as config_file
from breakglass_aws.cli import custody as custody_cli
from breakglass_aws.cli import root as root_tasks
from breakglass_aws.cli import sandbox as sandbox_kit
from breakglass_aws.cli.evidence_report import report_command as evidence_report_command
from breakglass_aws.cli.group import EXIT_CODES, RootGroup
from breakglass_aws.cli.state import CliOverrides, CliState

__all__ = ["app", "main"]

app = typer.Typer(
    cls=RootGroup,
    name="breakglass",
    help="Emergency access to AWS that always puts the controls back, with proof.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=True,
    epilog=EXIT_CODES,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(scp.app, name="scp")
app.add_typer(evidence.app, name="evidence")
evidence.app.command("report")(evidence_report_command)
app.add_typer(config_file.app, name="config")
incidents.register(app)
role.register(app)
approvals.register(app)
watch.register(app)
ops.register(app)
readiness.register(app)
root_tasks.register(app)
sandbox_kit.register(app)
custody_cli.register(app)


SHARED_ONLY = {"approve", "deny", "activate", "sync", "watch"}


def _version(value: bool) -> None:
    if value:
        from breakglass_aws import __version__

        typer.echo(f"breakglass {__version__}")
        raise typer.Exit(0)


def _configure_logging(verbosity: int, quiet: bool) -> None:
    import logging

    from breakglass_aws.redact import RedactingFilter

    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("breakglass_aws")
    root.handlers = [h for h in root.handlers if isinstance(h, logging.NullHandler)] + [handler]
    level = logging.ERROR if quiet else logging.WARNING
    if verbosity == 1:
        level = logging.INFO
    elif verbosity >= 2:
        level = logging.DEBUG
    root.setLevel(level)


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[str | None, typer.Option(metavar="NAME", help="AWS profile to use.")] = None,
    region: Annotated[
        str | None, typer.Option(metavar="REGION", help="AWS region (validated before any call).")
    ] = None,
    output: Annotated[str | None, typer.Option(metavar="text|json", help="Output format (default: text).")] = None,
    config: Annotated[
        Path | None,
        typer.Option(metavar="PATH", help="Config file (default: $XDG_CONFIG_HOME/breakglass/config.toml)."),
    ] = None,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            show_default=False,
            help="-v: a line per AWS call (region, endpoint, HTTP status, attempts, time); "
            "-vv: also each attempt's request line and each retry with its reason. Secrets are redacted.",
        ),
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only results and errors.")] = False,
    offline_store: Annotated[
        bool,
        typer.Option(
            "--offline-store",
            help="Shared store unreachable: keep incidents in a local journal, loudly, until `breakglass sync`.",
        ),
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Global options may also be given after the subcommand, as with the aws CLI."""
    from breakglass_aws.errors import UsageError
    from breakglass_aws.validate import validate_region

    overrides = ctx.obj if isinstance(ctx.obj, CliOverrides) else CliOverrides()
    ctx.obj = CliState(
        offline=offline_store,
        profile=profile,
        region=region,
        output=output,
        config=config,
        verbosity=verbose,
        quiet=quiet,
        overrides=overrides,
    )
    if output is not None and output not in ("text", "json"):
        raise UsageError(f"invalid --output {output!r}", "use --output text or --output json")
    if region is not None:
        validate_region(region)
    if offline_store and ctx.invoked_subcommand in SHARED_ONLY:
        raise UsageError(f"`{ctx.invoked_subcommand}` needs the shared store", "leave out --offline-store")
    _configure_logging(verbose, quiet)


def main() -> None:
    from breakglass_aws.nesting import mark, started_by

    parent = started_by()
    if parent:
        typer.echo(
            f"error: breakglass was started by breakglass (pid {parent}) while that one looked up its AWS "
            "credentials: the profile it uses runs breakglass as its credential_process (hint: give the "
            "credential_process command --profile BASE, a profile with credentials of its own, or use static "
            "credentials; do not set AWS_PROFILE to the break-glass profile when running breakglass)",
            err=True,
        )
        sys.exit(5)
    mark()
    try:
        app()
    except SystemExit as done:
        _leave(done.code)
    _leave(0)


def _leave(code: object) -> NoReturn:
    """End the process without the interpreter's teardown, which costs about 0.1 s once botocore
    and pydantic are loaded and sits between the engineer and the prompt. By now every journal
    write is committed (SQLite in WAL mode, synchronous=FULL; DynamoDB answered) and every file
    is closed; output is flushed here. A thread still running only reads for work that ended
    (a read beside a failed step): it is not waited for."""
    if isinstance(code, str):  # sys.exit("message"): Python would print it and exit 1
        sys.stderr.write(code + "\n")
        code = 1
    status = code if isinstance(code, int) else (0 if code is None else 1)
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        status = status or 1  # stdout closed or full: the output was not delivered
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    logging = sys.modules.get("logging")  # loaded with botocore; --help never loads it
    if logging is not None:
        logging.shutdown()
    os._exit(status)
