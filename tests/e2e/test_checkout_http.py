"""The whole suite on the local cloud, over HTTP only: demo scenarios, replays, races, bad input."""

from __future__ import annotations

import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from orchestration.steps import label_of, rollback_of
from tests.e2e.conftest import Shop

pytestmark = pytest.mark.e2e


def operations(view, phase: str) -> list[str]:
    return [step["operation"] for step in view["steps"] if step["phase"] == phase]


def test_a_happy_checkout_is_confirmed_and_takes_the_stock(shop: Shop):
    before = shop.available("SKU-TSHIRT")

    accepted = shop.checkout([{"sku": "SKU-TSHIRT", "quantity": 2}])

    assert accepted.status == 202
    assert accepted.body["status"] == "PENDING"
    view = shop.wait_final(accepted.body["order_id"])
    assert view["status"] == "CONFIRMED"
    assert view["total"] == {"amount": 2 * 1_999, "currency": "EUR"}
    assert operations(view, "compensation") == []
    assert shop.available("SKU-TSHIRT") == before - 2


def test_out_of_stock_is_cancelled_with_a_reason_and_holds_nothing(shop: Shop):
    accepted = shop.checkout([{"sku": "SKU-RARE", "quantity": 5}])

    view = shop.wait_final(accepted.body["order_id"])

    assert view["status"] == "CANCELLED"
    assert view["reason_code"] == "OutOfStockError"
    assert "SKU-RARE" in view["reason"]
    assert "payment.authorize_payment" not in operations(view, "action")
    assert shop.available("SKU-RARE") == 1


def test_a_declined_card_is_cancelled_and_the_stock_released(shop: Shop):
    before = shop.available("SKU-MUG")

    view = shop.wait_final(shop.checkout([{"sku": "SKU-MUG", "quantity": 1}],
                                         token="tok_chargeDeclined").body["order_id"])  # fmt: skip

    assert view["status"] == "CANCELLED"
    assert view["reason_code"] == "PaymentDeclinedError"
    assert operations(view, "compensation") == [
        label_of(state) for state in rollback_of("AuthorizePayment")
    ]
    assert shop.available("SKU-MUG") == before


def test_a_failed_confirmation_is_voided_released_and_cancelled(shop: Shop):
    before = shop.available("SKU-POSTER")

    accepted = shop.checkout([{"sku": "SKU-POSTER", "quantity": 1}], fault="order.confirm")
    view = shop.wait_final(accepted.body["order_id"])

    assert view["status"] == "CANCELLED"
    assert view["reason_code"] == "InjectedFaultError"
    compensations = [s for s in view["steps"] if s["phase"] == "compensation"]
    assert [s["operation"] for s in compensations] == [
        label_of(state) for state in rollback_of("ConfirmOrder")
    ]
    assert all(step["outcome"] == "succeeded" for step in compensations)
    assert shop.available("SKU-POSTER") == before


def test_the_same_key_twenty_times_at_once_makes_one_order_and_one_capture(shop: Shop):
    before = shop.available("SKU-TSHIRT")
    key = "e2e-same-key-20-times"

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(
            lambda _: shop.checkout([{"sku": "SKU-TSHIRT", "quantity": 3}], key=key), range(20)
        ))  # fmt: skip

    assert {answer.status for answer in answers} == {202}
    assert len({answer.body["order_id"] for answer in answers}) == 1
    view = shop.wait_final(answers[0].body["order_id"])
    assert view["status"] == "CONFIRMED"
    assert operations(view, "action").count("payment.authorize_payment") == 1
    assert shop.available("SKU-TSHIRT") == before - 3
    # and the key with another body is refused, writing nothing
    conflict = shop.checkout([{"sku": "SKU-TSHIRT", "quantity": 1}], key=key)
    assert conflict.status == 409
    assert shop.available("SKU-TSHIRT") == before - 3


