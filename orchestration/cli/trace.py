"""`checkout trace <order_id>`: a checkout's X-Ray trace as a tree, locally or on AWS.

Locally (the default while `make run` is up) it reads the local cloud's endpoint, where the local
X-Ray daemon stores segments. With `--aws` it uses your AWS credentials (`--profile`, `--region`)
and finds the trace with the filter expression `annotation.order_id = "<order_id>"`. In both
places it also reads the saga's Step Functions execution history (the order id is the execution
name), which holds every step even when X-Ray sampled the trace out.
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
    parser.add_argument("--project", default="checkout", help="with --aws (default: checkout)")
    parser.add_argument("--stage", default="dev", help="with --aws (default: dev)")
    parser.set_defaults(run=run)


def _local_state() -> dict[str, Any] | None:
    explicit = os.environ.get("CHECKOUT_STATE_DIR")
    state = Path(explicit) / "state.json" if explicit else STATE_FILE
    if not state.exists():
        return None
    loaded: dict[str, Any] = json.loads(state.read_text())
    return loaded


def _clients(args: argparse.Namespace) -> tuple[Any, Any, str | None]:
    """X-Ray and Step Functions clients, and the saga's state machine ARN when known."""
    import boto3

    if args.aws:
        session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
        name = f"/{args.project}/{args.stage}/orchestration/checkout-state-machine/arn"
        try:
            arn = session.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
        except Exception:  # the trace alone still answers
            arn = None
        return session.client("xray"), session.client("stepfunctions"), arn
    state = _local_state() or {}
    endpoint = args.endpoint_url or state.get("aws_endpoint")
    if endpoint is None:
        raise SystemExit(
            "no local cloud found (.local-cloud/state.json): start it with `make run`, "
            "or pass --endpoint-url or --aws"
        )
    session = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
    )
    arn = state.get("state_machine_arn") if endpoint == state.get("aws_endpoint") else None
    sfn = session.client("stepfunctions", endpoint_url=endpoint)
    if arn is None:
        machines = sfn.list_state_machines().get("stateMachines", [])
        arn = next((m["stateMachineArn"] for m in machines if "checkout-saga" in m["name"]), None)
    return session.client("xray", endpoint_url=endpoint), sfn, arn


def _execution_steps(sfn: Any, state_machine_arn: str | None, order_id: str) -> list[str] | None:
    """The steps from the execution history, one line each, or None if there is no execution."""
    from orchestration.history import steps_from_history

    if state_machine_arn is None:
        return None
    arn = state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{order_id}"
    try:
        described = sfn.describe_execution(executionArn=arn)
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    except Exception:
        return None
    lines = [f"execution {described['status']}  {arn}"]
    for step in steps_from_history(events, running=described["status"] == "RUNNING"):
        retries = f" x{step.attempts}" if step.attempts > 1 else ""
        error = f"  {step.error}" if step.error else ""
        lines.append(
            f"  {step.phase:<12} {step.operation:<32} {step.outcome}{retries}"
            f"  [{step.duration_ms} ms]{error}"
        )
    return lines


def run(args: argparse.Namespace) -> int:
    try:
        xray, sfn, state_machine_arn = _clients(args)
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
    history = _execution_steps(sfn, state_machine_arn, args.order_id)
    if trace is None and history is None:
        print(
            f"checkout trace: no trace and no saga execution found for order {args.order_id} "
            f"(looked back {args.since_hours:g} hours)",
            file=sys.stderr,
        )
        return 1
    if trace is not None:
        print(render(trace))
    else:
        print(f"no X-Ray trace found for order {args.order_id} (sampled out, or not sent yet)")
    if history is not None:
        print("", *history, sep="\n")
    return 0
