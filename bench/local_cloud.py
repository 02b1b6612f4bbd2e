"""Benchmark the local cloud: start-up, one checkout's latency, throughput, the engine's overhead.

    .venv/bin/python bench/local_cloud.py [--checkouts 20] [--levels 1x32,8x64,32x96]

A script that prints numbers, not a test. It starts its own local cloud (`python -m deploy.local`)
on free ports with a temporary state directory, so it never disturbs a `make run` on the default
ports, and stops it at the end. What it measures (see docs/performance.md for the meaning):

  start-up      the cloud's own `startup_seconds` (state.json) and the wall time until it is ready
  latency       N sequential checkouts, each POST /checkouts then GET every --poll-ms until the
                status is final: median and p95 of POST -> CONFIRMED, with a breakdown from the
                execution history (Step Functions timestamps, same clock as this script)
  throughput    checkouts per second at each concurrency (threads, each POST + poll until final)
  overhead      end-to-end time against the time the handlers themselves spent: the `StepDuration`
                EMF metric every saga step logs in <state dir>/logs/<function>.log
  hops          the building blocks one step is made of (a DynamoDB call, a Lambda invoke, ...)

Every request is HTTP to the local cloud; the only other contact is boto3 against its AWS endpoint
(restocking the demo catalog so the run does not sell out, and the building-block timings).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from deploy.local.launcher import LocalCloudProcess, StopReport

ROOT = Path(__file__).resolve().parents[1]
SKUS = ("SKU-TSHIRT", "SKU-MUG", "SKU-POSTER")
FINAL = {"CONFIRMED", "CANCELLED", "FAILED"}
RESTOCK_TO = 5_000
WARM_ROUNDS = 2
CHECKOUT_TIMEOUT_S = 120.0
FAKE_AWS = {
    "aws_access_key_id": "local",
    "aws_secret_access_key": "local",
    "region_name": "us-east-1",
}


# --- the local cloud as a subprocess -----------------------------------------------------------


def _children(pid: int) -> dict[int, str]:
    """Direct children of `pid` with their command lines (Linux /proc; empty elsewhere)."""
    found: dict[int, str] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found[int(entry.name)] = cmdline.strip()
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return found


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_s(pid: int, *, reaped: bool = False) -> float:
    """User + system CPU seconds of a process (and of its exited children, if `reaped`)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / _TICKS


def _function_of(pid: int) -> str:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return "other"
    for entry in environ:
        if entry.startswith(b"AWS_LAMBDA_FUNCTION_NAME="):
            return entry.split(b"=", 1)[1].decode()
    return "other"


def cpu_snapshot(cloud_pid: int) -> dict[str, float]:
    """CPU seconds so far: the cloud's own process (moto, the Step Functions interpreter, the
    gateway; plus workers that already exited), each function's workers, and this script."""
    usage: dict[str, float] = defaultdict(float)
    usage["local cloud process (moto, ASL, gateway)"] = _cpu_s(cloud_pid, reaped=True)
    for child in _children(cloud_pid):
        usage[_function_of(child)] += _cpu_s(child)
    usage["this benchmark (client threads)"] = time.process_time()
    return dict(usage)


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {key: after[key] - before.get(key, 0.0) for key in after}


# --- HTTP to the API ---------------------------------------------------------------------------


class Api:
    """HTTP to the local API Gateway: a new connection per request (as curl or urllib do).

    `keep_alive=True` holds one connection per thread instead; against the local gateway that
    costs ~40 ms a request (see docs/performance.md), so it is only used to show that cost.
    """

    def __init__(self, base: str, *, keep_alive: bool = False) -> None:
        host_port = base.split("//", 1)[1].rstrip("/")
        host, _, port = host_port.partition(":")
        self.host, self.port = host, int(port or 80)
        self.keep_alive = keep_alive
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None or not self.keep_alive:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self._local.connection = connection
        return connection

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        all_headers = {"Accept": "application/json", **(headers or {})}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        if not self.keep_alive:
            all_headers["Connection"] = "close"
        for attempt in (1, 2):  # a dropped keep-alive connection is retried once, fresh
            connection = self._connection()
            try:
                connection.request(method, path, body=data, headers=all_headers)
                response = connection.getresponse()
                raw = response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                self._local.connection = None
                if attempt == 2 or not self.keep_alive:
                    raise
                continue
            if not self.keep_alive:
                connection.close()
            return response.status, json.loads(raw or b"null")
        raise AssertionError("unreachable")


