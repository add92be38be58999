"""`breakglass package-lambda`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from breakglass_aws.cli.common.output import emit
from breakglass_aws.cli.state import state


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
) -> None:
    """Build the scheduled restore function's zip (handler breakglass_aws.lambda_handler.handler)."""
    from breakglass_aws.errors import UsageError
    from breakglass_aws.lambda_package import build_lambda_zip

    st = state(ctx)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder", "give a folder, e.g. --out dist")
    try:
        path = build_lambda_zip(out)
    except OSError as err:
        raise UsageError(f"cannot write the zip into {out}: {err.strerror}", "give a writable folder") from err
    size = path.stat().st_size
    emit(
        st,
        {"zip": str(path), "bytes": size, "handler": "breakglass_aws.lambda_handler.handler"},
        lambda: [f"{path} ({size // 1024} KiB), handler breakglass_aws.lambda_handler.handler"],
    )
