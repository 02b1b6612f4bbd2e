"""POST /checkouts, GET /checkouts/{id}, GET /products: against the real saga on moto."""

from __future__ import annotations

from typing import Any

import pytest

from orchestration.spec import SAGA
from orchestration.steps import label_of, rollback_of
from tests.saga.harness import wait_for_execution

KEY = "key-0000000001"


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "customer_id": "cust-42",
        "items": [{"sku": "SKU-A", "quantity": 2}],
        "payment_token": "tok_visa",
        **overrides,
    }


@pytest.fixture
def shop(saga):
    saga.add_product("SKU-A", available=5, unit_price=1_250)
    saga.add_product("SKU-B", available=1, unit_price=500)
    return saga


def post(api, payload: Any = None, key: str | None = KEY, **kwargs: Any) -> Any:
    headers = dict(kwargs.pop("headers", {}))
    if key is not None:
        headers["Idempotency-Key"] = key
    return api(
        "POST", "/checkouts", body() if payload is None else payload, headers=headers, **kwargs
    )


def finish(saga, order_id: str) -> None:
    arn = saga.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{order_id}"
    wait_for_execution(saga.sfn, arn)


def test_a_checkout_is_accepted_then_confirmed_with_its_steps(api, shop):
    status, accepted = post(api)

    assert status == 202
    assert accepted["status"] == "PENDING"
    finish(shop, accepted["order_id"])
    status, view = api("GET", f"/checkouts/{accepted['order_id']}?view=steps")
    assert status == 200
    assert view["status"] == "CONFIRMED"
    assert view["total"] == {"amount": 2_500, "currency": "EUR"}
    assert [s["operation"] for s in view["steps"] if s["phase"] == "action"] == [
        label_of(step.state) for step in SAGA.steps
    ]
    assert all(step["outcome"] == "succeeded" for step in view["steps"])


def test_a_declined_card_reads_cancelled_with_reason_and_compensations(api, shop):
    _, accepted = post(api, body(payment_token="tok_chargeDeclined"))
    finish(shop, accepted["order_id"])

    _, view = api("GET", f"/checkouts/{accepted['order_id']}?view=steps")

    assert view["status"] == "CANCELLED"
    assert view["reason_code"] == "PaymentDeclinedError"
    assert "declined" in view["reason"]
    charge = next(s for s in view["steps"] if s["operation"] == "payment.authorize_payment")
    assert charge["outcome"] == "failed"
    assert charge["error"] == "PaymentDeclinedError"
    assert [s["operation"] for s in view["steps"] if s["phase"] == "compensation"] == [
        label_of(state) for state in rollback_of("AuthorizePayment")
    ]


def test_a_fault_header_fails_that_operation(api, shop):
    _, accepted = post(api, headers={"X-Checkout-Fault": "order.confirm"})
    finish(shop, accepted["order_id"])

    _, view = api("GET", f"/checkouts/{accepted['order_id']}")

    assert view["status"] == "CANCELLED"
    assert view["reason_code"] == "InjectedFaultError"
    assert shop.available("SKU-A") == 5


def test_the_fault_header_is_refused_in_production(api, shop, monkeypatch):
    from orchestration.api.settings import get_settings

    monkeypatch.setenv("STAGE", "prod")
    get_settings.cache_clear()

    status, error = post(api, headers={"X-Checkout-Fault": "order.confirm"})

    assert status == 400
    assert error["error"]["code"] == "fault_injection_disabled"
    assert shop.orders() == []


def test_the_same_key_and_body_replays_the_same_order_even_after_it_closed(api, shop):
    _, first = post(api)
    finish(shop, first["order_id"])

    status, again = post(api)

    assert status == 202
    assert again == {"order_id": first["order_id"], "status": "CONFIRMED"}
    assert len(shop.orders()) == 1
    assert len(shop.payments()) == 1


