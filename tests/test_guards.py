"""The test harness's own guards: nothing leaves loopback, and a moto server is really ours."""

from __future__ import annotations

import shutil
import socket
import textwrap
from pathlib import Path

import pytest

from breakglass_aws.testing import LOOPBACK, MotoServer

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).with_name("conftest.py")


def test_a_swallowed_attempt_to_leave_loopback_still_fails_the_test(pytester: pytest.Pytester) -> None:
    shutil.copy(CONFTEST, pytester.path / "conftest.py")
    pytester.makepyfile(
        test_inner=textwrap.dedent(
            """
            import botocore.session

            def test_swallows_the_error():
                sts = botocore.session.get_session().create_client(
                    "sts", region_name="us-east-1", endpoint_url="https://sts.guard.invalid"
                )
                try:
                    sts.get_caller_identity()
                except Exception:
                    pass  # the tool under test might well handle a connection error like this
            """
        )
    )
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*the test tried to leave loopback: resolve sts.guard.invalid*"])


def test_a_moto_server_refuses_a_port_another_server_holds() -> None:
    with socket.socket() as other:
        other.bind((LOOPBACK, 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"port {port} .* is in use"):
            MotoServer(port=port).start()
