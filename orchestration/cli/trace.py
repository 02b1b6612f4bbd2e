"""`checkout trace <order_id>`: a checkout's X-Ray trace as a tree, locally or on AWS.

Locally (the default while `make run` is up) it reads the local cloud's endpoint, where the local
X-Ray daemon stores segments. With `--aws` it uses your AWS credentials (`--profile`, `--region`)
and finds the trace with the filter expression `annotation.order_id = "<order_id>"`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from orchestration.tracing import find_checkout_trace, render

STATE_FILE = Path(__file__).resolve().parents[2] / ".local-cloud" / "state.json"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "trace",
        help="print a checkout's X-Ray trace: steps, compensations, the failed step",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("order_id")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--endpoint-url",
        help="an AWS endpoint (default: the running local cloud, from .local-cloud/state.json)",
    )
    where.add_argument("--aws", action="store_true", help="read the trace from AWS X-Ray")
    parser.add_argument("--profile", help="AWS profile (with --aws)")
    parser.add_argument("--region", help="AWS region (with --aws)")
    parser.add_argument(
        "--since-hours", type=float, default=6.0, help="how far back to look (default: 6)"
    )
    parser.set_defaults(run=run)


def _local_endpoint() -> str | None:
    explicit = os.environ.get("CHECKOUT_STATE_DIR")
    state = Path(explicit) / "state.json" if explicit else STATE_FILE
    if not state.exists():
        return None
    endpoint: str = json.loads(state.read_text())["aws_endpoint"]
    return endpoint


def _xray_client(args: argparse.Namespace) -> Any:
    import boto3

    if args.aws:
        session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
        return session.client("xray")
    endpoint = args.endpoint_url or _local_endpoint()
    if endpoint is None:
        raise SystemExit(
            "no local cloud found (.local-cloud/state.json): start it with `make run`, "
            "or pass --endpoint-url or --aws"
        )
    session = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
    )
    return session.client("xray", endpoint_url=endpoint)


def run(args: argparse.Namespace) -> int:
    try:
        xray = _xray_client(args)
        trace = find_checkout_trace(
            xray,
            args.order_id,
            since=timedelta(hours=args.since_hours),
            use_filter=args.aws,  # moto keeps no annotation index: read and match locally
        )
    except SystemExit as stop:
        print(f"checkout trace: {stop}", file=sys.stderr)
        return 2
    except Exception as error:  # unreachable endpoint, no credentials...
        print(f"checkout trace: cannot read X-Ray: {error}", file=sys.stderr)
        return 2
    if trace is None:
        print(
            f"checkout trace: no trace found for order {args.order_id} in the last "
            f"{args.since_hours:g} hours",
            file=sys.stderr,
        )
        return 1
    print(render(trace))
    return 0
