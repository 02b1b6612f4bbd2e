"""CPU of the local-cloud process per sequential checkout (moto, the ASL interpreter, endpoint,
gateway), the figure moto's per-execution parse dominated.

    python bench/cloud_cpu.py [--checkouts 15]

Run it from another checkout of the repository (`cd <old worktree> && PYTHONPATH=$PWD
/path/to/.venv/bin/python bench/cloud_cpu.py`) to compare two versions on the same machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deploy.local.launcher import LocalCloudProcess  # noqa: E402
from tests.e2e.conftest import Shop  # noqa: E402

WARM_UP = 3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkouts", type=int, default=15)
    args = parser.parse_args()
    cloud = LocalCloudProcess(Path(tempfile.mkdtemp(prefix="checkout-cpu-")))
    cloud.start()
    try:
        shop = Shop(cloud.api)
        process = psutil.Process(cloud.pid)

        def one() -> None:
            accepted = shop.checkout([{"sku": "SKU-MUG", "quantity": 1}])
            shop.wait_final(accepted.body["order_id"], interval=0.2)

        for _ in range(WARM_UP):
            one()
        cpu, wall = sum(process.cpu_times()[:2]), time.perf_counter()
        for _ in range(args.checkouts):
            one()
        cpu_ms = (sum(process.cpu_times()[:2]) - cpu) / args.checkouts * 1000
        wall_ms = (time.perf_counter() - wall) / args.checkouts * 1000
    finally:
        cloud.stop()
    print(
        f"source {ROOT}: local-cloud CPU {cpu_ms:.0f} ms per checkout, wall {wall_ms:.0f} ms "
        f"({args.checkouts} sequential checkouts, GET every 200 ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
