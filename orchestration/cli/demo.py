"""`checkout demo`: five checkouts against a running checkout API, each with its expected ending.

1. a happy checkout                      -> CONFIRMED
2. more than the stock holds             -> CANCELLED (nothing authorized)
3. a declined card                       -> CANCELLED, stock released
4. the confirmation fails (fault header) -> CANCELLED, authorization voided (no money moved),
                                            stock released
5. a card that needs the customer's      -> CONFIRMED: the demo plays the customer, POSTing the
   approval (3-D Secure)                    checkout's next_action.approve_url once it appears

It speaks HTTP only (the public API, stdlib urllib), so it works against the local cloud
(`make run`) or a deployed stage. Each scenario POSTs with a fresh Idempotency-Key, polls
GET /checkouts/{order_id} until the checkout is no longer PENDING, then reads its steps once
(`?view=steps`) and prints them as the status API reports them. Exit code: 0 when every scenario
ended in its expected status, 1 when one did not, 2 when the API cannot be reached.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar, TextIO
from urllib.parse import quote, urlsplit

from orchestration.money import money_text

EXIT_OK, EXIT_MISMATCH, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_API = f"http://127.0.0.1:{os.environ.get('CHECKOUT_API_PORT', '3000')}"
DEFAULT_TIMEOUT = 120.0
POLL_SECONDS = 0.2
DOT_SECONDS = 0.5
REQUEST_TIMEOUT = 30.0
CUSTOMER = "demo-customer"


@dataclass(frozen=True)
class Scenario:
    title: str
    items: tuple[tuple[str, int], ...]
    payment_token: str
    expected: str  # the final status
    expected_steps: tuple[tuple[str, str], ...]  # (operation that must succeed, what it means)
    fault: str | None = None
    never_runs: tuple[tuple[str, str], ...] = ()  # (operation that must not run, what it means)
    customer: str | None = None  # "approve" or "decline": what to do with a next_action

    def story(self) -> str:
        lines = ", ".join(f"{quantity} x {sku}" for sku, quantity in self.items)
        fault = f", header X-Checkout-Fault: {self.fault}" if self.fault else ""
        return f"{lines}, card {self.payment_token}{fault}"

    def body(self) -> dict[str, Any]:
        return {
            "customer_id": CUSTOMER,
            "items": [{"sku": sku, "quantity": quantity} for sku, quantity in self.items],
            "payment_token": self.payment_token,
        }


SCENARIOS = (
    Scenario(
        title="A happy checkout",
        items=(("SKU-TSHIRT", 1),),
        payment_token="tok_visa",
        expected="CONFIRMED",
        expected_steps=(
            ("payment.authorize_payment", "payment authorized"),
            ("order.confirm_order", "order confirmed"),
            ("payment.capture_payment", "payment captured"),
        ),
    ),
    Scenario(
        title="Out of stock",
        items=(("SKU-RARE", 5),),
        payment_token="tok_visa",
        expected="CANCELLED",
        expected_steps=(("order.cancel_order", "order cancelled"),),
        never_runs=(("payment.authorize_payment", "nothing authorized"),),
    ),
    Scenario(
        title="A declined card",
        items=(("SKU-TSHIRT", 1),),
        payment_token="tok_chargeDeclined",
        expected="CANCELLED",
        expected_steps=(
            ("inventory.release_stock", "stock released"),
            ("order.cancel_order", "order cancelled"),
        ),
    ),
    Scenario(
        title="The confirmation fails",
        items=(("SKU-TSHIRT", 1),),
        payment_token="tok_visa",
        fault="order.confirm",
        expected="CANCELLED",
        expected_steps=(
            ("payment.void_payment", "authorization voided"),
            ("inventory.release_stock", "stock released"),
            ("order.cancel_order", "order cancelled"),
        ),
    ),
    Scenario(
        title="A card that needs the customer's approval (3-D Secure)",
        items=(("SKU-MUG", 1),),
        payment_token="tok_threeDSecureRequired",
        customer="approve",
        expected="CONFIRMED",
        expected_steps=(
            ("order.await_payment_approval", "waited for the customer's approval"),
            ("order.confirm_order", "order confirmed"),
            ("payment.capture_payment", "payment captured"),
        ),
    ),
)


# --- HTTP --------------------------------------------------------------------------------------


def _ended(steps: list[dict[str, Any]]) -> bool:
    """The timeline reached an ending: nothing running, and the last step published the ending's
    event or parked the checkout."""
    if not steps or any(step.get("outcome") == "running" for step in steps):
        return False
    return steps[-1].get("phase") in ("event", "operator")


class ApiUnreachableError(Exception):
    """Nothing answers at the API's address (or the connection broke)."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any

    def error_text(self) -> str:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        if isinstance(error, dict):
            return f"{error.get('code')}: {error.get('message')}"
        if isinstance(self.body, dict) and "message" in self.body:
            return str(self.body["message"])
        return str(self.body)


class ApiClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        handlers: list[urllib.request.BaseHandler] = []
        if urlsplit(self.base_url).hostname in {"127.0.0.1", "localhost", "::1"}:
            handlers.append(urllib.request.ProxyHandler({}))  # never send local calls to a proxy
        self._opener = urllib.request.build_opener(*handlers)

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        data = None if body is None else json.dumps(body).encode()
        all_headers = {"Accept": "application/json", **(headers or {})}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers=all_headers
        )
        try:
            with self._opener.open(request, timeout=REQUEST_TIMEOUT) as response:
                return Reply(response.status, _parse(response.read()))
        except urllib.error.HTTPError as error:
            return Reply(error.code, _parse(error.read()))
        except urllib.error.URLError as error:
            raise ApiUnreachableError(str(error.reason)) from error
        except (OSError, http.client.HTTPException) as error:  # refused, reset, timed out
            raise ApiUnreachableError(str(error) or type(error).__name__) from error

    def press(self, url: str) -> int:
        """A plain POST to a link the API handed out (the provider's approve or decline)."""
        request = urllib.request.Request(url, data=b"", method="POST")
        try:
            with self._opener.open(request, timeout=REQUEST_TIMEOUT) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            raise ApiUnreachableError(str(error) or type(error).__name__) from error


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return raw.decode(errors="replace")


# --- output ------------------------------------------------------------------------------------


class Style:
    """ANSI colours only on a terminal (and not under NO_COLOR); ASCII markers if need be."""

    _CODES: ClassVar[dict[str, str]] = {
        "bold": "1",
        "dim": "2",
        "red": "31",
        "green": "32",
        "yellow": "33",
        "cyan": "36",
    }

    def __init__(self, out: TextIO) -> None:
        self.colour = out.isatty() and not os.environ.get("NO_COLOR")
        try:
            "→↩✉⚑✓✗…".encode(getattr(out, "encoding", None) or "ascii")
            fancy = True
        except (UnicodeEncodeError, LookupError):
            fancy = False
        self.phase = (
            {"action": "→", "compensation": "↩", "event": "✉", "operator": "⚑"}
            if fancy
            else {"action": "->", "compensation": "<-", "event": "@", "operator": "!"}
        )
        self.ok, self.bad = ("✓", "✗") if fancy else ("ok", "x")

    def __call__(self, text: str, *styles: str) -> str:
        if not self.colour or not styles:
            return text
        codes = ";".join(self._CODES[name] for name in styles)
        return f"\033[{codes}m{text}\033[0m"

    def status(self, status: str) -> str:
        colour = {"CONFIRMED": "green", "CANCELLED": "yellow", "FAILED": "red"}.get(status, "cyan")
        return self(status, "bold", colour)


# --- one scenario ------------------------------------------------------------------------------


@dataclass
class Outcome:
    scenario: Scenario
    status: str = "NOT STARTED"
    matched: bool = False
    detail: str = ""
    view: dict[str, Any] = field(default_factory=dict)


