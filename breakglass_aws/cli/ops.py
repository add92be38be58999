"""`breakglass package-lambda`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from breakglass_aws.cli.render import emit
from breakglass_aws.cli.state import state


def register(root: typer.Typer) -> None:
    root.command("package-lambda")(package_lambda)


def package_lambda(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(metavar="DIR", help="Where to write breakglass-restore.zip.")] = Path("dist"),
) -> None:
    """Build the scheduled restore function's zip (handler breakglass_aws.lambda_handler.handler)."""
    from breakglass_aws.lambda_package import build_lambda_zip

    st = state(ctx)
    path = build_lambda_zip(out)
    size = path.stat().st_size
    emit(
        st,
        {"zip": str(path), "bytes": size, "handler": "breakglass_aws.lambda_handler.handler"},
        lambda: [f"{path} ({size // 1024} KiB), handler breakglass_aws.lambda_handler.handler"],
    )
