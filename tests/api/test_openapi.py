"""docs/openapi.yaml: generated from the handler, valid, true to the template and the answers."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from deploy.templates import functions
from orchestration.api.handler import app
from orchestration.api.models import CheckoutRequest

SPEC_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


def documented_routes(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in spec["paths"].items() for method in item}


def test_the_document_is_valid_openapi(spec):
    validate(spec)


def test_documented_routes_are_the_template_events_and_the_handler_routes(spec):
    [api] = [f for f in functions("orchestration") if f.logical_id == "CheckoutApiFunction"]
    template_routes = {
        (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
        for event in api.properties["Events"].values()
        if event["Properties"]["Method"] != "ANY"  # other methods: 405 (a test below)
    }
    handler_routes = {  # as registered with the Powertools resolver: /path/<param>
        (route.method, route.path.replace("<", "{").replace(">", "}"))
        for route in app._static_routes + app._dynamic_routes
    }
    assert documented_routes(spec) == template_routes == handler_routes


def test_the_request_schema_is_the_request_model(spec):
    schema = spec["components"]["schemas"]["CheckoutRequest"]
    assert set(schema["properties"]) == set(CheckoutRequest.model_fields)
    assert set(schema["required"]) == {
        name for name, field in CheckoutRequest.model_fields.items() if field.is_required()
    }


RESPONSE_CASES = [
    ("GET", "/products", None, {}),
    ("GET", "/products/SKU-A", None, {}),
    ("GET", "/products/SKU-NOPE", None, {}),
    ("GET", "/checkouts/ord-000000000000000000000000", None, {}),
    ("POST", "/checkouts", {"customer_id": "c", "items": [], "payment_token": "tok_visa"},
     {"headers": {"Idempotency-Key": "key-openapi-1"}}),
    ("POST", "/checkouts", {"customer_id": "c", "items": [{"sku": "SKU-A", "quantity": 1}],
                            "payment_token": "tok_visa"},
     {"headers": {"Idempotency-Key": "key-openapi-2"}}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "kwargs"), RESPONSE_CASES)
def test_responses_match_the_documented_schema(spec, api, saga, method, path, body, kwargs):
    saga.add_product("SKU-A", available=3)

    status, answer = api(method, path, body, **kwargs)

    template_path = next(p for p in spec["paths"] if _matches(p, path))
    responses = spec["paths"][template_path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} answered an undocumented {status}"
    documented = responses[str(status)]
    if "$ref" in documented:
        documented = spec["components"]["responses"][documented["$ref"].rsplit("/", 1)[-1]]
    schema = {**documented["content"]["application/json"]["schema"],
              "components": spec["components"]}  # fmt: skip
    OAS31Validator(schema).validate(answer)


def _matches(template: str, path: str) -> bool:
    parts, actual = template.strip("/").split("/"), path.strip("/").split("/")
    return len(parts) == len(actual) and all(
        p == a or p.startswith("{") for p, a in zip(parts, actual, strict=True)
    )


def test_path_parameter_patterns_are_the_contracts(spec):
    """A path parameter the document allows is one the API accepts (schemathesis ST202)."""
    from shared.contracts import OrderId, Sku

    declared = {
        parameter["name"]: parameter["schema"]["pattern"]
        for path in spec["paths"].values()
        for operation in path.values()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    }
    assert declared == {
        "order_id": typing.get_args(OrderId)[1].pattern,
        "sku": typing.get_args(Sku)[1].pattern,
    }


@pytest.mark.parametrize("query", ["", "?view=status", "?view=steps"])
def test_both_checkout_views_match_the_documented_schema(spec, api, saga, query):
    from tests.api.test_checkout_api import body, finish, post

    saga.add_product("SKU-A", available=5)
    _, accepted = post(api, body(payment_token="tok_chargeDeclined"))
    finish(saga, accepted["order_id"])

    status, answer = api("GET", f"/checkouts/{accepted['order_id']}{query}")

    assert status == 200
    documented = spec["paths"]["/checkouts/{order_id}"]["get"]["responses"]["200"]
    schema = {**documented["content"]["application/json"]["schema"],
              "components": spec["components"]}  # fmt: skip
    OAS31Validator(schema).validate(answer)
    assert ("steps" in answer) == (query == "?view=steps")


def test_the_committed_document_is_generated_from_the_code():
    from orchestration.openapi import render

    document = SPEC_PATH.read_text(encoding="utf-8")
    assert render() == document, "docs/openapi.yaml is stale: run make generate"


def test_the_fault_header_schema_is_the_fault_grammar_of_the_specification(spec):
    from orchestration.spec import SAGA
    from shared.faults import schedule_pattern

    expected = {"type": "string", "pattern": schedule_pattern(SAGA.fault_names)}
    assert expected == FAULT_HEADER


def _fault_header() -> dict[str, Any]:
    document = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    [header] = [
        p for p in document["paths"]["/checkouts"]["post"]["parameters"]
        if p["name"] == "X-Checkout-Fault"
    ]  # fmt: skip
    schema: dict[str, Any] = header["schema"]
    return schema


FAULT_HEADER = _fault_header()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedule=st.from_regex(FAULT_HEADER["pattern"], fullmatch=True))
def test_every_schedule_the_document_allows_the_api_accepts(schedule):
    """schemathesis ST202: a schema-valid header must never be refused."""
    from orchestration.api.handler import FAULT_OPERATIONS
    from shared.faults import MAX_SCHEDULE_LENGTH, normalize

    assume(len(schedule) <= MAX_SCHEDULE_LENGTH)
    normalize(schedule, FAULT_OPERATIONS)  # raises FaultScheduleError if refused


@pytest.mark.parametrize("refused", [
    "order.confirm; order.confirm", "order.confirm=teapot", "order.teapot", "order.confirm*0",
    "payment.authorize=timeout*21", "",
])  # fmt: skip
def test_schedules_the_api_refuses_are_outside_the_documented_pattern(refused):
    import re

    assert re.fullmatch(FAULT_HEADER["pattern"], refused) is None
