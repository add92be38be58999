"""`breakglass sandbox serve`: the testing kit from the shell, for tests in any language."""

from __future__ import annotations

import json
import shlex
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from breakglass_aws.cli.common.output import echo_lines
from breakglass_aws.cli.state import state

if TYPE_CHECKING:
    from breakglass_aws.testing_kit import Sandbox

__all__ = ["app", "register"]

app = typer.Typer(
    rich_markup_mode=None,
    help="A moto server for testing your own automation: CloudTrail LookupEvents, root tasks, an organization.",
    no_args_is_help=True,
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="sandbox")


def exports(sandbox: Sandbox) -> list[str]:
    """Shell lines to source: the endpoint (as a comment), the AWS variables, the seed file and the
    organization's ids."""
    from breakglass_aws.testing import UNSET

    names: dict[str, Any] = {**sandbox.env, "SANDBOX_CLOUDTRAIL_SEED": str(sandbox.seed_file)}
    if sandbox.org is not None:
        org = sandbox.org
        names.update(
            SANDBOX_ORGANIZATION_ID=org.organization,
            SANDBOX_ROOT_ID=org.root,
            SANDBOX_OU_ID=org.ou,
            SANDBOX_ACCOUNT_ID=org.account,
            SANDBOX_MANAGEMENT_ACCOUNT_ID=org.management,
        )
    return [
        f"# breakglass sandbox: moto on {sandbox.endpoint_url} (pid {sandbox.pid})",
        f"unset {' '.join(UNSET)}",
        *(f"export {key}={shlex.quote(str(value))}" for key, value in names.items()),
        "# ready: serving until SIGINT or SIGTERM",
    ]


@app.command()
def serve(
    ctx: typer.Context,
    port: Annotated[
        int | None, typer.Option(metavar="N", help="Port on 127.0.0.1 (default: a free one, printed).")
    ] = None,
    seed: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help='JSON-lines file of CloudTrail events LookupEvents answers from (each with its "region"), '
            "re-read on every request (default: a new empty file, printed as SANDBOX_CLOUDTRAIL_SEED).",
        ),
    ] = None,
    no_org: Annotated[bool, typer.Option("--no-org", help="Start without the seeded organization.")] = False,
) -> None:
    """Start a moto server on 127.0.0.1 whose CloudTrail answers LookupEvents from seeded events,
    standing in for AssumeRoot, with an organization (root, OU, member account); print the endpoint
    and the exports to use, one per line; serve until SIGINT or SIGTERM (exit 0), then stop it."""
    from breakglass_aws.testing_kit import start_sandbox

    st = state(ctx)
    stop = threading.Event()
    handlers = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    sandbox = None
    try:
        sandbox = start_sandbox(port, seed, org=not no_org)
        pid = sandbox.pid
        if st.output == "json":
            typer.echo(json.dumps(sandbox.describe(), sort_keys=True))
        else:
            echo_lines(exports(sandbox))
        sandbox.wait(stop)
    finally:
        if sandbox is not None:
            sandbox.stop()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    st.progress(f"sandbox stopped (moto server pid {pid})")
