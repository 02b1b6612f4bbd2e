"""Reservations racing for the last units of a sku: the database decides, so nothing is oversold.

Threaded races run the real `reserve_stock` handler from 16 threads against moto in *server* mode
(`ThreadedMotoServer`): every call is a real HTTP request, and each order's read-then-transact
really interleaves with the others'.

moto's server does not serialize requests. Its `transact_write_items` checks conditions and writes
without a lock, and rolls back by restoring a snapshot of the table taken before it began, which
can erase a transaction that committed in between. With CPython's default 5 ms thread switch
interval a small transaction usually completes within one slice, so races looked atomic; with a
10-microsecond interval (the `aggressive-switching` runs) unserialized moto oversold in 17 of 20
runs (up to 12 orders told "reserved" for 10 units). Real DynamoDB applies each request
atomically and serializes transactions with every other write to the same items; the
`serialized_dynamodb` fixture gives moto that guarantee by applying one DynamoDB request at a
time, while the clients stay fully concurrent. What is under test is our code (its conditions,
its re-read after a refused transaction, its error mapping), not moto.

Contract tests use the in-process `aws` fixture to pin the conditional-write contract
deterministically: at the boundary the transaction is refused by `available >= quantity`, and no
part of it is applied.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from moto.dynamodb.responses import DynamoHandler
from moto.server import ThreadedMotoServer
from pynamodb.exceptions import TransactWriteError

from services.inventory.bootstrap import start as get_settings
from services.inventory.dal import stock
from services.inventory.dal.records import ProductRecord, ReservationRecord
from services.inventory.handlers import reserve_stock
from services.inventory.models import Product
from services.inventory.settings import InventorySettings
from shared.contracts import PricedLine, total_of
from shared.dynamodb import cancellation_codes, transaction_connection
from shared.errors import CheckoutError, DependencyUnavailableError, OutOfStockError
from tests.integration.inventory.conftest import available, invoke
from tests.support.tables import bind_service, table_items

WORKERS = 16
TRANSIENT_RETRIES = 5  # the state machine retries TransientError with backoff; so does this test
RACE_ENV = {
    "PRODUCTS_TABLE_NAME": "race-products",
    "RESERVATIONS_TABLE_NAME": "race-reservations",
}


# --- fixtures: a real HTTP server, clients pointed at it, everything restored afterwards ---------


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """moto in server mode on a free local port, for this module only."""
    werkzeug_log = logging.getLogger("werkzeug")
    previous_level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)  # one access-log line per request is only noise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        werkzeug_log.setLevel(previous_level)


def _forget_clients() -> None:
    """Drop every cached settings object and PynamoDB connection (they hold the endpoint)."""
    get_settings.cache_clear()
    ProductRecord._connection = None
    ReservationRecord._connection = None
    transaction_connection.cache_clear()


def _reset_moto(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


@pytest.fixture
def serialized_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apply one DynamoDB request at a time inside moto, as DynamoDB's isolation guarantees."""
    original = DynamoHandler.call_action
    one_request_at_a_time = threading.Lock()

    def call_action(self: DynamoHandler) -> Any:
        with one_request_at_a_time:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", call_action)