def test_two_hundred_buyers_race_for_twenty_units(shop: Shop):
    assert shop.available("SKU-DROP") == 20

    with ThreadPoolExecutor(max_workers=50) as pool:
        accepted = list(pool.map(
            lambda _: shop.checkout([{"sku": "SKU-DROP", "quantity": 1}]), range(200)
        ))  # fmt: skip
    assert {answer.status for answer in accepted} == {202}
    # A storefront polls gently (each status read replays a history on the same two cores as the
    # 200 executions): 8 pollers at 1 s, not 50 at 0.3 s, which starved the sagas into timeouts.
    with ThreadPoolExecutor(max_workers=8) as pool:
        views = list(pool.map(
            lambda answer: shop.wait_final(answer.body["order_id"], timeout=600, interval=1.0),
            accepted,
        ))  # fmt: skip

    statuses = [view["status"] for view in views]
    assert statuses.count("CONFIRMED") == 20
    assert statuses.count("CANCELLED") == 180
    assert {v["reason_code"] for v in views if v["status"] == "CANCELLED"} == {"OutOfStockError"}
    assert shop.available("SKU-DROP") == 0


BAD_REQUESTS = [
    pytest.param({"raw": b"{not json"}, 400, id="invalid-json"),
    pytest.param({"body": {"customer_id": "c", "items": [{"sku": "SKU-MUG", "quantity": "1"}],
                           "payment_token": "tok_visa"}}, 422, id="wrong-type"),
    pytest.param({"body": {"items": [{"sku": "SKU-MUG", "quantity": 1}]}}, 422, id="missing"),
    pytest.param({"body": {"customer_id": "c", "items": [{"sku": "SKU-MUG", "quantity": 0}],
                           "payment_token": "tok_visa"}}, 422, id="zero"),
    pytest.param({"body": {"customer_id": "c", "items": [{"sku": "SKU-MUG", "quantity": -2}],
                           "payment_token": "tok_visa"}}, 422, id="negative"),
    pytest.param({"body": {"customer_id": "c", "items": [{"sku": "SKU-MUG", "quantity": 10**7}],
                           "payment_token": "tok_visa"}}, 422, id="huge"),
    pytest.param({"body": {"customer_id": "c", "items": [{"sku": "SKU-NOPE", "quantity": 1}],
                           "payment_token": "tok_visa"}}, 422, id="unknown-sku"),
    pytest.param({"body": {"customer_id": "c", "items": [{"sku": "SKU-MUG", "quantity": 1}] * 2,
                           "payment_token": "tok_visa"}}, 422, id="duplicate-sku"),
    pytest.param({"raw": b'{"customer_id": "' + b"x" * 20_000 + b'"}'}, 413, id="oversize"),
    pytest.param({"body": {"customer_id": "c", "items": [{"sku": "SKU-MUG", "quantity": 1}],
                           "payment_token": "tok_visa"},
                  "headers": {"Content-Type": "text/plain"}}, 415, id="content-type"),
]  # fmt: skip


@pytest.mark.parametrize(("request_args", "status"), BAD_REQUESTS)
def test_bad_input_is_a_4xx_json_error_and_writes_nothing(shop: Shop, request_args, status):
    before = shop.available("SKU-MUG")
    key = f"e2e-bad-{status}-{len(str(request_args))}"
    headers = {"Idempotency-Key": key, **request_args.get("headers", {})}

    answer = shop.request(
        "POST", "/checkouts", request_args.get("body"), headers, raw=request_args.get("raw")
    )

    assert answer.status == status
    assert answer.body["error"]["message"]
    assert shop.available("SKU-MUG") == before
    from orchestration.api.checkouts import order_id_for

    assert shop.request("GET", f"/checkouts/{order_id_for(key)}").status == 404


def test_reads_answer_404_for_the_unknown(shop: Shop):
    assert shop.request("GET", "/checkouts/ord-ffffffffffffffffffffffff").status == 404
    assert shop.request("GET", "/products/SKU-NOPE").status == 404
    assert shop.request("GET", "/nowhere").status == 403  # as API Gateway answers


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("TRACE", "/products", "GET"),
    ("DELETE", "/checkouts/ord-0000000000000000", "GET"),
    ("HEAD", "/products/SKU-MUG", "GET"),
])  # fmt: skip
def test_another_method_on_a_known_path_is_405_through_the_gateway(shop: Shop, method, path,
                                                                   allowed):  # fmt: skip
    request = urllib.request.Request(shop.url + path, method=method)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)

    assert refused.value.code == 405
    assert refused.value.headers["Allow"] == allowed
    body = refused.value.read()
    assert (body == b"") if method == "HEAD" else b"method_not_allowed" in body


def test_an_unknown_path_is_403_as_at_api_gateway(shop: Shop):
    assert shop.request("GET", "/nowhere").status == 403
