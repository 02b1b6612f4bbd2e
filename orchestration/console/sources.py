"""Where a console reads, and what an operator may do from it: built from a `Target`.

The parked list, the retry and the resolve are the operator commands' own code (`checkout
parked`, `checkout retry`, `checkout resolve`: orchestration/cli/operator.py, the reconciler's
`retry_parked` and `resolve_parked`). Against AWS the console is read-only: it lists, it never
retries, resolves or starts a checkout.
"""

from __future__ import annotations

import json
from typing import Any

from orchestration.cli.target import Target
from orchestration.console.server import ConsoleSource


def source_for(target: Target, *, read_only: bool, api_url: str | None = None) -> ConsoleSource:
    sfn = target.client("stepfunctions")
    arn = target.require("checkout state machine", target.saga_state_machine(sfn))
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    return ConsoleSource(
        label=target.label + (" (read-only)" if read_only else ""),
        sfn=sfn,
        xray=target.client("xray"),
        state_machine_arn=arn,
        definition=definition,
        trace_filter=target.endpoint_url is None,  # moto keeps no annotation index: scan it
        api_url=api_url,
        read_only=read_only,
        parked=_parked_lister(target),
        retry=None if read_only else _retrier(target),
        resolve=None if read_only else _resolver(target),
    )


def _parked_lister(target: Target) -> Any:
    if target.parked_table is None:
        return None
    from orchestration.cli.operator import describe
    from orchestration.parked_checkouts import bind_parked_table, list_parked

    bind_parked_table(target.parked_table, target.region)

    def parked() -> list[dict[str, Any]]:
        return [describe(item) for item in list_parked()]

    return parked


def _retrier(target: Target) -> Any:
    if target.parked_table is None or target.state_machine_arn is None:
        return None
    from orchestration.cli.operator import retry_settings
    from orchestration.reconciler.logic import retry_parked

    settings = retry_settings(target)

    def retry(order_id: str) -> str:
        outcome = retry_parked(order_id, settings)
        return f"started {outcome.recovery}: {outcome.detail}"

    return retry


def _resolver(target: Target) -> Any:
    if target.parked_table is None or target.state_machine_arn is None:
        return None
    from orchestration.cli.operator import resolve_by_hand, retry_settings

    settings = retry_settings(target)

    def resolve(order_id: str, reference: str, note: str) -> str:
        resolution = resolve_by_hand(target, settings, order_id, reference, note)
        outcome = resolution.outcome
        return (
            f"recorded the payment {resolution.settled_as}; started {outcome.recovery}: "
            f"{outcome.detail}"
        )

    return resolve