def test_the_same_key_with_another_body_is_a_conflict(api, shop):
    _, first = post(api)
    finish(shop, first["order_id"])

    status, error = post(api, body(items=[{"sku": "SKU-A", "quantity": 1}]))

    assert status == 409
    assert error["error"]["code"] == "idempotency_key_reused"
    assert shop.available("SKU-A") == 3


def test_unknown_order_is_404(api, shop):
    status, error = api("GET", "/checkouts/ord-000000000000000000000000")

    assert status == 404
    assert error["error"]["code"] == "checkout_not_found"


def test_products_are_listed_and_read_one_by_one(api, shop):
    status, listed = api("GET", "/products")
    assert status == 200
    assert listed["products"][0] == {
        "sku": "SKU-A", "name": "Product SKU-A", "price": 1_250, "currency": "EUR", "available": 5,
    }  # fmt: skip
    status, one = api("GET", "/products/SKU-B")
    assert status == 200
    assert one["available"] == 1
    status, missing = api("GET", "/products/SKU-NOPE")
    assert status == 404
    assert missing["error"]["code"] == "product_not_found"


BAD_REQUESTS = [
    pytest.param({"raw_body": "{not json"}, 400, "invalid_json", id="invalid-json"),
    pytest.param({"payload": body(items=[{"sku": "SKU-A", "quantity": "2"}])}, 422,
                 "invalid_request", id="wrong-type"),
    pytest.param({"payload": {"items": [{"sku": "SKU-A", "quantity": 1}]}}, 422,
                 "invalid_request", id="missing-fields"),
    pytest.param({"payload": body(items=[{"sku": "SKU-A", "quantity": 0}])}, 422,
                 "invalid_request", id="zero-quantity"),
    pytest.param({"payload": body(items=[{"sku": "SKU-A", "quantity": -1}])}, 422,
                 "invalid_request", id="negative-quantity"),
    pytest.param({"payload": body(items=[{"sku": "SKU-A", "quantity": 10**9}])}, 422,
                 "invalid_request", id="huge-quantity"),
    pytest.param({"payload": body(items=[{"sku": "SKU-NOPE", "quantity": 1}])}, 422,
                 "unknown_sku", id="unknown-sku"),
    pytest.param({"payload": body(items=[{"sku": "SKU-A", "quantity": 1}] * 2)}, 422,
                 "invalid_request", id="duplicate-sku"),
    pytest.param({"payload": body(price=1)}, 422, "invalid_request", id="client-price"),
    pytest.param({"raw_body": "{" + " " * 20_000 + "}"}, 413, "body_too_large", id="oversize"),
    pytest.param({"headers": {"Content-Type": "text/plain"}}, 415, "unsupported_media_type",
                 id="content-type"),
    # Powertools would parse these as a form, and as JSON: refused before routing (transport.py).
    pytest.param({"headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415,
                 "unsupported_media_type", id="form-content-type"),
    pytest.param({"headers": {"Content-Type": ""}}, 415, "unsupported_media_type",
                 id="no-content-type"),
    pytest.param({"key": None}, 400, "idempotency_key_required", id="no-key"),
    pytest.param({"key": "short"}, 400, "invalid_parameter", id="bad-key"),
    pytest.param({"headers": {"X-Checkout-Fault": "nope"}}, 400, "invalid_fault_schedule",
                 id="bad-fault"),
    pytest.param({"headers": {"X-Checkout-Fault": "shipping.send=timeout"}}, 400,
                 "invalid_fault_schedule", id="fault-unknown-operation"),
    pytest.param({"headers": {"X-Checkout-Fault": "order.confirm=explode"}}, 400,
                 "invalid_fault_schedule", id="fault-unknown-kind"),
    pytest.param({"payload": [1, 2]}, 422, "invalid_request", id="not-an-object"),
]  # fmt: skip


@pytest.mark.parametrize(("request_args", "status", "code"), BAD_REQUESTS)
def test_bad_input_is_a_4xx_naming_the_problem_and_writes_nothing(
    api, shop, request_args, status, code
):
    answer_status, answer = post(api, **request_args)

    assert answer_status == status
    assert answer["error"]["code"] == code
    assert answer["error"]["message"]
    assert shop.orders() == []
    assert shop.sfn.list_executions(stateMachineArn=shop.state_machine_arn)["executions"] == []


def test_a_refused_body_names_each_field_in_the_details(api, shop):
    payload = body(customer_id="", items=[{"sku": "SKU-A", "quantity": "2"}])

    status, answer = post(api, payload)

    assert status == 422
    fields = [detail["field"] for detail in answer["error"]["details"]]
    assert fields == ["customer_id", "items.0.quantity"]
    assert answer["error"]["message"] == (
        "the request body is invalid: customer_id, items.0.quantity"
    )


def test_a_response_that_does_not_fit_its_model_is_a_500_not_a_client_error(api, shop, monkeypatch):
    from types import SimpleNamespace

    from orchestration.api import catalog

    def broken(*_args: Any) -> SimpleNamespace:
        return SimpleNamespace(products=[{"sku": "SKU-A", "price": "free"}], missing=[])

    monkeypatch.setattr(catalog, "get_products", broken)

    status, answer = api("GET", "/products/SKU-A")

    assert status == 500
    assert answer["error"]["code"] == "internal_error"


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "Application/JSON; charset=UTF-8"},
        {"Idempotency-Key": f"  {KEY}  "},
        {"X-Checkout-Fault": "   "},
    ],
    ids=["media-type-case", "key-with-spaces", "empty-fault"],
)
def test_headers_are_read_trimmed_and_case_insensitively(api, shop, headers):
    status, accepted = post(api, headers=headers)

    assert status == 202, accepted
    finish(shop, accepted["order_id"])
    assert shop.order(accepted["order_id"])["status"] == "CONFIRMED"  # no fault was applied


