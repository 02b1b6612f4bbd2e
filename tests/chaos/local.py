"""Chaos on a real local cloud: checkouts at concurrency while workers die and executions stop.

A local cloud on free ports (the `make run` command), a chaos catalog with scarce stock, and
client threads that each start a checkout (random card, random fault schedule, sometimes the same
Idempotency-Key twice) and follow it. Meanwhile one thread SIGKILLs a random Lambda worker every
fraction of a second and another stops a random running execution every few seconds. Then the
load stops, the reconciler gets its time to repair, and the invariants are read from the services'
own tables through the endpoint.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from deploy.local.launcher import LocalCloudProcess, worker_pids
from tests.support.invariants import Ending, Evidence, read_stores, violations

FAKE = {"aws_access_key_id": "local", "aws_secret_access_key": "local", "region_name": "us-east-1"}
SKUS = {"CHAOS-A": 60, "CHAOS-B": 40, "CHAOS-C": 25}  # scarce: the checkouts want more
FINAL = {"CONFIRMED", "CANCELLED", "FAILED"}
FAULTS = [
    None, None, None, None,
    "payment.authorize=crash_after_commit", "inventory.reserve=crash_before_commit",
    "order.confirm=crash_after_commit", "payment.void=crash_after_commit; order.confirm",
    "inventory.release=transient*3; order.confirm", "order.create=duplicate",
    "payment.authorize=duplicate; inventory.reserve=duplicate", "order.confirm",
    "order.cancel=crash_before_commit*2; payment.authorize=transient*4",
    "order.confirm=timeout", "payment.authorize=transient*2",
    "payment.capture=crash_after_commit", "payment.capture=transient*3; payment.authorize=timeout",
]  # fmt: skip


@dataclass
class Tally:
    checkouts: int = 0
    kills: int = 0
    stopped: int = 0
    replays: int = 0
    order_ids: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    """One request; (status, body). Retries what a storefront retries: 5xx and broken links."""
    data = None if body is None else json.dumps(body).encode()
    for attempt in range(30):
        request = urllib.request.Request(
            url, data=data, method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            if error.code < 500:
                return error.code, json.loads(error.read() or b"null")
        except (OSError, ValueError):
            pass  # the API's worker was killed mid-request: a storefront retries
        time.sleep(min(2.0, 0.1 * 2**attempt))
    raise RuntimeError(f"{method} {url} kept failing")


def _one_checkout(api: str, rng: random.Random, tally: Tally, settle_s: float) -> None:
    key = f"chaos-{uuid.uuid4()}"
    skus = rng.sample(sorted(SKUS), rng.randint(1, 2))
    body = {
        "customer_id": "cust-chaos",
        "items": [{"sku": sku, "quantity": rng.randint(1, 3)} for sku in skus],
        "payment_token": rng.choice(["tok_visa"] * 4 + ["tok_chargeDeclined"]),
    }
    headers = {"Idempotency-Key": key}
    fault = rng.choice(FAULTS)
    if fault:
        headers["X-Checkout-Fault"] = fault
    from orchestration.api.checkouts import order_id_for

    with tally.lock:
        tally.order_ids.add(order_id_for(key))  # even if no answer ever comes back
        tally.checkouts += 1
    status, accepted = _http("POST", f"{api}/checkouts", body, headers)
    if status != 202:
        with tally.lock:
            tally.problems.append(f"POST answered {status}: {accepted}")
        return
    if rng.random() < 0.15:  # the storefront sends it again
        again_status, again = _http("POST", f"{api}/checkouts", body, headers)
        with tally.lock:
            tally.replays += 1
            if again_status != 202 or again["order_id"] != accepted["order_id"]:
                tally.problems.append(f"replayed key answered {again_status}: {again}")
    deadline = time.monotonic() + settle_s
    while time.monotonic() < deadline:
        _, view = _http("GET", f"{api}/checkouts/{accepted['order_id']}")
        if view.get("status") in FINAL:
            return
        time.sleep(0.3)


def _killer(cloud: LocalCloudProcess, rng: random.Random, tally: Tally, stop: threading.Event):
    while not stop.wait(rng.uniform(0.3, 0.9)):
        pids = worker_pids(cloud.pid)
        if not pids:
            continue
        try:
            os.kill(rng.choice(pids), signal.SIGKILL)  # a worker of the cloud we started
        except ProcessLookupError:
            continue
        with tally.lock:
            tally.kills += 1


def _stopper(sfn: Any, machine: str, rng: random.Random, tally: Tally, stop: threading.Event):
    while not stop.wait(rng.uniform(2.0, 5.0)):
        running = sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")
        executions = running["executions"]
        if not executions:
            continue
        victim = rng.choice(executions)
        try:
            sfn.stop_execution(executionArn=victim["executionArn"], cause="chaos")
        except sfn.exceptions.ExecutionDoesNotExist:
            continue
        with tally.lock:
            tally.stopped += 1


def _bind_models(cloud: LocalCloudProcess) -> None:
    """This process reads the stores through the endpoint, with the services' own models."""
    from orchestration.parked_checkouts import ParkedCheckoutRecord
    from services.inventory.dal.records import ProductRecord, ReservationRecord
    from services.order.dal.records import OrderRecord
    from services.payment.dal.records import PaymentRecord, SimulatedLedgerRecord
    from shared.dynamodb import bind_models

    os.environ.update(AWS_ENDPOINT_URL=cloud.aws, AWS_ACCESS_KEY_ID="local",
                      AWS_SECRET_ACCESS_KEY="local", AWS_REGION="us-east-1")  # fmt: skip
    tables = cloud.state["tables"]
    bind_models(
        {
            ProductRecord: tables["ProductsTable"],
            ReservationRecord: tables["ReservationsTable"],
            PaymentRecord: tables["PaymentsTable"],
            SimulatedLedgerRecord: tables["SimulatedProviderLedgerTable"],
            OrderRecord: tables["OrdersTable"],
            ParkedCheckoutRecord: tables["ParkedCheckoutsTable"],
        },
        region="us-east-1",
    )


