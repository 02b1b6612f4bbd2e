"""Assemble a function's or a layer's build artifacts (called by `sam build` through make).

    python -m deploy.bundle code --function ReserveStockFunction --out "$ARTIFACTS_DIR"
    python -m deploy.bundle code --service inventory --out "$ARTIFACTS_DIR"
    python -m deploy.bundle layer --out "$ARTIFACTS_DIR"

`--function` finds the unit whose template defines that logical id, so `deploy/sam-targets.mk`
needs no list of functions. Standard library only: `sam build` runs this with whatever `python3`
is on the PATH.

A function bundle holds its own service and the project's `shared/` package, nothing of the other
services. The dependencies go into one layer per template, installed for the Lambda target
(python3.12, arm64) whatever the build machine runs, from the pins in pyproject.toml.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = tuple(sorted(folder.parent.name for folder in (ROOT / "deploy").glob("*/template.yaml")))
LAMBDA_PYTHON = "3.12"
LAMBDA_PLATFORM = "manylinux2014_aarch64"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache")


def runtime_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The pinned runtime dependencies: the same list the tests run against."""
    requirements: list[str] = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"][
        "dependencies"
    ]
    return requirements


def bundle_code(service: str, out: Path) -> list[Path]:
    """Copy the service's package and `shared/` into `out`; return the top-level paths written."""
    if service not in SERVICES:
        raise SystemExit(f"unknown service {service!r}; expected one of {', '.join(SERVICES)}")
    out.mkdir(parents=True, exist_ok=True)
    copies = {ROOT / "shared": out / "shared"}
    if service == "orchestration":
        copies[ROOT / "orchestration"] = out / "orchestration"
    else:
        copies[ROOT / "services" / service] = out / "services" / service
        (out / "services").mkdir(exist_ok=True)
        shutil.copy2(ROOT / "services" / "__init__.py", out / "services" / "__init__.py")
    for source, target in copies.items():
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target, ignore=_IGNORED)
    return sorted(copies.values())


def unit_of_function(logical_id: str) -> str:
    """The unit whose template defines the resource `logical_id` (two-space indent under
    Resources, as every template here is written)."""
    declared = re.compile(rf"^  {re.escape(logical_id)}:\s*$", re.MULTILINE)
    templates = {unit: (ROOT / "deploy" / unit / "template.yaml").read_text() for unit in SERVICES}
    found = [unit for unit, text in templates.items() if declared.search(text)]
    if len(found) != 1:
        raise SystemExit(f"{logical_id} is defined by {len(found)} templates ({found}), not one")
    return found[0]


def bundle_layer(out: Path) -> None:
    """Install the runtime dependencies for the Lambda target into `out/python`."""
    target = out / "python"
    target.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--target", str(target),
        "--platform", LAMBDA_PLATFORM, "--implementation", "cp",
        "--python-version", LAMBDA_PYTHON, "--only-binary=:all:",
        *runtime_requirements(),
    ]  # fmt: skip
    print(f"installing {len(runtime_requirements())} pinned dependencies for python{LAMBDA_PYTHON}"
          f" {LAMBDA_PLATFORM} into {target}", flush=True)  # fmt: skip
    subprocess.run(command, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    code = sub.add_parser("code", help="a function's code: its service and shared/")
    which = code.add_mutually_exclusive_group(required=True)
    which.add_argument("--service", choices=SERVICES)
    which.add_argument("--function", help="a function's logical id: its template names the unit")
    code.add_argument("--out", required=True, type=Path)
    layer = sub.add_parser("layer", help="the pinned runtime dependencies, for the Lambda target")
    layer.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    if args.what == "code":
        written = bundle_code(args.service or unit_of_function(args.function), args.out)
        print(f"bundled {', '.join(p.name for p in written)} into {args.out}", flush=True)
    else:
        bundle_layer(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