@pytest.fixture
def race_inventory(
    moto_endpoint: str, serialized_dynamodb: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[InventorySettings]:
    """Inventory bound to fresh tables on the moto server; leaves no trace for other tests."""
    _reset_moto(moto_endpoint)
    _forget_clients()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    settings: InventorySettings = bind_service(
        monkeypatch, get_settings, RACE_ENV, [ProductRecord, ReservationRecord]
    )
    try:
        yield settings
    finally:
        _forget_clients()
        _reset_moto(moto_endpoint)


def put_product(sku: str, units: int, unit_price: int = 1_500) -> None:
    stock.put_product(
        Product(
            sku=sku, name=f"Product {sku}", unit_price=unit_price, currency="EUR", available=units
        )
    )


# --- racing like the state machine would ---------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    order_id: str
    result: dict[str, Any] | None
    error: CheckoutError | None
    transient_retries: int


@dataclass
class Race:
    attempts: list[Attempt]
    max_in_flight: int  # most handler invocations running at the same moment


def reserve_like_the_state_machine(event: dict[str, Any]) -> Attempt:
    """Invoke the handler; retry transient errors with backoff; anything unexpected propagates."""
    retries = 0
    while True:
        try:
            result = invoke(reserve_stock.lambda_handler, event)
        except OutOfStockError as error:
            return Attempt(event["order_id"], None, error, retries)
        except DependencyUnavailableError as error:
            if retries == TRANSIENT_RETRIES:
                return Attempt(event["order_id"], None, error, retries)
            retries += 1
            time.sleep(0.005 * 2**retries)
        else:
            return Attempt(event["order_id"], result, None, retries)


def warm_up_clients(settings: InventorySettings) -> None:
    """Build each shared botocore client once, so the threads race on stock, not on client setup."""
    _ = ProductRecord._get_connection().connection.client
    _ = ReservationRecord._get_connection().connection.client
    _ = transaction_connection(settings.aws_region).client


def race(settings: InventorySettings, events: list[dict[str, Any]]) -> Race:
    warm_up_clients(settings)
    in_flight = 0
    max_in_flight = 0
    counting = threading.Lock()

    def one(event: dict[str, Any]) -> Attempt:
        nonlocal in_flight, max_in_flight
        with counting:
            in_flight += 1
            max_in_flight = max(max_in_flight, in_flight)
        try:
            return reserve_like_the_state_machine(event)
        finally:
            with counting:
                in_flight -= 1

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        attempts = list(pool.map(one, events))
    return Race(attempts, max_in_flight)


def one_each(order_count: int, skus: list[str]) -> list[dict[str, Any]]:
    return [
        {"order_id": f"race-{n:04d}", "items": [{"sku": sku, "quantity": 1} for sku in skus]}
        for n in range(order_count)
    ]


@pytest.fixture(params=["default", "aggressive"], ids=["default-switching", "aggressive-switching"])
def thread_switching(request: pytest.FixtureRequest) -> Iterator[None]:
    """Also race with the GIL handed over every 10 microseconds: threads interleave far more."""
    previous = sys.getswitchinterval()
    if request.param == "aggressive":
        sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def assert_exactly_the_winners_hold_stock(result: Race, winners: int) -> None:
    # the handlers really ran side by side (this was a race, not a queue)
    assert result.max_in_flight > 1
    succeeded = [a for a in result.attempts if a.error is None]
    failed = [a for a in result.attempts if a.error is not None]
    assert len(succeeded) == winners
    # every loser lost to a business rule, not to an exhausted retry budget
    assert all(isinstance(a.error, OutOfStockError) for a in failed), [
        (a.order_id, type(a.error).__name__) for a in failed
    ]
    stored = table_items(ReservationRecord)
    assert sorted(r["order_id"] for r in stored) == sorted(a.order_id for a in succeeded)
    assert {r["status"] for r in stored} <= {"RESERVED"}


# --- threaded races -------------------------------------------------------------------------------


@pytest.mark.usefixtures("thread_switching")
def test_forty_orders_racing_for_ten_units_reserve_exactly_ten(
    race_inventory: InventorySettings,
) -> None:
    # Given one sku with 10 units
    put_product("SKU-A", units=10)

    # When 40 orders of 1 unit each race for it from 16 threads
    result = race(race_inventory, one_each(40, ["SKU-A"]))

    # Then exactly 10 hold a reservation, the other 30 are out of stock, and stock is exactly 0
    assert_exactly_the_winners_hold_stock(result, winners=10)
    assert available("SKU-A") == 0


@pytest.mark.usefixtures("thread_switching")
def test_multi_line_orders_racing_are_all_or_nothing(race_inventory: InventorySettings) -> None:
    # Given SKU-A with 5 units and SKU-B with 8
    put_product("SKU-A", units=5)
    put_product("SKU-B", units=8, unit_price=250)

    # When 24 orders, each taking 1 of A and 1 of B, race for them
    result = race(race_inventory, one_each(24, ["SKU-A", "SKU-B"]))

    # Then 5 succeed (A runs out), and no loser left a partial decrement of B behind
    assert_exactly_the_winners_hold_stock(result, winners=5)
    assert available("SKU-A") == 0
    assert available("SKU-B") == 3
    for attempt in result.attempts:
        if attempt.result is not None:
            assert attempt.result["total"] == {"amount": 1_500 + 250, "currency": "EUR"}


def test_every_racer_saw_stock_and_the_database_refused_the_extra_ones(
    race_inventory: InventorySettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 10 units, and 16 orders that all read the catalog before any of them writes
    put_product("SKU-A", units=10)
    racers = 16
    everyone_has_read = threading.Barrier(racers, timeout=10)
    first_reads = iter(range(racers))
    reads_lock = threading.Lock()
    read_products = stock.get_products

    def get_products_then_wait(skus: list[str]) -> dict[str, Product]:
        products = read_products(skus)
        with reads_lock:
            is_first_read = next(first_reads, None) is not None
        if is_first_read:
            assert products["SKU-A"].available == 10
            everyone_has_read.wait()
        return products

    refused = 0
    refused_lock = threading.Lock()
    create_reservation = stock.create_reservation

    def count_refusals(order_id: str, lines: list[PricedLine], total: Any) -> None:
        nonlocal refused
        try:
            create_reservation(order_id, lines, total)
        except stock.StockChangedError:
            with refused_lock:
                refused += 1
            raise

    monkeypatch.setattr(stock, "get_products", get_products_then_wait)
    monkeypatch.setattr(stock, "create_reservation", count_refusals)

    # When all 16 send their transaction on the strength of that read
    result = race(race_inventory, one_each(racers, ["SKU-A"]))

    # Then the database refused exactly the 6 that no longer fit; they re-read and are out of stock
    assert refused == 6
    assert_exactly_the_winners_hold_stock(result, winners=10)
    assert available("SKU-A") == 0


# --- the conditional-write contract, deterministically (in-process moto) -------------------------


def priced(sku: str, quantity: int, unit_price: int = 1_500) -> PricedLine:
    return PricedLine(sku=sku, quantity=quantity, unit_price=unit_price, currency="EUR")


def test_transaction_at_the_boundary_is_refused_and_applies_nothing(
    add_product: Callable[..., Product],
) -> None:
    # Given A with 5 units and B with 2, and an order that takes B down to exactly 0
    add_product("SKU-A", available=5)
    add_product("SKU-B", available=2)
    first = [priced("SKU-A", 3), priced("SKU-B", 2)]
    stock.create_reservation("order-first", first, total_of(first))
    assert (available("SKU-A"), available("SKU-B")) == (2, 0)

    # When a second order, priced from a read taken before the first one landed, asks for 1 of each
    stale = [priced("SKU-A", 1), priced("SKU-B", 1)]
    with pytest.raises(stock.StockChangedError) as refused:
        stock.create_reservation("order-second", stale, total_of(stale))

    # Then only B's `available >= quantity` condition refused it (items: reservation, A, B) ...
    cause = refused.value.__cause__
    assert isinstance(cause, TransactWriteError)
    assert cancellation_codes(cause) == [None, None, "ConditionalCheckFailed"]
    # ... and nothing of it was applied: A's decrement, which passed on its own, is not there either
    assert (available("SKU-A"), available("SKU-B")) == (2, 0)
    assert [r["order_id"] for r in table_items(ReservationRecord)] == ["order-first"]


def test_a_request_larger_than_the_stock_never_drives_it_negative(
    add_product: Callable[..., Product],
) -> None:
    # Given 5 units
    add_product("SKU-A", available=5)

    # When a transaction asks for 6, skipping the logic's own availability check
    lines = [priced("SKU-A", 6)]
    with pytest.raises(stock.StockChangedError):
        stock.create_reservation("order-greedy", lines, total_of(lines))

    # Then stock is untouched and no reservation was recorded
    assert available("SKU-A") == 5
    assert table_items(ReservationRecord) == []


def test_an_order_that_lost_the_race_after_reading_fails_out_of_stock(
    add_product: Callable[..., Product], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the last unit of A, and an order whose read sees it ...
    add_product("SKU-A", available=1)
    read_products = stock.get_products
    interleaved = False

    def another_order_takes_it_right_after_the_read(skus: list[str]) -> dict[str, Product]:
        nonlocal interleaved
        products = read_products(skus)
        if not interleaved:
            interleaved = True
            # ... and another order that takes that unit between the read and the transaction
            invoke(
                reserve_stock.lambda_handler,
                {"order_id": "order-winner", "items": [{"sku": "SKU-A", "quantity": 1}]},
            )
        return products

    monkeypatch.setattr(stock, "get_products", another_order_takes_it_right_after_the_read)

    # When the first order's transaction is sent on the strength of its stale read
    with pytest.raises(OutOfStockError, match="SKU-A"):
        invoke(
            reserve_stock.lambda_handler,
            {"order_id": "order-loser", "items": [{"sku": "SKU-A", "quantity": 1}]},
        )

    # Then the database refused it, the re-read found nothing left, and only the winner holds stock
    assert interleaved
    assert available("SKU-A") == 0
    [stored] = table_items(ReservationRecord)
    assert (stored["order_id"], stored["status"]) == ("order-winner", "RESERVED")
