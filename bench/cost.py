"""`make cost`: what a checkout costs on AWS, per scenario, and where AWS caps checkouts per second.

    .venv/bin/python bench/cost.py [--checkouts 10]

A script that prints numbers, not a test. It starts a local cloud of its own (the templates and
the state machine file `make run` serves), runs each scenario's checkouts one after another as a
storefront would (POST, then GET as often as `Retry-After` says until the status is final), and
counts what AWS would bill for them:
  state transitions  from the executions' histories (every state entered, plus every retry)
  Lambda             invocations and GB-seconds: each function's template memory x its billed
                     duration as measured by the local runtime (this machine and moto are slower
                     than AWS, so read the GB-seconds as an upper bound)
  DynamoDB           read and write request units, counted at the local AWS endpoint
  events, API requests, X-Ray traces, CloudWatch Logs bytes
It prices them per 1,000 checkouts with bench/prices.py, and computes the ceilings (checkouts
per second) that AWS's default quotas allow. The reconciler's sweep (a fixed cost per hour, not
per checkout) is switched off for the run and priced on its own line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from the repository
    sys.path.insert(0, str(ROOT))

from local_cloud import FAKE_AWS, FINAL, Api  # noqa: E402  (bench/ is on sys.path: a script)
from prices import PRICES, PRICES_AS_OF, QUOTAS, REGION  # noqa: E402

from deploy.local.launcher import LocalCloudProcess  # noqa: E402


@dataclass(frozen=True)
class Scenario:
    name: str
    items: list[dict[str, Any]]
    token: str = "tok_visa"
    fault: str | None = None
    expect: str = "CONFIRMED"


SCENARIOS = [
    Scenario("happy", [{"sku": "SKU-TSHIRT", "quantity": 1}]),
    Scenario("declined", [{"sku": "SKU-TSHIRT", "quantity": 1}], "tok_chargeDeclined",
             expect="CANCELLED"),
    Scenario("out of stock", [{"sku": "SKU-RARE", "quantity": 2}], expect="CANCELLED"),
    Scenario("confirm fails", [{"sku": "SKU-MUG", "quantity": 1}], fault="order.confirm",
             expect="CANCELLED"),
    # declined, then the void keeps failing: parked for an operator
    Scenario("parked", [{"sku": "SKU-MUG", "quantity": 1}], "tok_chargeDeclined",
             fault="payment.void", expect="FAILED"),
]  # fmt: skip


@dataclass
class Measured:
    scenario: Scenario
    checkouts: int
    statuses: dict[str, int]
    transitions: float  # per checkout, as every figure below
    invocations: float
    saga_invocations: float
    gb_seconds: float
    lambda_seconds: float
    read_units: float
    write_units: float
    events: float
    api_requests: float
    traces: float
    log_bytes: float
    metric_puts: float

    def cost_per_1000(self) -> dict[str, float]:
        amounts = {
            "state_transitions": self.transitions,
            "lambda_requests": self.invocations,
            "lambda_gb_seconds": self.gb_seconds,
            "dynamodb_read_units": self.read_units,
            "dynamodb_write_units": self.write_units,
            "events_published": self.events,
            "api_requests": self.api_requests,
            "traces": self.traces,
            "log_bytes": self.log_bytes,
        }
        return {k: 1000 * v * PRICES[k].usd / PRICES[k].per for k, v in amounts.items()}


def _usage(cloud: LocalCloudProcess) -> dict[str, Any]:
    with urllib.request.urlopen(f"{cloud.aws}/_local/usage", timeout=10) as answer:
        usage: dict[str, Any] = json.loads(answer.read())
    return usage


def _log_bytes(cloud: LocalCloudProcess) -> int:
    return sum(path.stat().st_size for path in (cloud.state_dir / "logs").glob("*.log"))


def _checkout(api: Api, scenario: Scenario) -> tuple[str, str]:
    headers = {"Idempotency-Key": f"cost-{uuid.uuid4()}"}
    if scenario.fault:
        headers["X-Checkout-Fault"] = scenario.fault
    body = {"customer_id": "cust-cost", "items": scenario.items, "payment_token": scenario.token}
    status, accepted = api.request("POST", "/checkouts", body, headers)
    if status != 202:
        raise RuntimeError(f"POST /checkouts answered {status}: {accepted}")
    order_id = str(accepted["order_id"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(1.0)  # the API's Retry-After: a well-behaved storefront polls once a second
        _, view = api.request("GET", f"/checkouts/{order_id}")
        if view.get("status") in FINAL:
            return order_id, str(view["status"])
    raise RuntimeError(f"{order_id} did not finish in 120 s")


def _transitions(sfn: Any, state_machine_arn: str, order_id: str) -> int:
    """States entered plus retries, over the saga's execution and any recovery's."""
    from orchestration.recovery import describer, execution_chain

    count = 0
    for described in execution_chain(describer(sfn), state_machine_arn, order_id):
        events = sfn.get_execution_history(executionArn=described["executionArn"], maxResults=1000)[
            "events"
        ]
        entered = sum(1 for e in events if e["type"].endswith("StateEntered"))
        scheduled = sum(1 for e in events if e["type"] in ("TaskScheduled",))
        tasks = sum(1 for e in events if e["type"] == "TaskStateEntered")
        count += entered + max(0, scheduled - tasks)
    return count


def _delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    functions = {}
    for name, now in after["lambda"].items():
        was = before["lambda"].get(name, {"invocations": 0, "billed_ms": 0})
        functions[name] = {
            "invocations": now["invocations"] - was["invocations"],
            "billed_ms": now["billed_ms"] - was["billed_ms"],
            "memory_mb": now["memory_mb"],
        }
    requests = {k: v - before["requests"].get(k, 0) for k, v in after["requests"].items()}
    scalars = ("dynamodb_read_units", "dynamodb_write_units", "events_published",
               "api_requests", "traces")  # fmt: skip
    return {"lambda": functions, "requests": requests,
            **{k: after[k] - before[k] for k in scalars}}  # fmt: skip


API_FUNCTIONS = ("checkout-api", "get-products", "get-order")  # the API's, not the saga's


def measure(cloud: LocalCloudProcess, api: Api, scenario: Scenario, n: int) -> Measured:
    import boto3

    sfn = boto3.client("stepfunctions", endpoint_url=cloud.aws, **FAKE_AWS)
    before, logs_before = _usage(cloud), _log_bytes(cloud)
    endings = [_checkout(api, scenario) for _ in range(n)]
    time.sleep(1.0)  # events delivered, the last log lines written
    used, log_bytes = _delta(before, _usage(cloud)), _log_bytes(cloud) - logs_before
    transitions = sum(
        _transitions(sfn, cloud.state["state_machine_arn"], order) for order, _ in endings
    )
    functions = used["lambda"].values()
    saga = sum(
        f["invocations"] for name, f in used["lambda"].items() if not name.endswith(API_FUNCTIONS)
    )
    statuses: dict[str, int] = {}
    for _, status in endings:
        statuses[status] = statuses.get(status, 0) + 1
    return Measured(
        scenario=scenario,
        checkouts=n,
        statuses=statuses,
        transitions=transitions / n,
        invocations=sum(f["invocations"] for f in functions) / n,
        saga_invocations=saga / n,
        gb_seconds=sum(f["billed_ms"] / 1000 * f["memory_mb"] / 1024 for f in functions) / n,
        lambda_seconds=sum(f["billed_ms"] / 1000 for f in functions) / n,
        read_units=used["dynamodb_read_units"] / n,
        write_units=used["dynamodb_write_units"] / n,
        events=used["events_published"] / n,
        api_requests=used["api_requests"] / n,
        traces=used["traces"] / n,
        log_bytes=log_bytes / n,
        metric_puts=used["requests"].get("monitoring.PutMetricData", 0) / n,
    )


def ceilings(m: Measured) -> dict[str, float]:
    """Checkouts per second each default quota allows, for this scenario's mix of calls."""
    q = QUOTAS
    found = {
        "StartExecution": q["start_execution"].per_second,  # one execution per checkout
        "state transitions": q["state_transitions"].per_second / m.transitions,
        # Little's law: concurrency = arrival rate x seconds of Lambda per checkout
        "Lambda concurrency": q["lambda_concurrency"].per_second / m.lambda_seconds,
        "API Gateway (POST + status polls)": q["api_requests"].per_second / m.api_requests,
        "DynamoDB writes (all tables as one)": q["table_write_units"].per_second / m.write_units,
    }
    if m.events:
        found["EventBridge PutEvents"] = q["put_events"].per_second / m.events
    return found


