"""The config file from Terraform: every output of `terraform output -json` named like a setting
becomes that setting, written as TOML (the few kinds settings take: text, integers, numbers,
booleans, lists of text), validated by the settings model before anything is written."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from breakglass_aws.errors import GuardRailError, UsageError
from breakglass_aws.settings import Settings

__all__ = ["parse_outputs", "settings_from_outputs", "to_toml", "write_config"]

HEADER = "# Written by `breakglass config from-terraform` from the outputs of `terraform output -json`.\n"
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def parse_outputs(text: str, source: str) -> dict[str, Any]:
    """{name: value} from the JSON `terraform output -json` prints ({name: {"value": ...}})."""
    try:
        answer = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(
            f"{source} is not JSON (line {err.lineno}, column {err.colno}: {err.msg})",
            "give it what `terraform output -json` prints",
        ) from None
    if not isinstance(answer, dict) or not all(isinstance(v, dict) and "value" in v for v in answer.values()):
        raise UsageError(
            f"{source} is not the JSON of `terraform output -json` (an object of outputs, each with a value)",
            "give it what `terraform output -json` prints",
        )
    return {name: item["value"] for name, item in answer.items()}


def settings_from_outputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Every output named like a setting (null ones left out), in the settings' order, checked by
    the settings model."""
    values = {name: outputs[name] for name in Settings.model_fields if outputs.get(name) is not None}
    if not values:
        raise UsageError(
            "no output is named like a setting of the tool",
            "run it on the outputs of terraform/examples/complete (or a configuration with such outputs)",
        )
    try:
        Settings(**values)
    except ValidationError as err:
        first = err.errors()[0]
        name = ".".join(str(part) for part in first["loc"])
        cause = (first.get("ctx") or {}).get("error")
        why = getattr(getattr(cause, "error", None), "message", None) or first["msg"]
        raise UsageError(f"output {name!r} is not a valid setting: {why}", "fix that output") from None
    return values


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise UsageError(f"cannot write {type(value).__name__} values to the config file", "use text, numbers or lists")


def to_toml(values: Mapping[str, Any]) -> str:
    """A TOML document of bare `key = value` lines (keys are setting names)."""
    return HEADER + "".join(f"{key} = {_value(value)}\n" for key, value in values.items())


def write_config(path: Path, text: str, force: bool) -> bool:
    """Write the file (its folder made 0700, the file 0600, replaced in one rename); an existing
    file only with `force`. True when a file was replaced."""
    existed = path.exists()
    if existed and not force:
        raise GuardRailError(
            f"{path} exists: not overwritten",
            "add --force to replace it, or --print to see the settings without writing",
        )
    if existed and not path.is_file():
        raise UsageError(f"{path} is not a file", "give a file path with --config")
    staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        staged.replace(path)
    except OSError as err:
        staged.unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {err.strerror}", "give a writable path with --config") from None
    return existed
