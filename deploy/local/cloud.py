"""Start, run and stop the local cloud (`make run` / `python -m deploy.local`)."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from deploy.local.config import LocalCloudConfig, fake_credentials


def _port_free(host: str, port: int, kind: int = socket.SOCK_STREAM) -> bool:
    with socket.socket(socket.AF_INET, kind) as probe:
        if kind == socket.SOCK_STREAM:  # as the servers will: a port in TIME_WAIT is free
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


class LocalCloud:
    def __init__(self, config: LocalCloudConfig, say: Callable[[str], None] = print) -> None:
        self.config = config
        self.say = say
        self._stops: list[Callable[[], None]] = []
        self.deployment: Any = None
        self.runtime: Any = None
        self.gateway: Any = None
        self.console_url: str | None = None
        self.xray: Any = None
        self.events: Any = None

    def start(self) -> float:
        """Bring everything up; return the start-up time in seconds."""
        started = time.perf_counter()
        config = self.config
        for port, kind, variable in (
            (config.api_port, socket.SOCK_STREAM, "CHECKOUT_API_PORT"),
            (config.aws_port, socket.SOCK_STREAM, "CHECKOUT_AWS_PORT"),
            (config.xray_port, socket.SOCK_DGRAM, "CHECKOUT_XRAY_PORT"),
        ):
            if not _port_free(config.host, port, kind):
                raise SystemExit(
                    f"port {config.host}:{port} is in use (another `make run`?); "
                    f"stop it or set {variable} to a free port"
                )
        # This process hosts moto: its Step Functions interpreter calls services at MOTO_PORT, and
        # the seeding below talks to the endpoint like any client.
        os.environ.update(fake_credentials())
        os.environ["MOTO_PORT"] = str(config.aws_port)
        os.environ["AWS_ENDPOINT_URL"] = config.aws_endpoint
        from deploy.local.deployer import LocalDeployer
        from deploy.local.endpoint import AwsEndpoint
        from deploy.local.events import LocalEventBridge
        from deploy.local.gateway import LocalApiGateway
        from deploy.local.runtime import LambdaRuntime
        from deploy.local.xray_daemon import LocalXRayDaemon

        self.say(f"starting the local cloud (stage {config.stage}) ...")
        from deploy.local.tracing import SegmentEmitter

        emitter = SegmentEmitter((config.host, config.xray_port))
        self._stops.append(emitter.close)
        self.runtime = LambdaRuntime(config.log_dir, config.max_workers_per_function, emitter)
        self._stops.append(self.runtime.stop)
        endpoint = AwsEndpoint(self.runtime, config.host, config.aws_port)
        endpoint.start()
        self._stops.append(endpoint.stop)
        self.say(f"  AWS endpoint (moto + local Lambda) on {config.aws_endpoint}")
        self.xray = LocalXRayDaemon(config.host, config.xray_port, config.aws_endpoint)
        self.xray.start()
        self._stops.append(self.xray.stop)
        self.deployment = LocalDeployer(config, self.runtime).deploy_all(progress=self.say)
        self.events = LocalEventBridge(
            self.runtime,
            self.deployment.rules,
            self.deployment.schedules,
            config.schedule_seconds,
        )
        self.events.start()
        self._stops.append(self.events.stop)
        self.say(
            f"  events: {len(self.deployment.rules)} rule(s), {len(self.deployment.schedules)} "
            f"schedule(s) every {config.schedule_seconds:g}s (CHECKOUT_SCHEDULE_SECONDS)"
        )
        self._seed()
        self.gateway = LocalApiGateway(
            self.runtime,
            self.deployment.routes,
            config.host,
            config.api_port,
            config.stage,
            emitter,
        )
        self.gateway.start()
        self._stops.append(self.gateway.stop)
        self.console_url = self._start_console()
        elapsed = time.perf_counter() - started
        self._write_state(elapsed)
        return elapsed

    def _seed(self) -> None:
        from deploy.local.demo_catalog import seed
        from services.inventory.dal.records import bind_tables
        from services.inventory.settings import InventorySettings

        tables = self.deployment.tables
        bind_tables(
            InventorySettings(
                stage=self.config.stage,
                aws_region=os.environ["AWS_REGION"],
                products_table_name=tables["ProductsTable"],
                reservations_table_name=tables["ReservationsTable"],
            )
        )
        self.say(f"  seeded {seed()} demo products into {tables['ProductsTable']}")

    def _start_console(self) -> str | None:
        """The saga console (orchestration/console), in this process, reading the endpoint as
        `checkout console` would. A port already taken costs the console, not the cloud."""
        import boto3

        from orchestration.cli.target import Target
        from orchestration.console.server import serve_in_thread
        from orchestration.console.sources import source_for

        config = self.config
        target = Target(
            label=f"the local cloud at {config.aws_endpoint}",
            session=boto3.session.Session(region_name=os.environ["AWS_REGION"]),
            endpoint_url=config.aws_endpoint,
            stage=config.stage,
            region=os.environ["AWS_REGION"],
            profile=None,
            state_machine_arn=self.deployment.state_machine_arn,
            parked_table=self.deployment.tables.get("ParkedCheckoutsTable"),
            event_bus=self.deployment.event_bus,
            project=config.project,
        )
        source = source_for(target, read_only=False, api_url=config.api_url)
        try:
            server = serve_in_thread(source, config.console_port, config.host)
        except OSError as error:
            self.say(
                f"  console not started: {config.host}:{config.console_port} is taken ({error}); "
                "set CHECKOUT_CONSOLE_PORT"
            )
            return None
        self._stops.append(server.shutdown)
        self.say(f"  saga console on {config.console_url}")
        return config.console_url

    def _write_state(self, elapsed: float) -> None:
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        state = {
            "api_url": self.config.api_url,
            "aws_endpoint": self.config.aws_endpoint,
            "console_url": self.console_url,
            "state_machine_arn": self.deployment.state_machine_arn,
            "stage": self.config.stage,
            "project": self.config.project,
            "event_bus": self.deployment.event_bus,
            "tables": self.deployment.tables,
            "startup_seconds": round(elapsed, 3),
            "pid": os.getpid(),
        }
        (self.config.state_dir / "state.json").write_text(json.dumps(state, indent=2))

    def stop(self) -> None:
        while self._stops:
            stop = self._stops.pop()
            try:
                stop()
            except Exception as error:  # keep stopping the rest
                self.say(f"  while stopping: {error}")


def banner(
    config: LocalCloudConfig, elapsed: float, functions: int, console_url: str | None
) -> str:
    api = config.api_url
    console = (
        f"{console_url}   (open it in a browser)"
        if console_url
        else ("not started: its port is taken (set CHECKOUT_CONSOLE_PORT)")
    )
    body = '{"customer_id":"cust-1","items":[{"sku":"SKU-TSHIRT","quantity":1}],'
    post = (
        f"curl -s -X POST {api}/checkouts -H 'Content-Type: application/json' "
        '-H "Idempotency-Key: demo-$(date +%s%N)"'
    )
    return f"""