# --- one checkout ------------------------------------------------------------------------------


@dataclass
class Checkout:
    order_id: str = ""
    status: str = "NOT STARTED"
    sent_at: float = 0.0  # wall clock (time.time), to compare with Step Functions timestamps
    post_ms: float = 0.0
    e2e_ms: float = 0.0  # POST sent -> final status read
    polls: int = 0
    get_ms: list[float] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""

    def _moments(self) -> tuple[float, float] | None:
        timed = [s for s in self.steps if s.get("started_at") and s.get("duration_ms") is not None]
        if not timed:
            return None
        first = datetime.fromisoformat(timed[0]["started_at"]).timestamp()
        last = timed[-1]
        end = datetime.fromisoformat(last["started_at"]).timestamp() + last["duration_ms"] / 1000
        return first, end

    @property
    def state_ms(self) -> float:
        return float(sum(s.get("duration_ms") or 0 for s in self.steps))

    @property
    def span_ms(self) -> float | None:
        """First state entered -> last state exited, by the execution's own clock."""
        moments = self._moments()
        return None if moments is None else (moments[1] - moments[0]) * 1000

    @property
    def to_first_state_ms(self) -> float | None:
        """POST answered -> the first state entered."""
        moments = self._moments()
        if moments is None:
            return None
        return (moments[0] - (self.sent_at + self.post_ms / 1000)) * 1000

    @property
    def detection_ms(self) -> float | None:
        """The last state exited -> this client read the final status."""
        moments = self._moments()
        if moments is None:
            return None
        return (self.sent_at + self.e2e_ms / 1000 - moments[1]) * 1000


def run_checkout(api: Api, sku: str, poll_s: float) -> Checkout:
    result = Checkout()
    body = {
        "customer_id": "bench",
        "items": [{"sku": sku, "quantity": 1}],
        "payment_token": "tok_visa",
    }
    headers = {"Idempotency-Key": f"bench-{uuid.uuid4().hex}"}
    result.sent_at = time.time()
    began = time.perf_counter()
    status, reply = api.request("POST", "/checkouts", body, headers)
    result.post_ms = (time.perf_counter() - began) * 1000
    if status != 202:
        result.status, result.error = f"HTTP {status}", json.dumps(reply)[:200]
        return result
    result.order_id = reply["order_id"]
    path = f"/checkouts/{result.order_id}"
    while True:
        time.sleep(poll_s)
        asked = time.perf_counter()
        status, view = api.request("GET", path)
        result.get_ms.append((time.perf_counter() - asked) * 1000)
        result.polls += 1
        if status == 200 and view.get("status") in FINAL:
            result.status = view["status"]
            break
        if time.perf_counter() - began > CHECKOUT_TIMEOUT_S:
            result.status = "TIMED OUT"
            break
    result.e2e_ms = (time.perf_counter() - began) * 1000
    return result


def read_steps(api: Api, checkouts: list[Checkout]) -> None:
    """Each finished checkout's step timeline (`?view=steps`), read once after the phase and
    outside its timing and CPU figures: a storefront polls the status, not the history."""
    for checkout in checkouts:
        if checkout.order_id and checkout.status in FINAL:
            status, view = api.request("GET", f"/checkouts/{checkout.order_id}?view=steps")
            checkout.steps = (view.get("steps") or []) if status == 200 else []


# --- handler time from the function logs -------------------------------------------------------


