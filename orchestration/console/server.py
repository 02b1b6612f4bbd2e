"""The saga console's web server: werkzeug routing, pages from `pages.py`, data from `data.py`.

`make run` starts it beside the local cloud (`CHECKOUT_CONSOLE_PORT`, default 8080);
`checkout console` starts it alone, against the running local cloud or, read-only, AWS.
It binds to 127.0.0.1 only: it shows customers' orders and has no login.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from werkzeug.exceptions import Forbidden, HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from orchestration.console import api_client, data, pages
from orchestration.console.graph import Graph, layout
from orchestration.spec import SAGA
from shared.faults import MAX_COUNT, FaultKind

STATIC = Path(__file__).resolve().parent / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
DEFAULT_PORT = 8080
ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{7,63}$")  # shared.contracts.OrderId
# The console answers only to these names: a page on another site that rebinds its own name to
# 127.0.0.1 (DNS rebinding) must not read it, nor take a form's token.
LOCAL_HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class ConsoleSource:
    """Where the console reads: Step Functions (and X-Ray) clients and the saga's ARN."""

    label: str
    sfn: Any
    xray: Any | None
    state_machine_arn: str
    definition: dict[str, Any]  # the ASL, as deployed
    trace_filter: bool = True  # X-Ray filter expressions (AWS); the local daemon is scanned
    api_url: str | None = None  # the checkout API: the catalog, and Try it
    read_only: bool = True  # against AWS: no Try it, no retry
    parked: Callable[[], list[dict[str, Any]]] | None = None  # `checkout parked`'s listing
    retry: Callable[[str], str] | None = None  # `checkout retry`'s code
    # `checkout resolve`'s code: (order id, the provider's reference, the note) -> what it did
    resolve: Callable[[str, str, str], str] | None = None


