"""The root command group: global options accepted anywhere, errors mapped to exit codes."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

__all__ = ["GLOBAL_FLAGS", "GLOBAL_OPTIONS", "RootGroup", "hoist_global_options"]

GLOBAL_OPTIONS = {"--profile", "--region", "--output", "--config"}
GLOBAL_FLAGS = {"-v", "--verbose", "-q", "--quiet", "-vv", "-vvv", "--offline-store"}

log = logging.getLogger("breakglass_aws")


def hoist_global_options(args: list[str]) -> list[str]:
    """Move global options found after the subcommand to the front, as the aws CLI allows."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    child_from = _child_command_start(args)
    while i < len(args):
        arg = args[i]
        if arg == "--" or i == child_from:
            rest.extend(args[i:])
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS and "=" not in arg and i + 1 < len(args):
            front += [arg, args[i + 1]]
            i += 2
            continue
        if name in GLOBAL_OPTIONS or arg in GLOBAL_FLAGS:
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


EXEC_VALUE_OPTIONS = {"--token-code"}


def _child_command_start(args: list[str]) -> int | None:
    """Where the child's command begins in `exec INCIDENT_ID COMMAND ...`: from there on every
    option (--region, --output, --profile ...) is the child's, not breakglass's."""
    words = [i for i, a in enumerate(args) if not a.startswith("-")]
    first = next((i for i in words if i == 0 or not _takes_value(args[i - 1])), None)
    if first is None or args[first] != "exec" or "--" in args:  # with `--` the child's part is plain
        return None
    i = first + 1
    while i < len(args):
        if args[i] in EXEC_VALUE_OPTIONS or _takes_value(args[i]):
            i += 2
            continue
        if not args[i].startswith("-"):
            return i + 1  # just after the incident id
        i += 1
    return None


def _takes_value(arg: str) -> bool:
    return arg in GLOBAL_OPTIONS or arg in EXEC_VALUE_OPTIONS


class RootGroup(TyperGroup):
    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Usage errors as one line with a hint (no boxes, no traceback), exit code 2."""
        try:
            result = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
            code = result if isinstance(result, int) else 0
        except typer.Abort:
            typer.echo("error: aborted: nothing was changed", err=True)
            code = 3
        except typer.TyperException as err:
            code = _usage_error(err)
        if standalone_mode:
            sys.exit(code)
        return code

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(list(args)))

    def invoke(self, ctx: Any) -> Any:
        from breakglass_aws.errors import BreakglassError

        try:
            return super().invoke(ctx)
        except BreakglassError as err:
            _report(ctx, err)
            raise typer.Exit(err.exit_code) from None
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except Exception as err:  # a bug: one line, no locals; the traceback only with -vv
            from breakglass_aws.errors import BreakglassError as Base

            log.debug("unexpected error", exc_info=True)
            _report(
                ctx,
                Base(f"unexpected error: {type(err).__name__}: {err}", "this is a bug; rerun with -vv and report it"),
            )
            raise typer.Exit(1) from None


def _usage_error(err: Any) -> int:
    ctx = getattr(err, "ctx", None)
    if type(err).__name__ == "NoArgsIsHelpError" and ctx is not None:
        typer.echo(ctx.get_help())
        return 0
    message = err.format_message() if hasattr(err, "format_message") else str(err)
    where = f"{ctx.command_path} --help" if ctx is not None else "breakglass --help"
    typer.echo(f"error: {' '.join(str(message).split())} (hint: see {where})", err=True)
    return int(getattr(err, "exit_code", 2))


def _report(ctx: Any, err: Any) -> None:
    import json

    from breakglass_aws.redact import redact

    obj = ctx.obj
    loaded = getattr(obj, "_settings", None)
    as_json = getattr(obj, "output", None) == "json" or getattr(loaded, "output", None) == "json"
    if as_json:
        typer.echo(redact(json.dumps(err.to_dict())))
        return
    hint = f" (hint: {err.remediation})" if err.remediation else ""
    typer.echo(redact(f"error: {err.message}{hint}"), err=True)
