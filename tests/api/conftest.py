"""The checkout API handler, in-process, in front of the real saga on moto (see tests/saga)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import pytest

from orchestration import aws
from orchestration.api.handler import lambda_handler
from orchestration.api.settings import get_settings
from tests.saga.conftest import SagaRig
from tests.saga.conftest import saga as saga  # the saga rig fixture, reused here
from tests.saga.harness import PARKED_TABLE, function_arn
from tests.support.lambda_context import FakeLambdaContext


def api_event(
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    raw_body: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy-integration event, as the local gateway and AWS send it."""
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    path, _, query = path.partition("?")
    parameters = dict(parse_qsl(query, keep_blank_values=True)) or None
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": parameters,
        "multiValueQueryStringParameters": (
            {k: [v] for k, v in parameters.items()} if parameters else None
        ),
        "pathParameters": None,
        "requestContext": {"httpMethod": method, "path": path, "stage": "test",
                           "requestId": "req-1"},
        "body": text,
        "isBase64Encoded": False,
    }  # fmt: skip


@pytest.fixture
def api(
    saga: SagaRig,  # the imported fixture, requested by name
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., tuple[int, Any]]:
    monkeypatch.setenv("STATE_MACHINE_ARN", saga.state_machine_arn)
    monkeypatch.setenv("GET_PRODUCTS_FUNCTION_ARN", function_arn("get-products"))
    monkeypatch.setenv("GET_ORDER_FUNCTION_ARN", function_arn("get-order"))
    monkeypatch.setenv("PARKED_CHECKOUTS_TABLE_NAME", PARKED_TABLE)
    get_settings.cache_clear()
    aws._client.cache_clear()

    def call(method: str, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        response = lambda_handler(
            api_event(method, path, body, **kwargs), FakeLambdaContext("checkout-api")
        )
        headers = {**response.get("headers", {}), **{
            k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()
        }}  # fmt: skip
        assert headers["Content-Type"] == "application/json"
        call.headers = headers  # type: ignore[attr-defined]  # the last response's
        return response["statusCode"], json.loads(response["body"])

    return call
