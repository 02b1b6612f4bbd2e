"""`checkout new-step <service> <action> <compensation> --after <step>`: scaffold a saga step.

Writes the new service (handlers, logic, dal, models, settings, bootstrap, contracts), its SAM
template and its integration tests, inserts its entry into orchestration/spec.py, and regenerates
what derives from the specification (`make generate`). See docs/extending.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "new-step",
        help="scaffold a new saga step: a service, its template and tests, its spec entry",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("service", help="the new service's name, e.g. shipping")
    parser.add_argument("action", help="its action, e.g. schedule_shipment")
    parser.add_argument("compensation", help="its compensation, e.g. cancel_shipment")
    parser.add_argument(
        "--after", required=True, help="the step it follows, e.g. reserve_stock (before the pivot)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from orchestration.scaffold import NewStep, ScaffoldError, scaffold

    step = NewStep(args.service, args.action, args.compensation, args.after)
    try:
        written = scaffold(step, ROOT)
    except ScaffoldError as refused:
        print(f"checkout new-step: {refused}", file=sys.stderr)
        return 2
    for path in written:
        print(f"  wrote {path.relative_to(ROOT)}")
    python_files = [str(path) for path in written if path.suffix == ".py"]
    for tidy in (["format", "--quiet"], ["check", "--fix", "--quiet"]):  # names vary in length
        subprocess.run([sys.executable, "-m", "ruff", *tidy, *python_files], cwd=ROOT, check=False)
    # `make generate`, in a new process: it must import the new specification
    subprocess.run([sys.executable, "-m", "orchestration.generate"], cwd=ROOT, check=True)
    print(
        f"\nThe step {args.action} / {args.compensation} follows {args.after}. Next: `make test`, "
        "`make run`; then replace the logic in "
        f"services/{args.service}/logic/ with your own (docs/extending.md)."
    )
    return 0
