"""breakglass-aws: emergency access to AWS that always puts the controls back, with proof.

The library is usable without the command line: build a `Runtime` (a `ClientFactory` and a
store), then call the lifecycle functions.
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

__all__ = ["__version__"]

logging.getLogger(__name__).addHandler(logging.NullHandler())