def handler_ms_by_order(log_dir: Path) -> tuple[dict[str, float], float]:
    """Sum the `StepDuration` EMF metric per order id; also return the total over all lines.

    The EMF line has the step and outcome but not the order id; the "step done"/"step failed" log
    line just before it (same invocation) has it as `correlation_id`. Several workers of one
    function append to the same file, so lines are matched first-in first-out per
    (function, step, outcome): exact for sequential checkouts, and the totals are exact always.
    """
    by_order: dict[str, float] = defaultdict(float)
    total = 0.0
    for log in sorted(log_dir.glob("*.log")):
        pending: dict[tuple[str, str], deque[str]] = defaultdict(deque)
        for line in log.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            key = (str(record.get("step")), str(record.get("outcome")))
            if "StepDuration" in record:
                ms = float(record["StepDuration"][0])
                total += ms
                if pending[key]:
                    by_order[pending[key].popleft()] += ms
            elif "correlation_id" in record and "step" in record and "outcome" in record:
                pending[key].append(str(record["correlation_id"]))
    return dict(by_order), total


# --- statistics and printing -------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (
        f"median {statistics.median(values):7.1f}   p95 {percentile(values, 95):7.1f}   "
        f"min {min(values):7.1f}   max {max(values):7.1f}"
    )


def heading(text: str) -> None:
    print(f"\n{text}\n{'-' * len(text)}", flush=True)


def row(label: str, value: str) -> None:
    print(f"  {label:<48} {value}", flush=True)


@contextlib.contextmanager
def timed(label: str) -> Iterator[None]:
    print(f"  {label} ...", end="", flush=True)
    began = time.perf_counter()
    yield
    print(f" {time.perf_counter() - began:.1f} s", flush=True)


# --- the phases --------------------------------------------------------------------------------


def restock(cloud: LocalCloudProcess) -> None:
    """Set the three demo SKUs to RESTOCK_TO units (get + put the item, as an operator would)."""
    import boto3

    table = cloud.state["tables"]["ProductsTable"]
    dynamodb = boto3.client("dynamodb", endpoint_url=cloud.aws, **FAKE_AWS)
    for sku in SKUS:
        item = dynamodb.get_item(TableName=table, Key={"sku": {"S": sku}}, ConsistentRead=True)
        product = item["Item"]
        product["available"] = {"N": str(RESTOCK_TO)}
        dynamodb.put_item(TableName=table, Item=product)


def sequential(api: Api, count: int, poll_s: float, offset: int = 0) -> list[Checkout]:
    return [run_checkout(api, SKUS[(offset + i) % len(SKUS)], poll_s) for i in range(count)]


@dataclass
class Level:
    concurrency: int
    checkouts: list[Checkout]
    wall_s: float
    first_round: list[Checkout] = field(default_factory=list)  # warm-up rounds, not counted
    first_round_s: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds of the measured round
    workers_started: tuple[int, int] = (0, 0)  # in the first round, in the measured round

    @property
    def completed(self) -> int:
        return sum(c.status in FINAL for c in self.checkouts)

    @property
    def per_second(self) -> float:
        return self.completed / self.wall_s


def _round(api: Api, concurrency: int, count: int, poll_s: float) -> tuple[list[Checkout], float]:
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [
            pool.submit(run_checkout, api, SKUS[i % len(SKUS)], poll_s) for i in range(count)
        ]
        checkouts = [future.result() for future in futures]
    return checkouts, time.perf_counter() - began