def _row(label: str, cells: list[str]) -> None:
    print(f"  {label:<40}" + "".join(f"{cell:>15}" for cell in cells))


def report(results: list[Measured], sweep_minutes: int) -> None:
    names = [m.scenario.name for m in results]
    print(f"\nPer checkout (local cloud, {results[0].checkouts} checkouts per scenario)")
    _row("", names)
    _row("statuses", [" ".join(f"{v} {k}" for k, v in m.statuses.items()) for m in results])
    for label, attr, fmt in [
        ("state transitions (entered + retries)", "transitions", "{:.1f}"),
        ("Lambda invocations (all)", "invocations", "{:.1f}"),
        ("  of which the saga's tasks", "saga_invocations", "{:.1f}"),
        ("Lambda GB-seconds (512 MB x billed ms)", "gb_seconds", "{:.3f}"),
        ("DynamoDB read request units", "read_units", "{:.1f}"),
        ("DynamoDB write request units", "write_units", "{:.1f}"),
        ("EventBridge events", "events", "{:.1f}"),
        ("API requests (POST + polls)", "api_requests", "{:.1f}"),
        ("X-Ray traces (all sampled)", "traces", "{:.1f}"),
        ("CloudWatch Logs bytes", "log_bytes", "{:.0f}"),
        ("CloudWatch PutMetricData", "metric_puts", "{:.1f}"),
    ]:
        _row(label, [fmt.format(getattr(m, attr)) for m in results])

    print(f"\nUSD per 1,000 checkouts ({REGION} list prices, {PRICES_AS_OF}; bench/prices.py)")
    _row("", names)
    costs = [m.cost_per_1000() for m in results]
    for key, price in PRICES.items():
        _row(price.label, [f"{c[key]:.4f}" for c in costs])
    _row("total", [f"{sum(c.values()):.4f}" for c in costs])
    sweeps = 30 * 24 * 60 / sweep_minutes
    print(
        f"  fixed: the reconciler's sweep every {sweep_minutes} min = {sweeps:,.0f} invocations "
        f"and schedule events a month, cents in total, whatever the traffic"
    )

    print("\nCeilings at default quotas (checkouts per second; the lowest one caps the shop)")
    _row("", names)
    tables = [ceilings(m) for m in results]
    for key in tables[0]:
        _row(key, [f"{t[key]:,.0f}" if key in t else "-" for t in tables])
    _row("=> the cap", [f"{min(t.values()):,.0f}" for t in tables])
    polls = results[0].api_requests - 1  # every API request but the POST is a status read
    print(
        "  status reads use no Step Functions API (the order's record); the design before, "
        "DescribeExecution on every poll, would cap the shop at "
        f"{QUOTAS['describe_execution'].per_second:.0f} / {polls:.0f} poll(s) per checkout = "
        f"{QUOTAS['describe_execution'].per_second / polls:.0f} checkouts/s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--checkouts", type=int, default=10, help="checkouts per scenario")
    args = parser.parse_args(argv)
    if args.checkouts < 1:
        parser.error("--checkouts must be at least 1")
    with tempfile.TemporaryDirectory(prefix="checkout-cost-") as state:
        # No sweep during the run: it is a cost per hour, not per checkout.
        cloud = LocalCloudProcess(Path(state), env={"CHECKOUT_SCHEDULE_SECONDS": "86400"})
        print(f"make cost: a local cloud of its own (state dir {state}) ...", flush=True)
        cloud.start()
        try:
            api = Api(cloud.api)
            results = []
            for scenario in SCENARIOS:
                print(f"  {scenario.name}: {args.checkouts} checkouts ...", flush=True)
                _checkout(api, scenario)  # warm its functions: a cold start is not per checkout
                measured = measure(cloud, api, scenario, args.checkouts)
                if measured.statuses != {scenario.expect: args.checkouts}:
                    raise RuntimeError(f"{scenario.name}: expected {scenario.expect}, "
                                       f"got {measured.statuses}")  # fmt: skip
                results.append(measured)
        finally:
            cloud.stop()
    report(results, sweep_minutes=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
