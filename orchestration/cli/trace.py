"""`checkout trace <order_id>`: a checkout's X-Ray trace as a tree, locally or on AWS.

Locally (the default while `make run` is up) it reads the local cloud's endpoint, where the local
X-Ray daemon stores segments. With `--aws` it uses your AWS credentials (`--profile`, `--region`)
and finds the trace with the filter expression `annotation.order_id = "<order_id>"`. In both
places it also reads the saga's Step Functions execution history (the order id is the execution
name), which holds every step even when X-Ray sampled the trace out.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import Any

from orchestration.cli.target import TargetError, add_target_arguments, resolve
from orchestration.recovery import describer, execution_chain, recovery_of
from orchestration.tracing import find_checkout_traces, render


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "trace",
        help="print a checkout's X-Ray trace: steps, compensations, the failed step",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("order_id")
    add_target_arguments(parser)
    parser.add_argument(
        "--since-hours", type=float, default=6.0, help="how far back to look (default: 6)"
    )
    parser.set_defaults(run=run)


def _clients(args: argparse.Namespace) -> tuple[Any, Any, str | None]:
    """X-Ray and Step Functions clients, and the saga's state machine ARN when known."""
    try:
        target = resolve(args)
    except TargetError as error:
        raise SystemExit(str(error)) from None
    sfn = target.client("stepfunctions")
    return target.client("xray"), sfn, target.saga_state_machine(sfn)


def _execution_steps(sfn: Any, state_machine_arn: str | None, order_id: str) -> list[str] | None:
    """The steps of the order's executions (its saga, then any recovery), one line each, or None
    if there is no execution."""
    from orchestration.history import steps_from_history

    if state_machine_arn is None:
        return None

    try:
        chain = execution_chain(describer(sfn), state_machine_arn, order_id)
    except Exception:  # unreachable, no permission: the trace alone still answers
        return None
    if not chain:
        return None
    lines: list[str] = []
    for described in chain:
        arn = described["executionArn"]
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        recovery = recovery_of(described)
        if lines:
            lines.append("")
        if recovery is not None:
            lines.append(
                f"reconciler: {described['name']} resumes in lane {recovery['resume']} because "
                f"{recovery.get('reason')}"
            )
        lines.append(f"execution {described['status']}  {arn}")
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
        traces = find_checkout_traces(
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
    if not traces and history is None:
        print(
            f"checkout trace: no trace and no saga execution found for order {args.order_id} "
            f"(looked back {args.since_hours:g} hours)",
            file=sys.stderr,
        )
        return 1
    for number, trace in enumerate(traces):
        print(("\n" if number else "") + render(trace))
    if not traces:
        print(f"no X-Ray trace found for order {args.order_id} (sampled out, or not sent yet)")
    if history is not None:
        print("", *history, sep="\n")
    return 0