def test_an_empty_idempotency_key_is_a_missing_one(api, shop):
    status, answer = post(api, key="   ")

    assert status == 400
    assert answer["error"]["code"] == "idempotency_key_required"


def test_a_header_sent_twice_counts_by_its_last_value(api, shop):
    from orchestration.api.handler import lambda_handler
    from tests.api.conftest import api_event
    from tests.support.lambda_context import FakeLambdaContext

    event = api_event("POST", "/checkouts", body(), headers={"Idempotency-Key": KEY})
    event["multiValueHeaders"]["Idempotency-Key"] = ["key-first-00001", KEY]

    answer = lambda_handler(event, FakeLambdaContext("checkout-api"))

    assert answer["statusCode"] == 202, answer["body"]


def test_header_names_are_case_insensitive(api, shop):
    status, accepted = api(
        "POST",
        "/checkouts",
        body(),
        headers={"content-type": "application/json; charset=utf-8", "idempotency-key": KEY},
    )

    assert status == 202
    assert accepted["status"] == "PENDING"


@pytest.mark.parametrize(
    "raw_body",
    [
        '{"customer_id": "c", "items": [{"sku": "SKU-A", "quantity": ' + "9" * 5000 + "}]}",
        "[" * 5000,
    ],
    ids=["5000-digit-number", "deep-nesting"],
)
def test_pathological_json_is_a_400_not_a_crash(api, shop, raw_body):
    status, error = post(api, raw_body=raw_body)

    assert status == 400
    assert error["error"]["code"] == "invalid_json"
    assert shop.orders() == []


def test_a_confirmed_order_reads_confirmed_even_if_its_event_could_not_be_published(api, shop):
    # Given the event bus is gone, so publishing CheckoutConfirmed fails after its retries
    import boto3

    from tests.saga.harness import EVENT_BUS

    boto3.client("events", region_name="us-east-1").delete_event_bus(Name=EVENT_BUS)
    _, accepted = post(api)
    finish(shop, accepted["order_id"])

    status, view = api("GET", f"/checkouts/{accepted['order_id']}")

    # Then the execution failed (the alarm fires) but the customer is told the truth: confirmed
    arn = shop.state_machine_arn.replace(":stateMachine:", ":execution:")
    described = shop.sfn.describe_execution(executionArn=f"{arn}:{accepted['order_id']}")
    assert described["status"] == "FAILED"
    assert status == 200
    assert view["status"] == "CONFIRMED"
    assert view["total"] == {"amount": 2_500, "currency": "EUR"}
    assert shop.order(accepted["order_id"])["status"] == "CONFIRMED"


