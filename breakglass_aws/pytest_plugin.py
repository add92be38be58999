"""pytest plugin of the testing kit (`breakglass_aws.testing_kit`), registered under pytest's
`pytest11` entry point. It only defines fixtures: a session that asks for none of them starts
nothing, imports nothing heavy, and keeps its environment.

- `breakglass_sandbox`: for one test, the kit reset (moto wiped, no seeded events, the
  organization seeded again) with AWS_ENDPOINT_URL, fake credentials and the region set in the
  environment (and AWS_PROFILE, AWS_SESSION_TOKEN, AWS_ENDPOINT_URL_* unset) until the test ends;
- `breakglass_sandbox_session`: the kit itself, one moto server for the whole session, stopped
  by its PID at the end; the environment untouched.

Without plugin autoloading (PYTEST_DISABLE_PLUGIN_AUTOLOAD): `-p breakglass_aws.pytest_plugin`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from breakglass_aws.testing_kit import Sandbox

__all__ = ["breakglass_sandbox", "breakglass_sandbox_session"]


@pytest.fixture(scope="session")
def breakglass_sandbox_session() -> Iterator[Sandbox]:
    """One kit for the session: a moto server on 127.0.0.1 with CloudTrail LookupEvents over
    seeded events, the root-task stand-ins and a seeded organization."""
    from breakglass_aws.testing_kit import start_sandbox

    with start_sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def breakglass_sandbox(breakglass_sandbox_session: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """The kit, fresh for this test, with the environment pointing every AWS client at it."""
    from breakglass_aws.testing import unset_variables

    sandbox = breakglass_sandbox_session
    sandbox.reset()
    for key in unset_variables(dict(os.environ)):
        monkeypatch.delenv(key)
    for key, value in sandbox.env.items():
        monkeypatch.setenv(key, value)
    return sandbox