def concurrent(api: Api, concurrency: int, count: int, poll_s: float, cloud_pid: int) -> Level:
    """Rounds of `concurrency` checkouts first, until one starts no new worker (at most
    WARM_ROUNDS): the runtime's pools grow one cold start at a time, and those are reported
    apart. Then `count` checkouts are measured on the warm pools."""
    first: list[Checkout] = []
    first_s, workers = 0.0, len(_children(cloud_pid))
    before_warm = workers
    for _ in range(WARM_ROUNDS):
        checkouts, wall_s = _round(api, concurrency, concurrency, poll_s)
        first += checkouts
        first_s += wall_s
        now = len(_children(cloud_pid))
        if now == workers:
            break
        workers = now
    before = cpu_snapshot(cloud_pid)
    checkouts, wall_s = _round(api, concurrency, count, poll_s)
    cpu = cpu_delta(before, cpu_snapshot(cloud_pid))
    started = (workers - before_warm, len(_children(cloud_pid)) - workers)
    read_steps(api, checkouts)
    return Level(concurrency, checkouts, wall_s, first, first_s, cpu, started)


PRODUCT_READ = "GET /products/{sku} via the API (2 functions)"
STATUS_READ = "GET /checkouts/{id} via the API (status)"


def building_blocks(cloud: LocalCloudProcess, api: Api, repeat: int) -> dict[str, list[float]]:
    """Median costs of the hops a saga step is made of, measured one at a time."""
    import boto3

    session: dict[str, Any] = {"endpoint_url": cloud.aws, **FAKE_AWS}
    dynamodb = boto3.client("dynamodb", **session)
    lambda_ = boto3.client("lambda", **session)
    sfn = boto3.client("stepfunctions", **session)
    table = cloud.state["tables"]["ProductsTable"]
    function = f"{table.rsplit('-', 1)[0]}-get-products"  # checkout-<stage>-get-products
    arn = cloud.state["state_machine_arn"].replace(":stateMachine:", ":execution:")
    any_order = sequential(api, 1, 0.02)[0].order_id
    kept = Api(cloud.api, keep_alive=True)
    definition = sfn.describe_state_machine(stateMachineArn=cloud.state["state_machine_arn"])[
        "definition"
    ]
    # What moto's ExecutionWorker does at the start of every execution (in this process: same
    # code, same machine, no GIL contention).
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    parse_asl = AmazonStateLanguageParser.parse
    calls: dict[str, Callable[[], Any]] = {
        "DynamoDB GetItem (one moto HTTP hop)": lambda: dynamodb.get_item(
            TableName=table, Key={"sku": {"S": "SKU-MUG"}}
        ),
        "Lambda Invoke get-products (hop+IPC+handler)": lambda: lambda_.invoke(
            FunctionName=function, Payload=b'{"skus": ["SKU-MUG"]}'
        )["Payload"].read(),
        "boto3.client('lambda') creation": lambda: boto3.client("lambda", **session),
        "Step Functions DescribeExecution": lambda: sfn.describe_execution(
            executionArn=f"{arn}:{any_order}"
        ),
        "Step Functions GetExecutionHistory (~30 events)": lambda: sfn.get_execution_history(
            executionArn=f"{arn}:{any_order}", maxResults=1000
        ),
        "moto parses the ASL definition (per execution)": lambda: parse_asl(definition),
        "GET /products via the API (2 functions)": lambda: api.request("GET", "/products"),
        "  the same on a keep-alive connection": lambda: kept.request("GET", "/products"),
        PRODUCT_READ: lambda: api.request("GET", "/products/SKU-MUG"),
        STATUS_READ: lambda: api.request("GET", f"/checkouts/{any_order}"),
        "GET /checkouts/{id}?view=steps (history reads)": lambda: api.request(
            "GET", f"/checkouts/{any_order}?view=steps"
        ),
    }
    results: dict[str, list[float]] = {}
    for label, call in calls.items():
        call()  # warm
        samples = []
        for _ in range(repeat):
            began = time.perf_counter()
            call()
            samples.append((time.perf_counter() - began) * 1000)
        results[label] = samples
    return results


# --- main --------------------------------------------------------------------------------------


