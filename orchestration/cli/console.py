"""`checkout console`: the saga console in a browser, on the running local cloud or on AWS.

    checkout console                       the local cloud `make run` started (it also serves one)
    checkout console --aws [--profile P] [--region R] [--stage S]
                                           read-only: the state machine found through SSM,
                                           executions and history through Step Functions,
                                           traces through X-Ray

It serves http://127.0.0.1:<port>/ (`--port`, or CHECKOUT_CONSOLE_PORT, default 8080) until
Ctrl-C, and binds to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
from typing import Any

from orchestration.cli.target import TargetError, add_target_arguments, local_state, resolve

PORT_VARIABLE = "CHECKOUT_CONSOLE_PORT"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "console",
        help="the saga console in a browser: checkouts, the graph, each step and rollback",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument(
        "--port", type=int, default=None, help=f"default: ${PORT_VARIABLE}, else 8080"
    )
    parser.add_argument(
        "--api", help="the checkout API, for the catalog (default: the local cloud's)"
    )
    add_target_arguments(parser)
    parser.set_defaults(run=run)


def console_port(explicit: int | None = None) -> int:
    from orchestration.console.server import DEFAULT_PORT

    if explicit is not None:
        return explicit
    value = os.environ.get(PORT_VARIABLE, "").strip()
    if not value:
        return DEFAULT_PORT
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise TargetError(f"{PORT_VARIABLE} must be a port number, not {value!r}")
    return int(value)


def run(args: argparse.Namespace) -> int:
    from orchestration.console.server import serve_in_thread
    from orchestration.console.sources import source_for

    port = args.port
    try:
        port = console_port(args.port)
        target = resolve(args)
        target.export()  # this process's own: the parked table's PynamoDB model reads it
        state = {} if args.aws else (local_state() or {})
        api_url = args.api or state.get("api_url")
        source = source_for(target, read_only=args.aws, api_url=api_url)
        server = serve_in_thread(source, port)
    except TargetError as error:
        print(f"checkout console: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the port is taken
        print(f"checkout console: cannot listen on 127.0.0.1:{port}: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # unreachable endpoint, no credentials, no permission
        print(f"checkout console: cannot read the saga: {error}", file=sys.stderr)
        return 2
    print(f"saga console on http://127.0.0.1:{server.server_port}/ ({source.label}); Ctrl-C stops")
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    server.shutdown()
    return 0
