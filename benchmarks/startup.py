"""`breakglass --help` start-up against a minimal Typer app."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from benchmarks.harness import Comparison, Side, sh, tool

MINI_APP = '''
import typer

app = typer.Typer()


@app.command()
def hello(name: str = "world") -> None:
    """Say hello."""
    typer.echo(f"hello {name}")


@app.command()
def bye() -> None:
    """Say bye."""


app()
'''


def comparison() -> Comparison:
    folder = Path(tempfile.mkdtemp(prefix="bg-bench-"))
    mini = folder / "mini_app.py"
    mini.write_text(MINI_APP)
    breakglass = tool("breakglass")
    return Comparison(
        name="--help start-up",
        ours=Side("breakglass --help", lambda env: sh([breakglass, "--help"], env)),
        theirs=Side("minimal Typer app --help", lambda env: sh([sys.executable, str(mini), "--help"], env)),
        goal="<= 1.2x a minimal Typer app",
        ratio_kind="relative",
        passed=lambda r: r <= 1.2,
    )
