"""Start the real local cloud (`python -m deploy.local`) once for the e2e tests; talk HTTP only."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from deploy.local.launcher import LocalCloudProcess

ROOT = Path(__file__).resolve().parents[2]
FINAL = {"CONFIRMED", "CANCELLED", "FAILED"}
APPROVAL_SECONDS = 6


@dataclass
class Response:
    status: int
    body: Any


@dataclass
class Shop:
    """The storefront's view: the checkout API over HTTP (and, for traces, the AWS endpoint)."""

    url: str
    aws_endpoint: str = ""
    state_dir: Path | None = None  # where `checkout ...` commands find this local cloud
    console_url: str = ""  # the saga console this local cloud serves

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Response:  # fmt: skip
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers=all_headers
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                return Response(answer.status, json.loads(answer.read() or b"null"))
        except urllib.error.HTTPError as error:
            return Response(error.code, json.loads(error.read() or b"null"))

    def checkout(
        self, items: list[dict[str, Any]], token: str = "tok_visa", key: str | None = None,
        fault: str | None = None,
    ) -> Response:  # fmt: skip
        headers = {"Idempotency-Key": key or f"e2e-{uuid.uuid4()}"}
        if fault:
            headers["X-Checkout-Fault"] = fault
        body = {"customer_id": "cust-e2e", "items": items, "payment_token": token}
        return self.request("POST", "/checkouts", body, headers)

    def wait_final(
        self, order_id: str, timeout: float = 120, interval: float = 0.3
    ) -> dict[str, Any]:
        """Poll the status view as a storefront does; once final, read the steps view once."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.request("GET", f"/checkouts/{order_id}")
            assert answer.status == 200, answer.body
            if answer.body["status"] in FINAL:
                steps = self.request("GET", f"/checkouts/{order_id}?view=steps")
                assert steps.status == 200, steps.body
                view: dict[str, Any] = steps.body
                return view
            assert time.monotonic() < deadline, f"{order_id} still {answer.body['status']}"
            time.sleep(interval)

    def available(self, sku: str) -> int:
        answer = self.request("GET", f"/products/{sku}")
        assert answer.status == 200, answer.body
        units: int = answer.body["available"]
        return units


@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    # a customer's approval is awaited this long: the tests answer at once, or wait it out
    cloud = LocalCloudProcess(
        tmp_path_factory.mktemp("local-cloud"),
        env={"CHECKOUT_APPROVAL_SECONDS": str(APPROVAL_SECONDS)},
    )
    try:
        cloud.start(timeout=120)
    except RuntimeError as error:
        pytest.fail(f"the local cloud did not start: {error}\n{cloud.tail()}")
    yield Shop(cloud.api, cloud.aws, cloud.state_dir, cloud.console)
    report = cloud.stop()
    assert report.exit_code == 0, cloud.tail()
    assert report.workers_left == [], f"worker processes left behind: {report.workers_left}"


@pytest.fixture
def shop(local_cloud: Shop) -> Shop:
    return local_cloud