The checkout suite is up in {elapsed:.1f}s ({functions} functions warm).
  console       {console}
  API           {api}   (GET /products, POST /checkouts, GET /checkouts/{{order_id}})
  AWS endpoint  {config.aws_endpoint}   (aws --endpoint-url {config.aws_endpoint} ...)
  X-Ray daemon  udp://{config.host}:{config.xray_port}
  logs          {config.log_dir}/<function>.log

Try it (each answers 202 with an order_id; then GET {api}/checkouts/<order_id>):
  # a checkout that succeeds -> CONFIRMED
  {post} -d '{body}"payment_token":"tok_visa"}}'
  # a declined card -> CANCELLED, stock released
  {post} -d '{body}"payment_token":"tok_chargeDeclined"}}'
  # a confirmation that fails -> authorization voided (no money moved), released, CANCELLED
  {post} -H 'X-Checkout-Fault: order.confirm' -d '{body}"payment_token":"tok_visa"}}'
  # a capture that keeps failing after the confirmation -> FAILED, parked, the order CONFIRMED
  {post} -H 'X-Checkout-Fault: payment.capture=transient*9' -d '{body}"payment_token":"tok_visa"}}'

Press Ctrl-C to stop.
"""


def _stop_when_orphaned(stopping: threading.Event) -> None:
    """Stop if whoever started us goes away (`make run` killed by SIGTERM does not pass the
    signal on): the local cloud must never outlive its launcher."""
    parent = os.getppid()

    def watch() -> None:
        while not stopping.wait(0.5):
            if os.getppid() != parent:
                print("the launcher went away: stopping", flush=True)
                stopping.set()

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def main() -> int:
    config = LocalCloudConfig()
    cloud = LocalCloud(config, say=lambda line: print(line, flush=True))
    stopping = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    _stop_when_orphaned(stopping)
    try:
        elapsed = cloud.start()
        functions = len(cloud.runtime.function_names())
        print(banner(config, elapsed, functions, cloud.console_url), flush=True)
        stopping.wait()
    except SystemExit as exit_:
        print(f"local cloud: {exit_}", file=sys.stderr, flush=True)
        cloud.stop()
        return 2
    except Exception as error:
        print(f"local cloud failed to start: {error}", file=sys.stderr, flush=True)
        cloud.stop()
        return 1
    print("stopping the local cloud ...", flush=True)
    cloud.stop()
    print("stopped.", flush=True)
    return 0
