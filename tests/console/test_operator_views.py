"""The console against "AWS" (moto, found through SSM as `checkout console --aws` finds it):
read-only, and the parked view and its retry through the operator commands' own code."""

from __future__ import annotations

import argparse
import re

import pytest
from werkzeug.test import Client

from orchestration.cli.target import add_target_arguments, resolve
from orchestration.console.server import Console, _checkout_from_form
from orchestration.console.sources import source_for
from tests.console.conftest import text
from tests.saga.test_checkout_saga import checkout
from tests.saga.test_operator import ORDER, parked_after_release_kept_failing
from tests.saga.test_operator import operator as operator  # the SSM-published rig, by name

pytestmark = pytest.mark.saga

AWS = ["--aws", "--region", "us-east-1", "--stage", "test"]


def _console(read_only: bool) -> Client:
    parser = argparse.ArgumentParser()
    add_target_arguments(parser)
    target = resolve(parser.parse_args(AWS))
    return Client(Console(source_for(target, read_only=read_only, api_url=None)))


def _token(page: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page)
    assert found, "the page holds no form token"
    return found[1]


def test_the_aws_console_finds_the_saga_through_ssm_and_is_read_only(operator):
    assert operator.run(checkout()).status == "SUCCEEDED"
    console = _console(read_only=True)

    listed = text(console.get("/"))
    assert f'data-order="{ORDER}"' in listed
    assert "(read-only)" in listed
    detail = console.get(f"/checkouts/{ORDER}")
    assert detail.status_code == 200
    assert 'data-edge="AuthorizePayment>AuthorizePaymentNeedsApproval" d=' in text(detail)
    assert 'class="edge next taken" data-edge="ConfirmOrder>CapturePayment"' in text(detail)
    assert console.get("/try").status_code == 403
    assert console.post("/try", data={"token": "x"}).status_code == 403
    assert console.post(f"/parked/{ORDER}/retry", data={"token": "x"}).status_code == 403


def test_the_parked_view_shows_why_and_what_it_holds_and_retries_the_rollback(operator):
    parked_after_release_kept_failing(operator)
    console = _console(read_only=False)

    page = text(console.get("/parked"))
    assert f'data-order="{ORDER}"' in page
    assert "Stuck at <code>release_stock</code>" in page
    assert "SKU-A x2, SKU-B x1" in page
    assert "money none" in page  # the void ran before the release got stuck
    refused = console.post(f"/parked/{ORDER}/retry", data={"token": "forged"})
    assert refused.status_code == 403
    assert operator.parked() != []

    answer = console.post(f"/parked/{ORDER}/retry", data={"token": _token(page)})

    assert answer.status_code == 303
    notice = text(console.get(answer.headers["Location"]))
    assert f"{ORDER}: started {ORDER}--r1" in notice
    assert operator.wait(f"{ORDER}--r1").status == "SUCCEEDED"
    assert operator.parked() == []
    assert operator.order(ORDER)["status"] == "CANCELLED"
    assert operator.available("SKU-A") == 10
    assert 'id="none-parked"' in text(console.get("/parked"))


def test_a_checkout_parked_at_the_capture_is_marked_resolved_through_checkout_resolve(operator):
    operator.dispatcher.fail_always("capture-payment", "PaymentProviderUnavailableError")
    assert operator.run(checkout()).status == "FAILED"
    operator.dispatcher.fail_always("capture-payment", None)
    console = _console(read_only=False)
    page = text(console.get("/parked"))
    assert 'action="/parked/order-1000/resolve"' in page
    assert "once you have captured the hold in the provider" in page
    blank = console.post(
        f"/parked/{ORDER}/resolve", data={"token": _token(page), "reference": "ch_1", "note": " "}
    )
    assert "not resolved: the note" in text(console.get(blank.headers["Location"]))
    assert [p["status"] for p in operator.payments()] == ["AUTHORIZED"]

    answer = console.post(
        f"/parked/{ORDER}/resolve",
        data={"token": _token(page), "reference": "ch_dash_1", "note": "ops: captured by hand"},
    )

    notice = text(console.get(answer.headers["Location"]))
    assert f"{ORDER}: recorded the payment captured; started {ORDER}--r1" in notice
    assert operator.wait(f"{ORDER}--r1").status == "SUCCEEDED"
    [payment] = operator.payments()
    assert (payment["status"], payment["capture_id"]) == ("CAPTURED", "ch_dash_1")
    assert operator.order(ORDER)["status"] == "CONFIRMED"
    assert operator.parked() == []


def test_only_a_payment_step_offers_mark_resolved_and_the_aws_console_refuses_it(operator):
    parked_after_release_kept_failing(operator)

    assert "/resolve" not in text(_console(read_only=False).get("/parked"))
    refused = _console(read_only=True).post(f"/parked/{ORDER}/resolve", data={"token": "x"})
    assert refused.status_code == 403
    assert [p.stuck_step for p in operator.parked()] == ["release_stock"]


@pytest.mark.parametrize(
    ("form", "problem"),
    [
        ({"qty:SKU-A": "0"}, "pick at least one product"),
        ({"qty:SKU-A": "two"}, "must be a whole number"),
        ({"qty:SKU-A": "1", "fault:order.confirm": "business", "count:order.confirm": "21"},
         "times for order.confirm must be 1 to 20"),
    ],
)  # fmt: skip
def test_a_try_it_form_that_asks_for_nothing_valid_names_the_problem(form, problem):
    with pytest.raises(ValueError, match=problem):
        _checkout_from_form(form)


def test_a_try_it_form_becomes_the_checkout_and_the_fault_header():
    form = {
        "qty:SKU-A": "2", "qty:SKU-B": "0", "card": "tok_chargeDeclined",
        "fault:order.confirm": "business", "count:order.confirm": "1",
        "fault:inventory.release": "transient", "count:inventory.release": "3",
    }  # fmt: skip

    checkout_request, fault = _checkout_from_form(form)

    assert checkout_request["items"] == [{"sku": "SKU-A", "quantity": 2}]
    assert checkout_request["payment_token"] == "tok_chargeDeclined"
    assert fault == "order.confirm=business; inventory.release=transient*3"


def test_try_it_with_the_api_out_answers_503_naming_it_and_a_bad_token_403(operator):
    parser = argparse.ArgumentParser()
    add_target_arguments(parser)
    target = resolve(parser.parse_args(AWS))
    app = Console(source_for(target, read_only=False, api_url="http://127.0.0.1:9"))
    console = Client(app)

    shown = console.get("/try")
    started = console.post("/try", data={"token": app.token, "qty:SKU-A": "1"})
    forged = console.post("/try", data={"token": "jeton-forgé", "qty:SKU-A": "1"})

    assert shown.status_code == 503
    assert "unreachable" in text(shown)
    assert started.status_code == 503
    assert "the checkout API at http://127.0.0.1:9/" in text(started)
    assert "unreachable" in text(started)
    assert forged.status_code == 403
