"""Fault injection through botocore event hooks (moto enforces none of these AWS rules)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSResponse


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body

    def read(self, *_: Any, **__: Any) -> bytes:
        return self._body


def json_error(code: str, message: str = "injected", status: int = 400) -> AWSResponse:
    body = json.dumps({"__type": code, "Message": message}).encode()
    headers = {"x-amzn-RequestId": "injected", "Content-Type": "application/x-amz-json-1.1"}
    return AWSResponse("https://injected", status, headers, _Raw(body))


def operation_of(request: Any) -> str:
    target = request.headers.get("X-Amz-Target", b"")
    target = target.decode() if isinstance(target, bytes) else str(target)
    return target.rsplit(".", 1)[-1]


def fail(
    operation: str, code: str, times: int = 1_000_000, status: int = 400, before: Callable[[], None] | None = None
) -> tuple[str, Callable[..., Any]]:
    """A before-send hook answering `operation` with `code` for its first `times` sends."""
    left = [times]

    def hook(request: Any = None, **_: Any) -> AWSResponse | None:
        if operation_of(request) != operation or left[0] <= 0:
            return None
        left[0] -= 1
        if before is not None:
            before()
        return json_error(code, status=status)

    return "before-send.organizations", hook


def storm(code: str, first: int) -> tuple[str, Callable[..., Any]]:
    """Answer the first `first` Organizations requests of any kind with `code`, then clear."""
    left = [first]

    def hook(request: Any = None, **_: Any) -> AWSResponse | None:
        if left[0] <= 0:
            return None
        left[0] -= 1
        return json_error(code)

    return "before-send.organizations", hook


def reject(
    operation: str, code: str, times: int = 1_000_000, status: int = 400, before: Callable[[], None] | None = None
) -> tuple[str, Callable[..., Any]]:
    """A before-call hook: AWS answers `operation` with `code` and the request never applies.

    (A before-send answer would still let moto apply the request, since moto listens there too.)
    """
    left = [times]

    def hook(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if left[0] <= 0:
            return None
        left[0] -= 1
        if before is not None:
            before()
        parsed = {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return AWSResponse("https://injected", status, {}, _Raw(b"")), parsed

    return f"before-call.organizations.{operation}", hook


def answer(code: str, status: int) -> tuple[AWSResponse, dict[str, Any]]:
    parsed = {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return AWSResponse("https://injected", status, {}, None), parsed


def dynamodb_fails(predicate: Any) -> list[tuple[str, Any]]:
    """Hooks answering a 500 to the DynamoDB writes `predicate(model, api_params)` picks (the API
    parameters are seen as they are built; the answer replaces the request)."""

    def mark(model: Any = None, params: Any = None, context: Any = None, **_: Any) -> None:
        if predicate(model, params):
            context["injected_failure"] = True

    def fail(context: Any = None, **_: Any) -> Any:
        return answer("InternalServerError", 500) if context.get("injected_failure") else None

    return [("before-parameter-build.dynamodb", mark), ("before-call.dynamodb", fail)]