def _levels(raw: str) -> list[tuple[int, int]]:
    try:
        pairs = [part.split("x") for part in raw.split(",") if part]
        levels = [(int(c), int(n)) for c, n in pairs]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected e.g. 1x32,8x64,32x96, not {raw!r}") from None
    if not levels or any(c < 1 or n < 1 for c, n in levels):
        raise argparse.ArgumentTypeError(f"expected positive numbers: {raw!r}")
    return levels


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--checkouts", type=int, default=20, help="sequential checkouts (latency)")
    parser.add_argument(
        "--levels",
        type=_levels,
        default=_levels("1x32,8x64,32x96"),
        help="throughput: concurrency x checkouts, comma separated (default 1x32,8x64,32x96)",
    )
    parser.add_argument("--poll-ms", type=float, default=20.0, help="GET interval (latency)")
    parser.add_argument(
        "--load-poll-ms",
        type=float,
        default=250.0,
        help="GET interval per thread (throughput; 20 ms x 32 threads floods the API)",
    )
    parser.add_argument("--warmup", type=int, default=3, help="checkouts not counted, first")
    parser.add_argument("--hops", type=int, default=30, help="samples per building block")
    parser.add_argument("--keep", action="store_true", help="keep the state dir (logs) after")
    default_python = ROOT / ".venv" / "bin" / "python"
    parser.add_argument(
        "--python",
        default=str(default_python if default_python.exists() else sys.executable),
        help="interpreter that runs `-m deploy.local` (default: the project's .venv)",
    )
    args = parser.parse_args(argv)
    if args.checkouts < 1:
        parser.error("--checkouts must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    state_dir = Path(tempfile.mkdtemp(prefix="checkout-bench-"))
    cloud = LocalCloudProcess(state_dir, python=args.python)
    print(
        f"checkout local cloud benchmark - {platform.node()}, {os.cpu_count()} CPU(s), "
        f"Python {platform.python_version()} ({platform.machine()}), {platform.platform()}"
    )
    print(f"  source {ROOT} ({_revision()})")
    print(
        f"  ports api {cloud.api_port}, aws {cloud.aws_port}, xray {cloud.xray_port}; "
        f"state dir {state_dir}"
    )
    report: StopReport | None = None
    try:
        with timed("starting the local cloud"):
            cloud.start()
        api = Api(cloud.api)
        restock(cloud)
        with timed(f"{args.warmup} warm-up checkouts"):
            sequential(api, args.warmup, args.poll_ms / 1000)
        assert cloud.process is not None
        pid = cloud.process.pid
        with timed(
            f"latency: {args.checkouts} sequential checkouts, GET every {args.poll_ms:g} ms"
        ):
            before, began = cpu_snapshot(pid), time.perf_counter()
            latency = sequential(api, args.checkouts, args.poll_ms / 1000, offset=1)
            latency_cpu = cpu_delta(before, cpu_snapshot(pid))
            latency_wall_s = time.perf_counter() - began
            read_steps(api, latency)
        levels: list[Level] = []
        for concurrency, count in args.levels:
            with timed(
                f"throughput: {concurrency} + {count} checkouts at concurrency {concurrency}"
            ):
                levels.append(concurrent(api, concurrency, count, args.load_poll_ms / 1000, pid))
        with timed(f"building blocks: {args.hops} samples each"):
            hops = building_blocks(cloud, api, args.hops)
        time.sleep(0.5)  # the last log lines
        by_order, handler_total = handler_ms_by_order(state_dir / "logs")
    finally:
        with timed("stopping the local cloud (SIGTERM)"):
            report = cloud.stop()

    heading("Start-up")
    row("startup_seconds (state.json, in-process)", f"{cloud.state.get('startup_seconds')} s")
    row("wall: spawn -> state.json written", f"{cloud.ready_wall_s:.2f} s")
    row("wall: spawn -> first GET /products answered", f"{cloud.first_answer_wall_s:.2f} s")

    heading(f"One checkout, sequential (n={len(latency)}, ms)")
    confirmed = [c for c in latency if c.status == "CONFIRMED"]
    row("statuses", _count(latency))
    row("POST -> CONFIRMED seen (end to end)", summary([c.e2e_ms for c in confirmed]))
    row("  POST /checkouts answered (202)", summary([c.post_ms for c in confirmed]))
    row(
        "  POST answered -> first state entered",
        summary(_known(c.to_first_state_ms for c in confirmed)),
    )
    row("  first state entered -> last state exited", summary(_known(c.span_ms for c in confirmed)))
    row(
        "  last state exited -> final status read",
        summary(_known(c.detection_ms for c in confirmed)),
    )
    row("sum of the states' duration_ms (history)", summary([c.state_ms for c in confirmed]))
    handler = [by_order[c.order_id] for c in confirmed if c.order_id in by_order]
    row("sum of the handlers' StepDuration (logs)", summary(handler))
    row(
        "one GET /checkouts/{id} while polling", summary([ms for c in confirmed for ms in c.get_ms])
    )
    row("GETs per checkout", summary([float(c.polls) for c in confirmed]))
    row("retried steps", _retries(latency))

    heading(
        f"Throughput (threads; each checkout = POST + GET every {args.load_poll_ms:g} ms "
        "until final)"
    )
    print(
        f"  {'concurrency':>11} {'checkouts':>9} {'wall s':>7} {'checkouts/s':>11} "
        f"{'e2e median ms':>13} {'e2e p95 ms':>10} {'GETs':>5} {'handler/e2e':>11}  "
        "statuses; retried steps"
    )
    for level in levels:
        done = [c for c in level.checkouts if c.status in FINAL]
        e2e = [c.e2e_ms for c in done]
        print(
            f"  {level.concurrency:>11} {len(level.checkouts):>9} {level.wall_s:>7.1f} "
            f"{level.per_second:>11.2f} {statistics.median(e2e) if e2e else 0:>13.0f} "
            f"{percentile(e2e, 95) if e2e else 0:>10.0f} "
            f"{statistics.median([c.polls for c in done]) if done else 0:>5.0f} "
            f"{_share(done, by_order):>11}  "
            f"{_count(level.checkouts)}; {_retries(level.checkouts)}"
        )
    print("  before each level, warm-up rounds (not counted) until no new worker starts:")
    for level in levels:
        print(
            f"  {level.concurrency:>11} {len(level.first_round):>9} {level.first_round_s:>7.1f}"
            f"   {level.workers_started[0]} workers started (cold starts); "
            f"{level.workers_started[1]} more while measuring"
        )

    heading("CPU per checkout (ms of CPU, user + system; 2 cores = 2000 ms per second)")
    phases = [(f"seq poll {args.poll_ms:g}", len(latency), latency_cpu, latency_wall_s)] + [
        (f"c={lv.concurrency} poll {args.load_poll_ms:g}", len(lv.checkouts), lv.cpu, lv.wall_s)
        for lv in levels
    ]
    groups = sorted({key for _, _, cpu, _ in phases for key in cpu}, key=_group_order)
    print(f"  {'':<48}" + "".join(f"{label:>17}" for label, _, _, _ in phases))
    for group in groups:
        cells = "".join(f"{cpu.get(group, 0.0) * 1000 / n:>17.0f}" for _, n, cpu, _ in phases)
        print(f"  {_short(group):<48}{cells}")
    totals = [sum(cpu.values()) * 1000 / n for _, n, cpu, _ in phases]
    print(f"  {'total':<48}" + "".join(f"{total:>17.0f}" for total in totals))
    cores = os.cpu_count() or 1
    print(
        f"  {'=> CPU-bound ceiling, checkouts/s':<48}"
        + "".join(f"{cores * 1000 / total:>17.1f}" for total in totals)
    )
    cloud_key = next(key for key in groups if key.startswith("local cloud"))
    print(
        f"  {'=> local cloud process busy (of 1 core: GIL)':<48}"
        + "".join(f"{cpu.get(cloud_key, 0.0) / wall:>17.0%}" for _, _, cpu, wall in phases)
    )

    heading("Engine overhead (end to end vs time inside the handlers)")
    everything = latency + [c for level in levels for c in level.checkouts]
    matched = [c for c in everything if c.order_id in by_order and c.status in FINAL]
    e2e_total = sum(c.e2e_ms for c in matched)
    handler_matched = sum(by_order[c.order_id] for c in matched)
    row("sequential: e2e / handler time (median ratio)", _ratio(confirmed, by_order))
    row("sequential: state durations / handler time", _ratio(confirmed, by_order, "state"))
    row(
        "whole run: handler ms / e2e ms",
        f"{handler_matched:.0f} / {e2e_total:.0f} = {handler_matched / e2e_total:.1%}"
        if e2e_total
        else "n/a",
    )
    row("StepDuration lines: total ms, matched to orders", f"{handler_total:.0f} ms, "
        f"{sum(by_order.values()):.0f} ms matched to {len(by_order)} orders")  # fmt: skip

    heading(f"Building blocks (ms, n={args.hops} each, one at a time)")
    for label, samples in hops.items():
        row(label, summary(samples))
    status, product = statistics.median(hops[STATUS_READ]), statistics.median(hops[PRODUCT_READ])
    row("=> status read / product read (goal <= 1.3)", f"{status / product:.2f}")

    heading("Stop")
    row("SIGTERM -> exited", f"{report.seconds:.2f} s, exit code {report.exit_code}")
    row(
        "deploy.local.worker children left",
        f"{len(report.workers_left)} of {report.workers_before}"
        + (f" (sent SIGTERM to {report.workers_left})" if report.workers_left else ""),
    )
    if args.keep:
        print(f"\nlogs kept in {state_dir}")
    else:
        shutil.rmtree(state_dir, ignore_errors=True)
    bad = [
        c
        for c in everything + [c for lv in levels for c in lv.first_round]
        if c.status not in FINAL
    ]
    return 1 if bad or report.workers_left else 0


def _revision() -> str:
    try:
        found = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"
    return f"git {found.stdout.strip()}"


def _retries(checkouts: list[Checkout]) -> str:
    """Task retries the executions made (attempts beyond the first), by state and error."""
    errors: dict[str, int] = defaultdict(int)
    for checkout in checkouts:
        for step in checkout.steps:
            if step.get("attempts", 1) > 1:
                errors[f"{step.get('state')}: {step.get('error')}"] += step["attempts"] - 1
    if not errors:
        return "none"
    return ", ".join(f"{n}x {what}" for what, n in sorted(errors.items()))


def _short(group: str) -> str:
    for prefix in ("checkout-local-",):
        if group.startswith(prefix):
            return f"  workers: {group.removeprefix(prefix)}"
    return group


def _group_order(group: str) -> tuple[int, str]:
    if group.startswith("local cloud"):
        return (0, group)
    if group.startswith("this benchmark"):
        return (2, group)
    return (1, group)


def _known(values: Iterable[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def _count(checkouts: list[Checkout]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for checkout in checkouts:
        counts[checkout.status] += 1
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


def _share(checkouts: list[Checkout], by_order: dict[str, float]) -> str:
    pairs = [(by_order[c.order_id], c.e2e_ms) for c in checkouts if c.order_id in by_order]
    if not pairs:
        return "n/a"
    return f"{sum(h for h, _ in pairs) / sum(e for _, e in pairs):.1%}"


def _ratio(checkouts: list[Checkout], by_order: dict[str, float], what: str = "e2e") -> str:
    ratios = [
        (c.e2e_ms if what == "e2e" else c.state_ms) / by_order[c.order_id]
        for c in checkouts
        if by_order.get(c.order_id)
    ]
    return f"{statistics.median(ratios):.1f}x" if ratios else "n/a"


if __name__ == "__main__":
    sys.exit(main())
