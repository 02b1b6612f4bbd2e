"""Each function's cold-start import in Lambda mode, against `import boto3` in the same Python.

For every function of every template (`deploy/*/template.yaml`), a fresh interpreter with the
environment Lambda gives that function (`LAMBDA_TASK_ROOT`, `AWS_LAMBDA_FUNCTION_NAME`, the
template's variables) times `import <handler module>`; another times `import boto3`. Medians of
`--runs` runs each, printed with the ratio (the target is at most 1.5x, issue 12). The INIT phase
of a Lambda cold start is billed, and a checkout can meet four of them in a row. The last row is
the floor: the libraries every service function imports, with no code of ours.

    python bench/cold_start.py                    # every function
    python bench/cold_start.py --detail payment/VoidPayment   # where its import time goes

`--detail` prints the modules with the largest cumulative import time (`python -X importtime`)
after `import boto3` in the same interpreter: what the handler adds to what boto3 pays.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deploy.templates import UNITS, FunctionSpec, functions, load_template  # noqa: E402

# One interpreter times `import boto3`, then the rest of the handler's import: noise on a shared
# machine moves both alike, so the ratio of each pair is steadier than two separate medians.
TIMED_IMPORT = (
    "import time; started = time.perf_counter(); import boto3; "
    "boto3_done = time.perf_counter(); {statement}; ended = time.perf_counter(); "
    "print((boto3_done - started) * 1000, (ended - started) * 1000)"
)
TARGET_RATIO = 1.5
# What every service function imports before any code of ours: the floor under every ratio.
# `import pydantic` alone is lazy (its package resolves names on first use) and would leave out
# the 33-37 ms that `BaseModel`, which every contract subclasses, costs: ask for the class.
LIBRARIES_ALONE = (
    "import pynamodb.models, aws_lambda_powertools.logging, aws_lambda_powertools.metrics, "
    "aws_lambda_powertools.tracing, aws_xray_sdk.core; from pydantic import BaseModel"
)


@dataclass(frozen=True)
class Measured:
    name: str
    module: str
    median_ms: float
    ratio: float


def lambda_environment(spec: FunctionSpec) -> dict[str, str]:
    """What Lambda sets, plus the template's variables: a parameter's default for a `Ref` to it,
    a placeholder for any other reference (a table name, an ARN)."""
    name = str(spec.properties.get("FunctionName", spec.logical_id))
    parameters = load_template(spec.unit).get("Parameters", {})

    def resolved(key: str, value: object) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and value.get("Ref") in parameters:
            return str(parameters[value["Ref"]].get("Default", ""))
        return f"bench-{key.lower().replace('_', '-')}"

    variables = {key: resolved(key, value) for key, value in spec.environment.items()}
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "LAMBDA_TASK_ROOT": str(ROOT),
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.properties.get("MemorySize", 128)),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        **variables,
    }


def timed_import(statement: str, env: dict[str, str], runs: int) -> tuple[float, float, float]:
    """Medians over `runs` fresh interpreters: boto3's import, then boto3's and `statement`'s
    together, and the ratio of the two."""
    boto3_ms, handler_ms, ratios = [], [], []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", TIMED_IMPORT.format(statement=statement)],
            env=env, capture_output=True, text=True, check=False, cwd=ROOT,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"{statement} failed:\n{done.stderr[-2000:]}")
        boto3_alone, whole = (float(part) for part in done.stdout.split()[-2:])
        boto3_ms.append(boto3_alone)
        handler_ms.append(whole)
        ratios.append(whole / boto3_alone)
    return statistics.median(boto3_ms), statistics.median(handler_ms), statistics.median(ratios)


def detail(module: str, env: dict[str, str], top: int = 15) -> None:
    done = subprocess.run(
        # boto3 first, as the ratio counts it: what follows is what the handler adds to it
        [sys.executable, "-X", "importtime", "-c", f"import boto3; import {module}"],
        env=env, capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    rows: list[tuple[int, int, str]] = []
    lines = done.stderr.splitlines()
    boto3_done = next(i for i, line in enumerate(lines) if line.rstrip().endswith("| boto3"))
    for line in lines[boto3_done + 1 :]:
        if not line.startswith("import time:") or "|" not in line or "cumulative" in line:
            continue
        _, self_us, cumulative_us, name = (
            part.strip() for part in line.replace(":", "|", 1).split("|")
        )
        package = name.strip().split(".")[0]
        if package not in {"boto3", "botocore"}:
            rows.append((int(cumulative_us), int(self_us), name.rstrip()))
    print(f"\n{module}: largest cumulative imports after `import boto3` (ms)")
    for cumulative, own, imported in sorted(rows, reverse=True)[:top]:
        print(f"  {cumulative / 1000:8.1f}  (self {own / 1000:6.1f})  {imported}")
    # Cumulative time lands on whichever module imports a library first (our settings module
    # pulls in pydantic): self time summed per top-level package says who really pays.
    by_package: Counter[str] = Counter()
    for _, own, imported in rows:
        by_package[imported.strip().split(".")[0]] += own
    print(f"\n{module}: self time by top-level package after `import boto3` (ms)")
    print(f"  {sum(by_package.values()) / 1000:8.1f}  in all")
    for package, own in by_package.most_common(top):
        print(f"  {own / 1000:8.1f}  {package}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per import")
    parser.add_argument("--detail", metavar="FUNCTION", help="-X importtime breakdown of one")
    args = parser.parse_args()

    specs = [spec for unit in UNITS for spec in functions(unit)]
    if args.detail:
        wanted = [s for s in specs if args.detail in (s.logical_id, _slug(s), s.handler_module)]
        if not wanted:
            raise SystemExit(f"--detail {args.detail}: no such function")
        detail(wanted[0].handler_module, lambda_environment(wanted[0]))
        return 0

    print(f"cold-start imports, Lambda mode, median of {args.runs} fresh interpreters each")
    print(f"  {'function':<32} {'import boto3':>12} {'the handler':>12} {'ratio':>6}")
    measured = []
    for spec in specs:
        boto3_ms, handler_ms, ratio = timed_import(
            f"import {spec.handler_module}", lambda_environment(spec), args.runs
        )
        measured.append(Measured(_slug(spec), spec.handler_module, handler_ms, ratio))
        flag = "" if ratio <= TARGET_RATIO else f"  > {TARGET_RATIO}x"
        print(f"  {_slug(spec):<32} {boto3_ms:9.1f} ms {handler_ms:9.1f} ms {ratio:5.2f}x{flag}")
    boto3_ms, floor_ms, floor = timed_import(
        LIBRARIES_ALONE, lambda_environment(specs[0]), args.runs
    )
    print(
        f"  {'(floor: the libraries alone)':<32} {boto3_ms:9.1f} ms {floor_ms:9.1f} ms "
        f"{floor:5.2f}x  pydantic, PynamoDB, Powertools, X-Ray SDK; no code of ours"
    )
    worst = max(measured, key=lambda m: m.ratio)
    over = sum(m.ratio > TARGET_RATIO for m in measured)
    print(
        f"cold start: worst {worst.name} {worst.ratio:.2f}x import boto3; "
        f"{over} of {len(measured)} over {TARGET_RATIO}x"
    )
    return 0


def _slug(spec: FunctionSpec) -> str:
    return f"{spec.unit}/{spec.logical_id.removesuffix('Function')}"


if __name__ == "__main__":
    sys.exit(main())
