"""`breakglass custody share` and `breakglass custody open`: k of n custodians open the glass."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from breakglass_aws.cli.state import state

if TYPE_CHECKING:
    from breakglass_aws.incident.custody import Opened

__all__ = ["app", "register"]

app = typer.Typer(help="Custody of the glass: k of n custodians open the break-glass credentials.")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="custody")


def _read_identity(path: Path) -> str:
    from breakglass_aws.errors import UsageError

    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read the identity file {path}", "pass your age identity file") from err


@app.command("share")
def share_command(
    ctx: typer.Context,
    user: Annotated[str, typer.Option(metavar="NAME", help="The break-glass IAM user.")],
    identity: Annotated[Path, typer.Option(metavar="FILE", help="Your age identity (age-keygen's file).")],
    share_file: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Your share's file from an offline safe (default: your secret).")
    ] = None,
) -> None:
    """Decrypt your share of the current rotation and print it once, as one line to hand over."""
    from breakglass_aws.incident.custody import reveal
    from breakglass_aws.incident.rotation import validate_user

    validate_user(user, None)
    blob = reveal(state(ctx).runtime(), user, _read_identity(identity), share_file)
    typer.echo(blob.text())
    typer.echo(f"share of {blob.custodian} for rotation {blob.rotation_id}: hand it to whoever opens", err=True)


def _texts(shares: list[str] | None) -> list[str]:
    if shares:
        return shares
    return [line.strip() for line in sys.stdin.read().splitlines() if line.strip()]


@app.command("open")
def open_command(
    ctx: typer.Context,
    user: Annotated[str, typer.Option(metavar="NAME", help="The break-glass IAM user.")],
    share: Annotated[
        list[str] | None, typer.Option(metavar="BLOB", help="A custodian's share (repeatable; default: stdin lines).")
    ] = None,
    print_credentials: Annotated[
        bool, typer.Option("--print", help="Print the credentials once (credential_process JSON).")
    ] = False,
    reason: Annotated[str, typer.Option(metavar="TEXT", help="Why (recorded and notified).")] = "custody open",
) -> None:
    """Recombine k shares in memory and open the credentials: checked with GetCallerIdentity, or
    printed once with --print. Journaled and notified with who supplied shares."""
    from breakglass_aws.incident.custody import open_glass
    from breakglass_aws.incident.rotation import validate_user
    from breakglass_aws.runtime import whoami
    from breakglass_aws.validate import validate_reason

    st = state(ctx)
    validate_user(user, None)
    why = validate_reason(reason)
    texts = _texts(share)
    rt = st.runtime()
    opened = open_glass(rt, whoami(rt), user, texts, why, check=not print_credentials)
    if print_credentials:
        typer.echo(json.dumps(_process_json(opened)))
    else:
        typer.echo(f"opened: {opened.credentials.access_key_id} works as {opened.arn} (not printed: --print)")
    by = ", ".join(opened.credentials.custodians)
    typer.echo(f"{opened.incident_id}: opened by {by}; rotate after use: breakglass rotate --user {user}", err=True)


def _process_json(opened: Opened) -> dict[str, object]:
    creds = opened.credentials
    answer: dict[str, object] = {
        "Version": 1,
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
    }
    if creds.password:
        answer["ConsolePassword"] = creds.password
    return answer
