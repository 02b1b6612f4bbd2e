"""Operator commands for parked checkouts, locally (the running `make run`) or with `--aws`.

    checkout parked [--json]                 every parked checkout: why, and what it still holds
    checkout retry ORDER_ID [--no-wait]      run its rollback again, or its pivot and capture
    checkout resolve ORDER_ID --reference ID --note TEXT [--no-wait]
                                             you settled its stuck payment at the provider by hand

`retry` goes through the reconciler's own code: it starts a recovery execution of the saga for the
order, resuming where the parked execution stopped, so the saga's retries, parking, events and
history apply; the parked record is cleared once the recovery is under way (it parks again, with
a new record, if it still cannot finish).

`resolve` is for a checkout parked at the void or the capture that no retry will finish (an
expired authorization, a provider that refuses): you void or capture the hold in the provider's
dashboard, then say so with its id there. The payment service records it (settle_payment), and
the same recovery as `retry` finishes the checkout, finding the void or capture done. A checkout
parked anywhere else has nothing at the provider to settle: it is refused, naming `retry`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from orchestration.cli.target import Target, TargetError, add_target_arguments, resolve
from orchestration.money import money_text
from orchestration.parked_checkouts import ParkedCheckout
from orchestration.steps import SETTLED_AT_PROVIDER, held_after_parking

EXIT_OK, EXIT_FAILED, EXIT_UNREACHABLE = 0, 1, 2
WAIT_SECONDS = 600
SETTLE_PAYMENT_FUNCTION = "settle-payment"  # deploy/payment/template.yaml


def add_parser(commands: Any) -> None:
    parked = commands.add_parser(
        "parked",
        help="list parked checkouts: why each is parked and what it still holds",
        description="List the checkouts parked for an operator.",
    )
    parked.add_argument("--json", action="store_true", help="one JSON document, for tools")
    add_target_arguments(parked)
    parked.set_defaults(run=run_parked)

    retry = commands.add_parser(
        "retry",
        help="run a parked checkout's rollback again, or its confirmation and capture",
        description="Retry a parked checkout through a recovery execution of the saga.",
    )
    retry.add_argument("order_id")
    retry.add_argument(
        "--no-wait", action="store_true", help="start the recovery and return at once"
    )
    add_target_arguments(retry)
    retry.set_defaults(run=run_retry)

    resolve_ = commands.add_parser(
        "resolve",
        help="record a parked checkout's void or capture done at the provider, and finish it",
        description=(
            "For a checkout parked at the void or the capture: you settled the hold in the "
            "provider's dashboard; record it and let the saga finish the checkout."
        ),
    )
    resolve_.add_argument("order_id")
    resolve_.add_argument(
        "--reference",
        required=True,
        help="the provider's id of the void or capture you made (e.g. Stripe's pi_... or ch_...)",
    )
    resolve_.add_argument(
        "--note", required=True, help="who did what and why: kept with the payment record"
    )
    resolve_.add_argument(
        "--no-wait", action="store_true", help="start the recovery and return at once"
    )
    add_target_arguments(resolve_)
    resolve_.set_defaults(run=run_resolve)


def _connect(args: argparse.Namespace) -> Target:
    target = resolve(args)
    target.export()  # the reconciler's logic and PynamoDB build their own clients
    from orchestration.parked_checkouts import bind_parked_table

    bind_parked_table(target.require("parked-checkouts table", target.parked_table), target.region)
    return target


def describe(parked: ParkedCheckout) -> dict[str, Any]:
    """A parked checkout as an operator reads it: where it stopped and what it still holds."""
    held = held_after_parking(parked.stuck_step)
    lines = parked.reservation.get("lines") or []
    return {
        "order_id": parked.order_id,
        "parked_at": parked.parked_at,
        "stuck_step": parked.stuck_step,
        "error": parked.error,
        "cause": parked.stuck_failure.get("Cause"),
        "original_failure": parked.original_failure,
        "holds": {
            "stock": [{"sku": line["sku"], "quantity": line["quantity"]} for line in lines]
            if held.stock
            else [],
            "money": parked.reservation.get("total") if held.money else None,
            "charge_id": parked.payment.get("charge_id") if held.money else None,
            "order": held.order,
        },
        "execution_arn": parked.execution_arn,
        # what `checkout resolve` would record as done at the provider; None: retry only
        "resolvable_as": SETTLED_AT_PROVIDER.get(parked.stuck_step),
    }


def run_parked(args: argparse.Namespace) -> int:
    from orchestration.parked_checkouts import list_parked

    try:
        target = _connect(args)
        parked = [describe(item) for item in list_parked()]
    except TargetError as error:
        print(f"checkout parked: {error}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except Exception as error:
        print(f"checkout parked: cannot read the parked checkouts: {error}", file=sys.stderr)
        return EXIT_UNREACHABLE
    if args.json:
        print(json.dumps({"parked": parked}, indent=2))
        return EXIT_OK
    print(f"{len(parked)} parked checkout(s) on {target.label}")
    for item in parked:
        holds = item["holds"]
        stock = ", ".join(f"{line['sku']} x{line['quantity']}" for line in holds["stock"])
        print(
            f"\n{item['order_id']}  parked {item['parked_at']}\n"
            f"  stuck at  {item['stuck_step']} ({item['error']}): {item['cause']}\n"
            f"  holds     stock: {stock or 'none'}; money held: "
            f"{money_text(holds['money']) or 'none'}"
            f"{' (' + holds['charge_id'] + ')' if holds['charge_id'] else ''}; "
            f"order: {holds['order']}\n"
            f"  because   {(item['original_failure'] or {}).get('Error', 'unknown (pivot)')}\n"
            f"  then      checkout retry {item['order_id']}"
            + (
                f"\n  or, once {item['resolvable_as']} at the provider by hand: checkout resolve "
                f"{item['order_id']} --reference ID --note TEXT"
                if item["resolvable_as"]
                else ""
            )
        )
    return EXIT_OK


def run_retry(args: argparse.Namespace) -> int:
    from orchestration.reconciler.logic import NotParkedError, StillRunningError, retry_parked

    try:
        target = _connect(args)
        settings = retry_settings(target)
        outcome = retry_parked(args.order_id, settings)
    except (NotParkedError, StillRunningError) as refused:
        print(f"checkout retry: {refused}", file=sys.stderr)
        return EXIT_FAILED
    except TargetError as error:
        print(f"checkout retry: {error}", file=sys.stderr)
        return EXIT_UNREACHABLE
    print(f"started {outcome.recovery}: {outcome.detail}")
    if args.no_wait or outcome.recovery is None:
        return EXIT_OK
    return _follow(target, settings.state_machine_arn, outcome.recovery)


def run_resolve(args: argparse.Namespace) -> int:
    from orchestration.reconciler.logic import (
        NotParkedError,
        NotResolvableError,
        RecoveryNotStartedError,
        StillRunningError,
    )
    from shared.errors import DependencyUnavailableError

    try:
        target = _connect(args)
        settings = retry_settings(target)
        resolution = resolve_by_hand(target, settings, args.order_id, args.reference, args.note)
    except (NotParkedError, NotResolvableError, StillRunningError, ValueError) as refused:
        print(f"checkout resolve: {refused}", file=sys.stderr)
        return EXIT_FAILED
    except (TargetError, DependencyUnavailableError, RecoveryNotStartedError) as error:
        print(f"checkout resolve: {error}", file=sys.stderr)
        return EXIT_UNREACHABLE
    outcome = resolution.outcome
    already = "" if resolution.settled_now else " (the payment already said so)"
    print(f"recorded the payment {resolution.settled_as}{already}")
    print(f"started {outcome.recovery}: {outcome.detail}")
    if args.no_wait or outcome.recovery is None:
        return EXIT_OK
    return _follow(target, settings.state_machine_arn, outcome.recovery)


def resolve_by_hand(target: Target, settings: Any, order_id: str, reference: str, note: str) -> Any:
    """`checkout resolve`'s work, shared with the console (ValueError: a note or reference that
    the payment service would refuse, checked before anything is asked)."""
    from orchestration.reconciler.logic import Settlement, resolve_parked

    settlement = Settlement(reference=reference.strip(), note=" ".join(note.split()))
    _check_settlement(settlement)
    return resolve_parked(
        order_id, settlement, settings, target.function_name(SETTLE_PAYMENT_FUNCTION)
    )


def _check_settlement(settlement: Any) -> None:
    from pydantic import TypeAdapter, ValidationError

    from shared.contracts import OperatorNote, ProviderReference

    for what, kind, value, expected in (
        ("the reference", ProviderReference, settlement.reference,
         "1 to 255 letters, digits or _ . : / # @ + -, no spaces"),
        ("the note", OperatorNote, settlement.note, "3 to 500 characters"),
    ):  # fmt: skip
        try:
            TypeAdapter(kind).validate_python(value)
        except ValidationError:
            raise ValueError(f"{what} {value!r} is not {expected}") from None


def retry_settings(target: Target) -> Any:
    """The reconciler's settings for an operator's retry on this target (ReconcilerSettings)."""
    from orchestration.reconciler.settings import ReconcilerSettings

    return ReconcilerSettings(
        stage=target.stage,
        aws_region=target.region,
        state_machine_arn=target.require("state machine", target.state_machine_arn),
        parked_checkouts_table_name=target.require("parked table", target.parked_table),
        checkout_event_bus_name=target.event_bus or "unused-by-retry",
        reconcile_lookback_minutes=60,
    )


def _follow(target: Target, state_machine_arn: str, name: str) -> int:
    sfn = target.client("stepfunctions")
    arn = state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    status = described["status"]
    if status == "SUCCEEDED":
        print(f"{name} SUCCEEDED: the checkout is finished (see `checkout trace`)")
        return EXIT_OK
    print(f"{name} ended {status} {described.get('error') or ''}".rstrip())
    return EXIT_FAILED
