"""How fast the saga console's pages render on a local cloud (issue 13: under 1 s each).

    .venv/bin/python bench/console.py [--checkouts 30] [--samples 15]

A script that prints numbers, not a test. It starts a local cloud of its own (as `make run`),
runs `--checkouts` checkouts over the API (a mix: confirmed, declined, failed confirmation), then
fetches each console page `--samples` times over HTTP, as a browser does, and prints the
median and p95 of each, flagging any page whose p95 is 1 s or more. The list page reads one
DescribeExecution per checkout shown (50 at most), so it is measured with the history full.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from the repository
    sys.path.insert(0, str(ROOT))

from local_cloud import FINAL, Api  # noqa: E402  (bench/ is on sys.path: a script)

from deploy.local.launcher import LocalCloudProcess  # noqa: E402

TARGET_MS = 1_000
MIX = [  # (payment token, fault): the endings a console shows
    ("tok_visa", None),
    ("tok_chargeDeclined", None),
    ("tok_visa", "order.confirm"),
]


def run_checkouts(api: Api, count: int) -> list[str]:
    orders = []
    for number in range(count):
        token, fault = MIX[number % len(MIX)]
        headers = {"Idempotency-Key": f"bench-console-{number}-{time.time_ns()}"}
        if fault:
            headers["X-Checkout-Fault"] = fault
        body = {"customer_id": "bench", "items": [{"sku": "SKU-MUG", "quantity": 1}],
                "payment_token": token}  # fmt: skip
        status, answer = api.request("POST", "/checkouts", body, headers)
        assert status == 202, answer
        orders.append(answer["order_id"])
    for order_id in orders:
        while api.request("GET", f"/checkouts/{order_id}")[1]["status"] not in FINAL:
            time.sleep(0.2)
    return orders


def timed(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as answer:
        answer.read()
        assert answer.status == 200, url
    return (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkouts", type=int, default=30)
    parser.add_argument("--samples", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="checkout-bench-console-") as state_dir:
        cloud = LocalCloudProcess(Path(state_dir))
        print("starting a local cloud ...", flush=True)
        cloud.start()
        try:
            print(f"running {args.checkouts} checkouts ...", flush=True)
            orders = run_checkouts(Api(cloud.api), args.checkouts)
            pages = {
                "checkouts list (/)": "/",
                "a confirmed checkout": f"/checkouts/{orders[0]}",
                "a failed confirmation": f"/checkouts/{orders[2]}",
                "its live fragment": f"/checkouts/{orders[2]}?fragment=1",
                "saga graph": "/graph",
                "try it": "/try",
                "parked": "/parked",
                "catalog": "/catalog",
            }
            print(f"\nconsole pages, {args.samples} samples each (ms)")
            print(f"  {'page':<26} {'median':>8} {'p95':>8}")
            slow = 0
            for name, path in pages.items():
                timed(cloud.console + path)  # warm
                samples = sorted(timed(cloud.console + path) for _ in range(args.samples))
                p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
                flag = "" if p95 < TARGET_MS else f"  >= {TARGET_MS} ms"
                slow += bool(flag)
                print(f"  {name:<26} {statistics.median(samples):>8.1f} {p95:>8.1f}{flag}")
        finally:
            cloud.stop()
    print(f"\nconsole: {len(pages) - slow} of {len(pages)} pages under {TARGET_MS} ms at p95")
    return 0


if __name__ == "__main__":
    sys.exit(main())
