"""`breakglass package-lambda` and `breakglass sync`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from breakglass_aws.cli.common.output import emit
from breakglass_aws.cli.state import state
from breakglass_aws.lambda_package import DEFAULT_ARCHITECTURE, DEFAULT_PYTHON


def register(root: typer.Typer) -> None:
    root.command("package-lambda")(package_lambda)
    root.command("sync")(sync_command)


def sync_command(ctx: typer.Context) -> None:
    """Merge incidents kept with --offline-store into the shared store (nothing lost or duplicated)."""
    from breakglass_aws.journal import SqliteStore
    from breakglass_aws.journal.sync import offline_path, sync_offline
    from breakglass_aws.settings import default_state_dir

    st = state(ctx)
    path = offline_path(default_state_dir())
    if not path.exists():
        emit(
            st,
            {"incidents_copied": [], "incidents_updated": [], "entries_copied": 0},
            lambda: [f"nothing to sync: no offline journal at {path}"],
        )
        return
    result = sync_offline(st.runtime().store, SqliteStore(path))
    emit(
        st,
        result.model_dump(),
        lambda: [
            f"synced {len(result.incidents_copied)} new and {len(result.incidents_updated)} updated incident(s), "
            f"{result.entries_copied} journal entries, into the shared store"
        ],
    )


def package_lambda(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(metavar="DIR", help="Where to write breakglass-restore.zip.")] = Path("dist"),
    python: Annotated[
        str,
        typer.Option(
            "--python", metavar="VERSION", help="The function's Python (default: what the Terraform module deploys)."
        ),
    ] = DEFAULT_PYTHON,
    arch: Annotated[
        str,
        typer.Option(
            "--arch", metavar="x86_64|arm64", help="The function's architecture (default: what the module deploys)."
        ),
    ] = DEFAULT_ARCHITECTURE,
) -> None:
    """Build the scheduled restore function's zip for its runtime and architecture (pip fetches the
    wheels of that platform from the package registry), handler breakglass_aws.lambda_handler.handler."""
    from breakglass_aws import __version__
    from breakglass_aws.errors import UsageError
    from breakglass_aws.lambda_package import HANDLER, build_lambda_zip, read_build_record

    st = state(ctx)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder", "give a folder, e.g. --out dist")
    try:
        path = build_lambda_zip(out, python, arch, version=__version__)
    except OSError as err:
        raise UsageError(f"cannot write the zip into {out}: {err.strerror}", "give a writable folder") from err
    size = path.stat().st_size
    record = read_build_record(path.read_bytes())
    runtime, architecture = (record.runtime, record.architecture) if record else (f"python{python}", arch)
    emit(
        st,
        {"zip": str(path), "bytes": size, "handler": HANDLER, "runtime": runtime, "architecture": architecture},
        lambda: [f"{path} ({size // 1024} KiB) for {runtime} on {architecture}, handler {HANDLER}"],
    )