# --- what the reconciler did ---------------------------------------------------------------------


def test_a_stopped_checkout_reads_pending_until_the_reconciler_finished_it(api, shop):
    shop.stop_when("authorize-payment")
    _, accepted = post(api)
    order_id = accepted["order_id"]
    finish(shop, order_id)

    _, while_dead = api("GET", f"/checkouts/{order_id}?view=steps")
    shop.reconcile(order_id)
    shop.wait(f"{order_id}--r1")
    _, after = api("GET", f"/checkouts/{order_id}?view=steps")

    assert while_dead["status"] == "PENDING"
    assert while_dead["reason"] is None
    assert while_dead["recoveries"] == []
    assert after["status"] == "CANCELLED"
    assert after["reason_code"] == "ExecutionAborted"
    [recovery] = after["recoveries"]
    assert recovery["execution"] == f"{order_id}--r1"
    assert recovery["resume"] == "compensate"
    assert recovery["status"] == "SUCCEEDED"
    assert "ended ABORTED in AuthorizePayment" in recovery["reason"]
    rollback = [s for s in after["steps"] if s["execution"] == f"{order_id}--r1"]
    assert [s["operation"] for s in rollback if s["phase"] == "compensation"] == [
        label_of(state) for state in rollback_of("ConfirmOrder")
    ]
    assert shop.available("SKU-A") == 5


def test_a_checkout_the_reconciler_parked_reads_failed_with_its_reason(api, shop):
    shop.stop_when("authorize-payment")
    _, accepted = post(api)
    order_id = accepted["order_id"]
    finish(shop, order_id)
    for number in (1, 2, 3):
        shop.stop_when("void-payment", nth=number)
        shop.reconcile(order_id if number == 1 else f"{order_id}--r{number - 1}")
        shop.wait(f"{order_id}--r{number}")
    shop.reconcile(f"{order_id}--r3")

    _, view = api("GET", f"/checkouts/{order_id}?view=steps")

    assert view["status"] == "FAILED"
    assert view["reason_code"] == "CheckoutParkedForOperator"
    assert view["parked"]["error"] == "RecoveryExhausted"
    assert view["parked"]["stuck_step"] == "reconciler"
    assert "parked for an operator" in view["reason"]
    assert [r["execution"] for r in view["recoveries"]] == [f"{order_id}--r{n}" for n in (1, 2, 3)]


def test_a_running_checkout_carries_a_polling_hint_and_a_finished_one_none(api, shop):
    shop.stop_when("authorize-payment")  # dead until the reconciler runs: PENDING for as long
    status, accepted = post(api)
    order_id = accepted["order_id"]
    assert status == 202
    assert api.headers["Retry-After"] == "1"
    assert api.headers["Location"] == f"/checkouts/{order_id}"
    finish(shop, order_id)

    _, pending = api("GET", f"/checkouts/{order_id}")
    assert pending["status"] == "PENDING"
    assert api.headers["Retry-After"] == "1"
    shop.reconcile(order_id)
    shop.wait(f"{order_id}--r1")
    _, ended = api("GET", f"/checkouts/{order_id}")
    assert ended["status"] == "CANCELLED"
    assert "Retry-After" not in api.headers


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("DELETE", "/checkouts", "POST"),
    ("PUT", "/products", "GET"),
    ("OPTIONS", "/products", "GET"),
])  # fmt: skip
def test_another_method_on_a_known_path_is_405_naming_the_allowed_ones(api, method, path, allowed):
    status, body = api(method, path)

    assert status == 405
    assert body["error"]["code"] == "method_not_allowed"
    assert api.headers["Allow"] == allowed
