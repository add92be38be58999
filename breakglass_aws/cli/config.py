"""`breakglass config from-terraform`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from breakglass_aws.cli.common.output import emit
from breakglass_aws.cli.state import state

app = typer.Typer(rich_markup_mode=None, help="The config file.", no_args_is_help=True)


def _read(source: str) -> tuple[str, str]:
    """(text, name) of FILE, or of standard input for `-`."""
    from breakglass_aws.errors import UsageError

    if source == "-":
        if sys.stdin.isatty():
            raise UsageError(
                "standard input is a terminal, not the outputs",
                "pipe them in: terraform output -json | breakglass config from-terraform -",
            )
        return sys.stdin.read(), "standard input"
    try:
        return Path(source).read_text(encoding="utf-8"), source
    except (OSError, UnicodeDecodeError) as err:
        why = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise UsageError(f"cannot read {source}: {why}", "give the file `terraform output -json` wrote") from None


def _destination(config: Path | None) -> Path:
    from breakglass_aws.settings import default_config_path

    return config or Path(os.environ.get("BREAKGLASS_CONFIG") or default_config_path())


@app.command("from-terraform")
def from_terraform(
    ctx: typer.Context,
    source: Annotated[
        str, typer.Argument(metavar="[FILE|-]", help="What `terraform output -json` printed (- : standard input).")
    ] = "-",
    print_only: Annotated[bool, typer.Option("--print", help="Print the config file instead of writing it.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing config file.")] = False,
) -> None:
    """Write the config file (--config, else $BREAKGLASS_CONFIG, else $XDG_CONFIG_HOME/breakglass/config.toml)
    with every setting the Terraform outputs name. An existing file is kept unless --force (exit 4)."""
    from breakglass_aws.config_file import parse_outputs, settings_from_outputs, to_toml, write_config

    st = state(ctx)
    text, name = _read(source)
    values = settings_from_outputs(parse_outputs(text, name))
    document = to_toml(values)
    if print_only:
        typer.echo(document, nl=False)
        return
    path = _destination(st.config)
    replaced = write_config(path, document, force)
    emit(
        st,
        {"config": str(path), "settings": values, "replaced": replaced},
        lambda: [f"{'replaced' if replaced else 'wrote'} {path}: {', '.join(values)}"],
    )