class Demo:
    def __init__(self, client: ApiClient, timeout: float, out: TextIO) -> None:
        self.client = client
        self.timeout = timeout
        self.out = out
        self.style = Style(out)

    def say(self, text: str = "", end: str = "\n") -> None:
        self.out.write(text + end)
        self.out.flush()

    def field(self, label: str, value: str) -> None:
        self.say(f"      {self.style(f'{label:<8}', 'dim')} {value}".rstrip())

    def stock(self, skus: list[str]) -> dict[str, int]:
        """What the catalog says is available (for the before/after line; best effort)."""
        found: dict[str, int] = {}
        for sku in skus:
            reply = self.client.call("GET", f"/products/{quote(sku)}")
            if reply.status == 200 and isinstance(reply.body, dict):
                found[sku] = int(reply.body.get("available", 0))
        return found

    def run_scenario(self, number: int, scenario: Scenario) -> Outcome:
        style, outcome = self.style, Outcome(scenario)
        self.say(style(f"[{number}/{len(SCENARIOS)}] {scenario.title}", "bold"))
        self.field("request", scenario.story())
        meaning = ", ".join(m for _, m in scenario.expected_steps + scenario.never_runs)
        self.field("expect", f"{scenario.expected} ({meaning})")
        skus = [sku for sku, _ in scenario.items]
        before = self.stock(skus)
        headers = {"Idempotency-Key": f"demo-{uuid.uuid4().hex}"}
        if scenario.fault:
            headers["X-Checkout-Fault"] = scenario.fault
        started = time.monotonic()
        reply = self.client.call("POST", "/checkouts", scenario.body(), headers)
        if reply.status != 202 or not isinstance(reply.body, dict) or "order_id" not in reply.body:
            outcome.status = f"HTTP {reply.status}"
            outcome.detail = f"POST /checkouts answered {reply.status}: {reply.error_text()}"
            self.say(f"      {style(style.bad, 'red', 'bold')} {outcome.detail}")
            self.say()
            return outcome
        order_id = str(reply.body["order_id"])
        self.field("order", order_id)
        view, last_error = self.wait(order_id, started, scenario.customer)
        outcome.view = view or {}
        outcome.status = str(outcome.view.get("status", "UNKNOWN"))
        if outcome.status == "PENDING":
            self.field("status", f"{style.status('PENDING')} still, after {self.timeout:g} s")
        else:
            total = money_text(outcome.view.get("total"))
            shown = style.status(outcome.status) + (f"   total {total}" if total else "")
            self.field("status", shown)
        if last_error and not view:
            self.field("error", style(last_error, "red"))
        if outcome.view.get("reason"):
            code = outcome.view.get("reason_code")
            self.field("reason", f"{outcome.view['reason']}" + (f" ({code})" if code else ""))
        after = self.stock(skus)
        if before and after:
            arrow = self.style.phase["action"]
            moves = [f"{sku} {before[sku]} {arrow} {after[sku]}" for sku in skus if sku in after]
            self.field("stock", ", ".join(moves))
        self.steps(outcome.view.get("steps") or [])
        self.verdict(outcome)
        self.say()
        return outcome

    def wait(
        self, order_id: str, started: float, customer: str | None = None
    ) -> tuple[dict[str, Any] | None, str]:
        """Poll until the checkout leaves PENDING or the timeout passes, with a dot now and then;
        answer its next action as the scenario's customer would."""
        self.say(f"      {self.style('waiting ', 'dim')} ", end="")
        view: dict[str, Any] | None = None
        last_error, next_dot = "", started
        path = f"/checkouts/{quote(order_id)}"
        while True:
            reply = self.client.call("GET", path)
            if reply.status == 200 and isinstance(reply.body, dict):
                view, last_error = reply.body, ""
                if view.get("status") != "PENDING":
                    break
                action = view.get("next_action")
                if customer is not None and isinstance(action, dict):
                    status = self.client.press(action[f"{customer}_url"])
                    self.say(f" (the customer pressed {customer}: HTTP {status}) ", end="")
                    customer = None
            else:  # e.g. 503 while a dependency hiccups: keep trying until the timeout
                last_error = f"GET {path} answered {reply.status}: {reply.error_text()}"
            now = time.monotonic()
            if now - started >= self.timeout:
                break
            if now >= next_dot:
                self.say(".", end="")
                next_dot = now + DOT_SECONDS
            time.sleep(POLL_SECONDS)
        self.say(f" {time.monotonic() - started:.1f} s")
        if view is not None and view.get("status") != "PENDING":
            view = self.timeline(path, started) or view
        return view, last_error

    def timeline(self, path: str, started: float) -> dict[str, Any] | None:
        """Polling reads the order's status; the step timeline is read at the end, until the saga
        has ended: the order reads CONFIRMED from the pivot on, while the capture still runs."""
        view: dict[str, Any] | None = None
        while True:
            reply = self.client.call("GET", f"{path}?view=steps")
            if reply.status == 200 and isinstance(reply.body, dict):
                view = reply.body
                if _ended(view.get("steps") or []):
                    return view
            if time.monotonic() - started >= self.timeout:
                return view
            time.sleep(POLL_SECONDS)

    def steps(self, steps: list[dict[str, Any]]) -> None:
        if not steps:
            return
        style = self.style
        self.field("steps", "")
        width = max(len(str(step.get("operation", ""))) for step in steps)
        for step in steps:
            marker = style.phase.get(str(step.get("phase")), "?")
            outcome = str(step.get("outcome", ""))
            colour = {"succeeded": "green", "failed": "red"}.get(outcome, "yellow")
            attempts = int(step.get("attempts") or 0)
            tries = f"{attempts} attempts" if attempts > 1 else ""
            duration = step.get("duration_ms")
            took = f"{duration} ms" if duration is not None else "…"
            line = (
                f"        {style(marker, 'cyan')} {step.get('operation')!s:<{width}}  "
                f"{style(f'{outcome:<9}', colour)}  {tries:<10}  {took:>8}"
            )
            error = step.get("error")
            if error and outcome != "succeeded":
                line += f"  {style(str(error), 'red')}"
            elif error:  # it succeeded after retrying
                line += f"  {style(f'(retried after {error})', 'dim')}"
            self.say(line.rstrip())

    def verdict(self, outcome: Outcome) -> None:
        style, scenario = self.style, outcome.scenario
        steps = outcome.view.get("steps") or []
        ran = {str(step.get("operation")) for step in steps}
        succeeded = {
            str(step.get("operation")) for step in steps if step.get("outcome") == "succeeded"
        }
        seen = [meaning for op, meaning in scenario.expected_steps if op in succeeded]
        seen += [meaning for op, meaning in scenario.never_runs if op not in ran]
        missing = [meaning for op, meaning in scenario.expected_steps if op not in succeeded]
        missing += [f"{meaning} ({op} ran)" for op, meaning in scenario.never_runs if op in ran]
        outcome.matched = outcome.status == scenario.expected
        if outcome.matched:
            text = f"matched: {outcome.status} as expected"
            if seen:
                text += f" ({', '.join(seen)})"
            self.say(f"      {style(style.ok + ' ' + text, 'green', 'bold')}")
            if missing:
                self.say(f"        {style('but not seen: ' + ', '.join(missing), 'yellow')}")
            return
        outcome.detail = f"expected {scenario.expected}, got {outcome.status}"
        self.say(f"      {style(style.bad + ' did not match: ' + outcome.detail, 'red', 'bold')}")
        if outcome.status == "FAILED":
            self.say("        the order is parked for an operator (docs/saga.md, operator runbook)")
        elif outcome.status == "PENDING":
            self.say("        the saga is still running (retrying?); try a larger --timeout")

    def run(self) -> int:
        style = self.style
        try:
            reply = self.client.call("GET", "/products")
        except ApiUnreachableError as error:
            return self.unreachable(error)
        if reply.status != 200:
            self.say(
                f"The checkout API at {self.client.base_url} answered GET /products with "
                f"{reply.status}: {reply.error_text()}"
            )
            return EXIT_UNREACHABLE
        self.say(
            style(f"Checkout saga demo against {self.client.base_url}", "bold")
            + f": {len(SCENARIOS)} scenarios\n"
        )
        outcomes: list[Outcome] = []
        try:
            for number, scenario in enumerate(SCENARIOS, start=1):
                outcomes.append(self.run_scenario(number, scenario))
        except ApiUnreachableError as error:
            self.say()
            return self.unreachable(error)
        except KeyboardInterrupt:
            self.say("\ninterrupted")
            return EXIT_INTERRUPTED
        matched = sum(outcome.matched for outcome in outcomes)
        if matched == len(outcomes):
            self.say(
                style(f"{style.ok} all {matched} scenarios ended as expected", "green", "bold")
            )
            return EXIT_OK
        self.say(
            style(
                f"{style.bad} {matched}/{len(outcomes)} scenarios ended as expected", "red", "bold"
            )
        )
        for outcome in outcomes:
            if not outcome.matched:
                self.say(f"  {outcome.scenario.title}: {outcome.detail}")
        return EXIT_MISMATCH

    def unreachable(self, error: ApiUnreachableError) -> int:
        self.say(
            f"The checkout API at {self.client.base_url} is not reachable ({error}).\n"
            "Is the local cloud running? start it with `make run` "
            "(or pass --api with the API's address)."
        )
        return EXIT_UNREACHABLE


# --- the subcommand ----------------------------------------------------------------------------


def add_parser(commands: Any) -> None:
    """Register `checkout demo` on the parent's subparsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "demo",
        help="run four checkout scenarios against a running API and check how each ends",
        description=__doc__.split("\n\n", 1)[0] if __doc__ else None,
    )
    parser.add_argument(
        "--api",
        default=DEFAULT_API,
        help="the checkout API's base URL (default: %(default)s, port from CHECKOUT_API_PORT)",
    )
    parser.add_argument(
        "--timeout",
        type=_positive,
        default=DEFAULT_TIMEOUT,
        help="seconds to wait for each checkout to leave PENDING (default: %(default)s)",
    )
    parser.set_defaults(run=run)


def _positive(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {raw!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {raw!r}")
    return value


def run(args: argparse.Namespace) -> int:
    return Demo(ApiClient(args.api), args.timeout, sys.stdout).run()