def _seed(cloud: LocalCloudProcess) -> None:
    from services.inventory.dal import stock
    from services.inventory.models import Product

    for sku, units in SKUS.items():
        stock.put_product(Product(sku=sku, name=f"Chaos {sku}", unit_price=1_000,
                                  currency="EUR", available=units))  # fmt: skip


def _event_sink(cloud: LocalCloudProcess) -> tuple[Any, str]:
    events = boto3.client("events", endpoint_url=cloud.aws, **FAKE)
    sqs = boto3.client("sqs", endpoint_url=cloud.aws, **FAKE)
    url = sqs.create_queue(QueueName="chaos-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    bus = cloud.state["event_bus"]
    events.put_rule(Name="chaos", EventBusName=bus, EventPattern='{"source": ["checkout.saga"]}')
    events.put_targets(Rule="chaos", EventBusName=bus, Targets=[{"Id": "sink", "Arn": arn}])
    return sqs, url


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return received
        for message in messages:
            event = json.loads(message["Body"])
            received.append({"detail-type": event["detail-type"], "detail": event["detail"]})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _endings(sfn: Any, machine: str, order_ids: set[str]) -> dict[str, Ending]:
    from orchestration.recovery import describer, execution_chain
    from orchestration.steps import reached_ending

    endings = {}
    for order_id in order_ids:
        chain = execution_chain(describer(sfn), machine, order_id)
        if not chain:
            continue  # the POST never started one (nothing was written either)
        last = chain[-1]
        events = sfn.get_execution_history(executionArn=last["executionArn"], maxResults=1000)
        entered = [
            e["stateEnteredEventDetails"]["name"]
            for e in events["events"]
            if "stateEnteredEventDetails" in e
        ]
        state = reached_ending(last["status"], entered)
        endings[order_id] = Ending(
            last["status"], state, last["executionArn"], entered[-1] if entered else None
        )
    return endings


def _settled(sfn: Any, machine: str, endings: dict[str, Ending]) -> bool:
    from orchestration.recovery import CLOSED_UNFINISHED, PARKED_ERROR

    if sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"]:
        return False
    for ending in endings.values():
        if ending.status in CLOSED_UNFINISHED and ending.state is None:
            described = sfn.describe_execution(executionArn=ending.execution_arn)
            if described.get("error") != PARKED_ERROR:
                return False  # the reconciler has yet to act (or parked it: read below)
    return True


def _parked_metric(cloud: LocalCloudProcess) -> int:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    points = boto3.client("cloudwatch", endpoint_url=cloud.aws, **FAKE).get_metric_statistics(
        Namespace="CheckoutSaga", MetricName="CheckoutsParked",
        Dimensions=[{"Name": "stage", "Value": cloud.state["stage"]}],
        StartTime=now - timedelta(days=1), EndTime=now + timedelta(days=1), Period=86_400,
        Statistics=["Sum"],
    )["Datapoints"]  # fmt: skip
    return int(sum(point["Sum"] for point in points))


@dataclass
class LocalResult:
    checkouts: int
    kills: int
    stopped: int
    violations: list[str]


def run_local(
    state_dir: Path, checkouts: int, concurrency: int, seed: int, say: Any
) -> LocalResult:
    rng = random.Random(seed)
    tally = Tally()
    cloud = LocalCloudProcess(state_dir, env={"CHECKOUT_SCHEDULE_SECONDS": "5"})
    say(f"starting a local cloud on free ports (state in {state_dir}) ...")
    cloud.start()
    try:
        _bind_models(cloud)
        _seed(cloud)
        sqs, queue = _event_sink(cloud)
        sfn = boto3.client("stepfunctions", endpoint_url=cloud.aws, **FAKE)
        machine = cloud.state["state_machine_arn"]
        stop = threading.Event()
        chaos = [
            threading.Thread(target=_killer, args=(cloud, random.Random(seed + 1), tally, stop)),
            threading.Thread(
                target=_stopper, args=(sfn, machine, random.Random(seed + 2), tally, stop)
            ),
        ]
        for thread in chaos:
            thread.start()
        say(f"{checkouts} checkouts at concurrency {concurrency}, killing workers, stopping "
            "executions ...")  # fmt: skip
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            seeds = [rng.randrange(2**32) for _ in range(checkouts)]
            for done, _ in enumerate(pool.map(
                lambda s: _one_checkout(cloud.api, random.Random(s), tally, 120.0), seeds
            ), 1):  # fmt: skip
                if done % 25 == 0:
                    elapsed = time.monotonic() - started
                    say(f"  {done}/{checkouts} checkouts, {tally.kills} kills, "
                        f"{tally.stopped} stopped ({elapsed:.0f} s)")  # fmt: skip
        stop.set()
        for thread in chaos:
            thread.join()
        say("load done; waiting for the reconciler to finish every stopped checkout ...")
        deadline = time.monotonic() + 240
        endings = _endings(sfn, machine, tally.order_ids)
        while not _settled(sfn, machine, endings) and time.monotonic() < deadline:
            time.sleep(2)
            endings = _endings(sfn, machine, tally.order_ids)
        time.sleep(2)  # the last events reach the sink
        evidence = Evidence(endings, _drain(sqs, queue), _parked_metric(cloud))
        stores = read_stores(SKUS, sorted(tally.order_ids))
        found = tally.problems + violations(stores, dict(SKUS), evidence)
        statuses: dict[str, int] = {}
        for state in stores.orders.values():
            label = state.order["status"] if state.order else "none"
            label += " (parked)" if state.parked else ""
            statuses[label] = statuses.get(label, 0) + 1
        say(f"orders by stored status: {statuses}; {tally.replays} replayed keys")
        for state in stores.orders.values():
            if state.parked:
                say(f"  parked {state.order_id} at {state.parked['stuck_step']}: "
                    f"{state.parked['error']}")  # fmt: skip
    finally:
        report = cloud.stop()
        if report.workers_left:
            say(f"  workers left behind: {report.workers_left}")
    return LocalResult(tally.checkouts, tally.kills, tally.stopped, found)