class Console:
    def __init__(self, source: ConsoleSource) -> None:
        self.source = source
        self.graph: Graph = layout(source.definition)
        # A form from another site must not start checkouts, retries or resolves (CSRF): each POST
        # carries this process's token, which only the console's own pages hold.
        self.token = secrets.token_urlsafe(24)
        self.urls = Map([
            Rule("/", endpoint="checkouts"),
            Rule("/graph", endpoint="graph"),
            Rule("/catalog", endpoint="catalog"),
            Rule("/try", endpoint="try_it", methods=["GET", "HEAD"]),
            Rule("/try", endpoint="start", methods=["POST"]),
            Rule("/parked", endpoint="parked"),
            Rule("/parked/<order_id>/retry", endpoint="retry", methods=["POST"]),
            Rule("/parked/<order_id>/resolve", endpoint="resolve", methods=["POST"]),
            Rule("/checkouts/<order_id>", endpoint="checkout"),
            Rule("/static/<name>", endpoint="static"),
            Rule("/healthz", endpoint="health"),
        ])  # fmt: skip

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        adapter = self.urls.bind_to_environ(environ)
        response: Any
        if request.host.rsplit(":", 1)[0] not in LOCAL_HOSTS:
            forbidden = Response("this console answers on 127.0.0.1 only", status=403)
            answered_: Iterable[bytes] = forbidden(environ, start_response)
            return answered_
        try:
            endpoint, arguments = adapter.match()
            response = getattr(self, f"_{endpoint}")(request, **arguments)
        except NotFound:
            page = pages.not_found_page(f"No page at {request.path}.", self.source.label)
            response = self._html(page, 404)
        except HTTPException as error:  # 405 and the like: werkzeug's own answer
            response = error.get_response(environ)
        answered: Iterable[bytes] = response(environ, start_response)
        return answered

    def _html(self, text: str, status: int = 200) -> Response:
        return Response(text, status=status, content_type="text/html; charset=utf-8")

    def _checkouts(self, request: Request) -> Response:
        wanted = request.args.get("status")
        status_filter = wanted if wanted in data.FILTERS else None
        rows = data.recent_checkouts(
            self.source.sfn, self.source.state_machine_arn, parked=self._parked_by_order()
        )
        if status_filter is not None:
            rows = [row for row in rows if row.status in data.FILTERS[status_filter]]
        if request.args.get("fragment"):
            return self._html(pages.rows_fragment(rows))
        return self._html(pages.checkouts_page(rows, status_filter, self.source.label))

    def _graph(self, request: Request) -> Response:
        return self._html(pages.graph_page(self.graph, self.source.label))

    def _checkout(self, request: Request, order_id: str) -> Response:
        detail = (
            data.checkout_detail(
                self.source.sfn, self.source.xray, self.source.state_machine_arn, order_id,
                self.source.definition, trace_filter=self.source.trace_filter,
                parked=self._parked_by_order().get(order_id),
            )
            if ORDER_ID.match(order_id) and not data.RECOVERY.match(order_id)
            else None
        )  # fmt: skip
        if detail is None:
            return self._html(
                pages.not_found_page(f"No checkout with order id {order_id}.", self.source.label),
                404,
            )
        if request.args.get("fragment"):
            return self._html(pages.detail_fragment(detail, self.graph))
        return self._html(pages.checkout_page(detail, self.graph, self.source.label))

    def _catalog(self, request: Request) -> Response:
        products, problem = self._products()
        return self._html(pages.catalog_page(products, problem, self.source.label))

    def _products(self) -> tuple[list[dict[str, Any]] | None, str | None]:
        if self.source.api_url is None:
            return None, "No checkout API is known here: start the console with --api URL."
        try:
            return api_client.products(self.source.api_url), None
        except api_client.ApiUnavailableError as error:
            return None, str(error)

    def _try_it(self, request: Request, problem: str | None = None, status: int = 200) -> Response:
        if self.source.read_only:
            raise Forbidden("Try it starts checkouts: this console is read-only (AWS).")
        products, unavailable = self._products()
        if products is None:
            return self._html(pages.catalog_page(None, unavailable, self.source.label), 503)
        kinds = [kind.value for kind in FaultKind]
        return self._html(
            pages.try_page(
                products, list(SAGA.fault_names), kinds, self.token, problem,
                source=self.source.label,
            ),
            status,
        )  # fmt: skip

    def _check_token(self, request: Request) -> None:
        sent = request.form.get("token", "").encode()
        if not secrets.compare_digest(sent, self.token.encode()):
            raise Forbidden("This form is not from this console (its token does not match).")

    def _start(self, request: Request) -> Response:
        if self.source.read_only or self.source.api_url is None:
            raise Forbidden("Try it starts checkouts: this console is read-only.")
        self._check_token(request)
        try:
            checkout, fault = _checkout_from_form(request.form)
        except ValueError as error:
            return self._try_it(request, str(error), 400)
        try:
            status, answer = api_client.start_checkout(self.source.api_url, checkout, fault)
        except api_client.ApiUnavailableError as error:
            return self._try_it(request, str(error), 503)
        if status != 202:
            refusal = answer.get("error", {}) if isinstance(answer, dict) else {}
            message = f"the API answered {status}: {refusal.get('message') or answer}"
            return self._try_it(request, message, 400)
        return redirect(f"/checkouts/{answer['order_id']}", code=303)

    def _parked(self, request: Request) -> Response:
        items = self.source.parked() if self.source.parked is not None else None
        return self._html(
            pages.parked_page(
                items, token=self.token, can_retry=self._can_retry(),
                message=request.args.get("notice"), source=self.source.label,
            )
        )  # fmt: skip

    def _can_retry(self) -> bool:
        return not self.source.read_only and self.source.retry is not None

    def _retry(self, request: Request, order_id: str) -> Response:
        if not self._can_retry() or self.source.retry is None:
            raise Forbidden("This console is read-only: run `checkout retry` from a shell.")
        self._check_token(request)
        from orchestration.reconciler.logic import NotParkedError, StillRunningError

        try:
            notice = self.source.retry(order_id)
        except (NotParkedError, StillRunningError) as refused:
            notice = f"not retried: {refused}"
        return _back_to_parked(order_id, notice)

    def _resolve(self, request: Request, order_id: str) -> Response:
        if not self._can_retry() or self.source.resolve is None:
            raise Forbidden("This console is read-only: run `checkout resolve` from a shell.")
        self._check_token(request)
        from orchestration.reconciler.logic import (
            NotParkedError,
            NotResolvableError,
            RecoveryNotStartedError,
            StillRunningError,
        )
        from shared.errors import DependencyUnavailableError

        form = request.form
        try:
            notice = self.source.resolve(order_id, form.get("reference", ""), form.get("note", ""))
        except (NotParkedError, NotResolvableError, StillRunningError, ValueError) as refused:
            notice = f"not resolved: {refused}"
        except RecoveryNotStartedError as half:
            notice = str(half)
        except DependencyUnavailableError as error:
            notice = f"not resolved, try again: {error}"
        return _back_to_parked(order_id, notice)

    def _parked_by_order(self) -> dict[str, dict[str, Any]]:
        """The parked checkouts by order id: the reconciler parks some with no execution of
        their own, so Step Functions alone cannot tell they are parked."""
        if self.source.parked is None:
            return {}
        return {item["order_id"]: item for item in self.source.parked()}

    def _static(self, request: Request, name: str) -> Response:
        path = STATIC / name
        if path.parent != STATIC or not path.is_file() or path.suffix not in STATIC_TYPES:
            raise NotFound()
        return Response(path.read_bytes(), content_type=STATIC_TYPES[path.suffix])

    def _health(self, request: Request) -> Response:
        return Response(json.dumps({"ok": True}), content_type="application/json")


def _back_to_parked(order_id: str, notice: str) -> Response:
    return redirect(f"/parked?{urlencode({'notice': f'{order_id}: {notice}'})}", code=303)


def _checkout_from_form(form: Any) -> tuple[dict[str, Any], str | None]:
    """The checkout and the fault schedule a Try it form asks for (ValueError: what is wrong)."""
    items = []
    for name, value in form.items():
        if name.startswith("qty:") and value.strip() not in ("", "0"):
            if not value.strip().isdigit():
                raise ValueError(f"the quantity of {name[4:]} must be a whole number")
            items.append({"sku": name[4:], "quantity": int(value)})
    if not items:
        raise ValueError("pick at least one product (a quantity above 0)")
    faults = []
    for operation in SAGA.fault_names:
        kind = form.get(f"fault:{operation}", "").strip()
        if not kind:
            continue
        count = form.get(f"count:{operation}", "1").strip() or "1"
        if not count.isdigit() or not 1 <= int(count) <= MAX_COUNT:
            raise ValueError(f"times for {operation} must be 1 to {MAX_COUNT}")
        faults.append(f"{operation}={kind}" + (f"*{count}" if count != "1" else ""))
    checkout = {
        "customer_id": "console",
        "items": items,
        "payment_token": form.get("card", "tok_visa"),
    }
    return checkout, "; ".join(faults) or None


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # one line per poll is noise
        pass


def serve_in_thread(source: ConsoleSource, port: int, host: str = "127.0.0.1") -> BaseWSGIServer:
    """Start the console in a daemon thread; `server.shutdown()` stops it."""
    server = make_server(host, port, Console(source), threaded=True, request_handler=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True, name="saga-console").start()
    return server
