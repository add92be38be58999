"""The root command group: global options accepted anywhere, errors mapped to exit codes."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperArgument, TyperGroup

__all__ = ["EXIT_CODES", "GLOBAL_FLAGS", "GLOBAL_OPTIONS", "HelpGroup", "RootGroup", "hoist_global_options"]

EMERGENCY = ("scp", "role", "close", "restore")
EXIT_CODES = """\b
Exit codes (stable: runbooks branch on them):
  0  ok
  1  unexpected error (a bug)
  2  usage: bad input, an unknown incident, a group without its command
  3  the operator declined (nothing was changed)
  4  a guard rail refused: approval missing, target forbidden or held
  5  bad configuration
  6  AWS access denied, or missing or expired credentials
  7  AWS failed after retries, or an endpoint is unreachable
  8  partial apply: the incident id is printed; finish with the command shown
  exec: the command's own exit code; 126 not executable, 127 not found"""

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


class HelpGroup(TyperGroup):
    """A command group whose help lists each command's whole first sentence (wrapped, not cut),
    and whose usage lines name arguments by their metavar (INCIDENT_ID), as click does."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for command in self.commands.values():
            _name_arguments(command)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        names = [n for n in self.list_commands(ctx) if not getattr(self.get_command(ctx, n), "hidden", True)]
        for title, chosen in self.sections(names):
            rows = [(n, self.commands[n].get_short_help_str(limit=1000)) for n in chosen]
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)

    def sections(self, names: list[str]) -> list[tuple[str, list[str]]]:
        return [("Commands", names)]


class _NamedArgument(TyperArgument):
    def get_usage_pieces(self, ctx: Any) -> list[str]:
        name = str(self.metavar)
        name = name if self.required else f"[{name}]"
        return [name + ("..." if self.nargs != 1 else "")]


def _name_arguments(command: Any) -> None:
    """Every argument shown by its metavar (the parameter's name in capitals unless it has one):
    Typer's own usage line would read `{incident_id}`."""
    for param in command.params:
        if isinstance(param, TyperArgument) and not isinstance(param, _NamedArgument):
            param.metavar = param.metavar or str(param.name).upper()
            param.__class__ = _NamedArgument
    for sub in getattr(command, "commands", {}).values():
        _name_arguments(sub)


class RootGroup(HelpGroup):
    """The emergency commands first, in a section of their own; the exit codes in the epilog."""

    def sections(self, names: list[str]) -> list[tuple[str, list[str]]]:
        first = [n for n in EMERGENCY if n in names]
        return [("Emergency commands", first), ("Other commands", [n for n in names if n not in first])]

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
            traced = _verbosity(ctx) >= 2
            hint = (
                "this is a bug; report it with the traceback above"
                if traced
                else "this is a bug; rerun with -vv and report it"
            )
            _report(ctx, Base(f"unexpected error: {type(err).__name__}: {err}", hint))
            raise typer.Exit(1) from None


def _usage_error(err: Any) -> int:
    ctx = getattr(err, "ctx", None)
    if type(err).__name__ == "NoArgsIsHelpError" and ctx is not None:  # a group without its command
        typer.echo(ctx.get_help(), err=True)
        typer.echo(f"error: {ctx.command_path} needs a command (hint: see {ctx.command_path} --help)", err=True)
        return 2
    message = _missing(err) or (err.format_message() if hasattr(err, "format_message") else str(err))
    where = f"{ctx.command_path} --help" if ctx is not None else "breakglass --help"
    typer.echo(f"error: {' '.join(str(message).split())} (hint: see {where})", err=True)
    return int(getattr(err, "exit_code", 2))


def _missing(err: Any) -> str | None:
    """A required option or argument left out: named as the help names it."""
    param = getattr(err, "param", None)
    if type(err).__name__ != "MissingParameter" or param is None:
        return None
    opts = sorted(getattr(param, "opts", []), key=len)
    name = opts[-1] if getattr(param, "param_type_name", "") == "option" and opts else param.metavar or param.name
    return f"{name} is required"


def _verbosity(ctx: Any) -> int:
    return int(getattr(ctx.obj, "verbosity", 0) or 0)


def _report(ctx: Any, err: Any) -> None:
    import json

    from breakglass_aws.clock import zulu
    from breakglass_aws.errors import SEE_CALLS
    from breakglass_aws.redact import redact

    if _verbosity(ctx) and err.remediation:  # the calls are above already
        err.remediation = err.remediation.replace(f"; {SEE_CALLS}", "").replace(SEE_CALLS, "").strip("; ") or None
    obj = ctx.obj
    loaded = getattr(obj, "_settings", None)
    as_json = getattr(obj, "output", None) == "json" or getattr(loaded, "output", None) == "json"
    if as_json:
        typer.echo(zulu(redact(json.dumps(err.to_dict()))))
        return
    hint = f" (hint: {err.remediation})" if err.remediation else ""
    typer.echo(zulu(redact(f"error: {err.message}{hint}")), err=True)
