"""The recursion guard: a profile whose `credential_process` runs breakglass, used by breakglass
itself, would start breakglass again for every credential lookup, for ever. The CLI marks its
own environment; a breakglass that finds the mark was started while its parent resolved AWS
credentials, and stops at once. `exec` and `role assume -- COMMAND` clear the mark for the
command they run (a breakglass started from there is a new start, not a recursion)."""

from __future__ import annotations

import os
from collections.abc import MutableMapping

__all__ = ["PARENT_ENV", "mark", "started_by"]

PARENT_ENV = "BREAKGLASS_PARENT_PID"


def started_by(environ: MutableMapping[str, str] = os.environ) -> str | None:
    """The pid of the breakglass whose credential lookup started this one, if any."""
    return environ.get(PARENT_ENV) or None


def mark(environ: MutableMapping[str, str] = os.environ) -> None:
    environ[PARENT_ENV] = str(os.getpid())
