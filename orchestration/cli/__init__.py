"""The `checkout` command: what a person runs against a checkout API (local cloud or AWS).

    checkout demo [--api URL] [--timeout SECONDS]   four scenarios, each with the outcome expected
    checkout trace ORDER_ID [--endpoint-url URL | --aws [--profile P] [--region R]]
                                                    a checkout's X-Ray trace as a tree
    checkout parked [--json] [--aws ...]            the checkouts parked for an operator
    checkout retry ORDER_ID [--no-wait] [--aws ...] run a parked checkout's rollback again
    checkout resolve ORDER_ID --reference ID --note TEXT [--no-wait] [--aws ...]
                                                    record a payment settled by hand
    checkout new-step SERVICE ACTION COMPENSATION --after STEP
                                                    scaffold a saga step (docs/extending.md)
    checkout console [--port N] [--aws ...]         the saga console in a browser

Each subcommand lives in its own module and registers itself through `add_parser`; `main` only
dispatches, so a later `checkout trace` is one more module and one more line below.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from orchestration.cli import console, demo, new_step, operator, trace


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="checkout",
        description="Talk to a running checkout API (start the local one with `make run`).",
    )
    commands = parser.add_subparsers(dest="command", metavar="<command>", required=True)
    demo.add_parser(commands)
    trace.add_parser(commands)
    operator.add_parser(commands)
    new_step.add_parser(commands)
    console.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code
