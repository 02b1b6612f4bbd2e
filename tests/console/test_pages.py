"""The console's pages: what each shows is read back from Step Functions after a real saga ran."""

from __future__ import annotations

import re

import pytest

from orchestration.console.graph import COMPENSATION, FORWARD, PARKING, STUCK, layout
from orchestration.spec import SAGA
from tests.api.test_checkout_api import body, finish, post
from tests.console.conftest import text

pytestmark = pytest.mark.saga


@pytest.fixture
def shop(saga):
    saga.add_product("SKU-A", available=5, unit_price=1_250)
    return saga


def _marks(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-state="([A-Za-z]+)" data-mark="([a-z]*)"', page))


def test_the_graph_puts_each_compensation_under_the_step_it_undoes(console, saga):
    described = saga.sfn.describe_state_machine(stateMachineArn=saga.state_machine_arn)
    import json

    graph = layout(json.loads(described["definition"]))

    for step in SAGA.compensatable:
        assert graph.nodes[step.state].lane == FORWARD
        undo = graph.nodes[str(step.compensation_state)]
        assert (undo.lane, undo.column) == (COMPENSATION, graph.nodes[step.state].column)
    assert graph.nodes["ParkCheckout"].lane == PARKING
    assert graph.nodes["VoidPaymentStuck"].lane == STUCK
    positions = [(node.lane, node.column) for node in graph.nodes.values()]
    assert len(positions) == len(set(positions)), "two states drawn on one spot"
    page = text(console.get("/graph"))
    assert set(_marks(page)) == set(graph.nodes)
    assert 'class="legend"' in page


def test_a_failed_confirmation_shows_the_failed_step_and_its_three_compensations(
    api, console, shop
):
    _, accepted = post(api, body(), headers={"X-Checkout-Fault": "order.confirm"})
    order_id = accepted["order_id"]
    finish(shop, order_id)

    response = console.get(f"/checkouts/{order_id}")

    assert response.status_code == 200
    page = text(response)
    marks = _marks(page)
    assert marks["ConfirmOrder"] == "failed"
    assert {marks[state] for state in ("VoidPayment", "ReleaseStock", "CancelOrder")} == {
        "compensated"
    }
    assert marks["CreateOrder"] == marks["ReserveStock"] == marks["AuthorizePayment"] == "done"
    assert marks["CapturePayment"] == ""  # never entered
    assert 'id="cause"' in page
    compensations = re.findall(r"<tr><td><code>([a-z_.]+)</code></td><td>([^<]*)</td>", page)
    assert [operation for operation, _ in compensations] == [
        "payment.void_payment", "inventory.release_stock", "order.cancel_order",
    ]  # fmt: skip
    assert 'class="status CANCELLED"' in page
    assert page.count('class="compensation"') == 3  # three compensation bars on the timeline
    taken = set(re.findall(r'class="edge \w+ taken" data-edge="([^"]+)"', page))
    assert {"ConfirmOrder>VoidPayment", "VoidPayment>ReleaseStock", "ReleaseStock>CancelOrder",
            "CancelOrder>CheckoutCancelled"} <= taken  # fmt: skip
    assert "RouteCheckout>ConfirmOrder" not in taken  # a recovery's lane, not this checkout's
    assert "ConfirmOrder>CapturePayment" not in taken


def test_the_list_shows_each_checkout_with_its_status_and_filters_by_it(api, console, shop):
    _, confirmed = post(api, key="key-console-ok")
    _, declined = post(api, body(payment_token="tok_chargeDeclined"), key="key-console-no")
    finish(shop, confirmed["order_id"])
    finish(shop, declined["order_id"])

    page = text(console.get("/"))
    rows = dict(re.findall(r'data-order="([^"]+)".*?class="status (\w+)"', page))
    assert rows == {confirmed["order_id"]: "CONFIRMED", declined["order_id"]: "CANCELLED"}
    assert "25.00 EUR" in page

    cancelled = text(console.get("/?status=cancelled&fragment=1"))
    assert declined["order_id"] in cancelled
    assert confirmed["order_id"] not in cancelled
    assert "<html" not in cancelled  # the fragment the page refreshes itself with


def test_an_unknown_checkout_is_a_clear_not_found_page(console, saga):
    response = console.get("/checkouts/ord-000000000000000000000000")

    assert response.status_code == 404
    assert "No checkout with order id ord-000000000000000000000000" in text(response)
    assert console.get("/checkouts/<script>").status_code == 404
    assert console.get("/nowhere").status_code == 404


def test_static_files_are_served_and_nothing_else_is(console, saga):
    assert console.get("/static/console.css").status_code == 200
    assert console.get("/static/console.js").headers["Content-Type"].startswith("text/javascript")
    assert console.get("/static/..%2Fserver.py").status_code == 404


def test_a_page_asked_for_under_another_host_name_is_refused(console, saga):
    """DNS rebinding: another site's name pointed at 127.0.0.1 must not read the console."""
    assert console.get("/", headers={"Host": "evil.example:8080"}).status_code == 403
    assert console.get("/", headers={"Host": "localhost:8080"}).status_code == 200
    assert console.get("/", headers={"Host": "127.0.0.1:8080"}).status_code == 200


def test_a_recovery_execution_is_not_a_checkout_of_its_own(api, console, shop):
    _, accepted = post(api)
    finish(shop, accepted["order_id"])

    assert console.get(f"/checkouts/{accepted['order_id']}--r1").status_code == 404


def test_a_stopped_execution_reads_died_until_parked_then_failed(api, shop):
    import json as json_module

    from orchestration.console.data import recent_checkouts

    arn = shop.sfn.start_execution(
        stateMachineArn=shop.state_machine_arn, name="ord-stopped-000000000001",
        input=json_module.dumps(SAGA.execution_input({
            "order_id": "ord-stopped-000000000001", "customer_id": "c",
            "items": [{"sku": "SKU-A", "quantity": 1}], "payment_token": "tok_visa",
        })),
    )["executionArn"]  # fmt: skip
    shop.sfn.stop_execution(executionArn=arn)
    finish(shop, "ord-stopped-000000000001")

    [died] = recent_checkouts(shop.sfn, shop.state_machine_arn)
    parked = {"stuck_step": "release_stock", "error": "ExecutionDied"}
    [failed] = recent_checkouts(
        shop.sfn, shop.state_machine_arn, parked={"ord-stopped-000000000001": parked}
    )

    assert died.status == "DIED"
    assert failed.status == "FAILED"
    assert failed.reason == "parked at release_stock (ExecutionDied)"
