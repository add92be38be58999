"""Which notification failures are tried again: throttling, 5xx and a refused connection are;
a hung endpoint is not (waiting for it again would only delay the emergency), nor a missing topic."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from breakglass_aws.notify import publish_with_retry


class Failing:
    def __init__(self, error: Exception, times: int) -> None:
        self.error, self.left, self.calls = error, times, 0

    def publish(self, message: dict[str, Any], subject: str) -> str:
        self.calls += 1
        if self.left:
            self.left -= 1
            raise self.error
        return "message-id"


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Publish")


@pytest.mark.parametrize(
    ("error", "calls", "delivered"),
    [
        (client_error("Throttling", 400), 2, True),
        (client_error("InternalFailure", 500), 2, True),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), 2, True),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:9"), 1, False),
        (client_error("NotFound", 404), 1, False),
    ],
    ids=["throttled", "5xx", "refused", "hung", "missing topic"],
)
def test_what_is_tried_again(error: Exception, calls: int, delivered: bool) -> None:
    notifier, failures = Failing(error, times=1), []
    got = publish_with_retry(notifier, {}, "s", lambda attempt, err: failures.append(attempt), sleep=lambda _s: None)
    assert notifier.calls == calls
    assert (got == "message-id") is delivered
    assert failures == [1]
