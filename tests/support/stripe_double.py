"""A local HTTP double of the part of Stripe's API the Stripe adapter uses, for the contract suite.

It serves Stripe's documented requests and answers (https://docs.stripe.com/api): form-encoded
bodies, Bearer keys, PaymentIntents (create + confirm, retrieve, search, cancel, capture), refunds,
the test tokens `tok_visa`, `tok_chargeDeclined` and `tok_threeDSecureRequired`, error objects
(`card_error` 402, `invalid_request_error` 400 with `payment_intent_unexpected_state` and the
intent, `idempotency_error` 400, `authentication_error` 401, `api_error` 500), and idempotency as
Stripe keeps it: the first answer under a key is saved and replayed (`Idempotent-Replayed: true`)
to the same request, and another request under it is refused.

What Stripe's hosted 3-D Secure page does is `POST /test/3ds/<intent>/<approve|decline>` here.
`outage(n)` answers the next n requests 500 before they reach the API (nothing is saved, as a
failure in front of Stripe's API), and `search_lag` makes search miss what it has not indexed yet.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

API_KEY = "sk_test_double"
TOKEN_APPROVED = "tok_visa"
TOKEN_DECLINED = "tok_chargeDeclined"
TOKEN_APPROVAL_REQUIRED = "tok_threeDSecureRequired"
CANCELLABLE = {
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
}


class StripeApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message"))
        self.status = status
        self.body = body


def _form(body: str) -> dict[str, Any]:
    """Stripe's form encoding (`a[b][0]=x`) as nested dicts and lists."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = result
        for part, following in zip(parts, [*parts[1:], None], strict=True):
            if following is None:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    listed: dict[str, Any] = _listify(result)
    return listed


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(key.isdigit() for key in node):
        return [_listify(node[key]) for key in sorted(node, key=int)]
    return {key: _listify(value) for key, value in node.items()}


def _id(prefix: str, *parts: str) -> str:
    return prefix + hashlib.sha256(":".join(parts).encode()).hexdigest()[:24]


def _error(status: int, kind: str, message: str, **extra: Any) -> StripeApiError:
    return StripeApiError(status, {"type": kind, "message": message, **extra})


@dataclass
class StripeDouble:
    base_url: str = ""
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    saved: dict[str, tuple[str, int, str]] = field(default_factory=dict)  # key -> request, answer
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path), oldest first
    search_lag: bool = False
    _outages: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def outage(self, requests: int) -> None:
        self._outages = requests

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            response = self._respond(request)
        return response(environ, start_response)

    def _respond(self, request: Request) -> Response:
        self.requests.append((request.method, request.path))
        body = request.get_data(as_text=True)
        if request.path.startswith("/test/3ds/"):
            return self._answer_approval(request.path)
        if self._outages:
            self._outages -= 1
            return _json(500, {"error": {"type": "api_error", "message": "outage (double)"}})
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            error = {"type": "authentication_error", "message": "Invalid API Key provided"}
            return _json(401, {"error": error})
        key = request.headers.get("Idempotency-Key")
        fingerprint = f"{request.method} {request.path} {sorted(parse_qsl(body))}"
        if key is not None and request.method == "POST" and key in self.saved:
            first, saved_status, saved = self.saved[key]
            if first != fingerprint:
                error = {
                    "type": "idempotency_error",
                    "message": "Keys for idempotent requests can only be used with the same "
                    "parameters they were first used with.",
                }
                return _json(400, {"error": error})
            replay = Response(saved, status=saved_status, content_type="application/json")
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        try:
            status, answer = 200, self._route(request, _form(body), key)
        except StripeApiError as failure:
            status, answer = failure.status, {"error": failure.body}
        text = json.dumps(answer)
        if key is not None and request.method == "POST":
            self.saved[key] = (fingerprint, status, text)
        return Response(text, status=status, content_type="application/json")

    def _route(self, request: Request, form: dict[str, Any], key: str | None) -> dict[str, Any]:
        path, method = request.path, request.method
        if path == "/v1/payment_intents" and method == "POST":
            return self._create(form, key or _id("k_", str(len(self.intents))))
        if path == "/v1/payment_intents/search" and method == "GET":
            return self._search(request.args.get("query", ""))
        if path == "/v1/refunds" and method == "POST":
            return self._refund(form)
        found = re.fullmatch(r"/v1/payment_intents/([^/]+)(?:/(cancel|capture))?", path)
        if found is None:
            raise _error(404, "invalid_request_error", f"Unrecognized request URL ({path})")
        intent = self._intent(found.group(1))
        if found.group(2) == "cancel":
            return self._cancel(intent, form)
        if found.group(2) == "capture":
            return self._capture(intent, form)
        return intent

    def _intent(self, intent_id: str) -> dict[str, Any]:
        if intent_id not in self.intents:
            raise _error(
                404,
                "invalid_request_error",
                f"No such payment_intent: '{intent_id}'",
                code="resource_missing",
            )
        return self.intents[intent_id]

    def _create(self, form: dict[str, Any], key: str) -> dict[str, Any]:
        amount = int(form.get("amount", 0))
        if amount < 50 or "currency" not in form:
            raise _error(
                400,
                "invalid_request_error",
                "Amount must be at least 50 cents",
                code="amount_too_small",
                param="amount",
            )
        intent: dict[str, Any] = {
            "id": _id("pi_", key),
            "object": "payment_intent",
            "amount": amount,
            "currency": form["currency"],
            "capture_method": form.get("capture_method", "automatic"),
            "metadata": form.get("metadata", {}),
            "status": "requires_payment_method",
            "next_action": None,
            "last_payment_error": None,
            "latest_charge": None,
            "amount_capturable": 0,
            "amount_received": 0,
            "cancellation_reason": None,
        }
        self.intents[intent["id"]] = intent
        if form.get("confirm") == "true":
            self._confirm(intent, form)
        return intent

    def _confirm(self, intent: dict[str, Any], form: dict[str, Any]) -> None:
        token = form.get("payment_method_data", {}).get("card", {}).get("token")
        if token == TOKEN_DECLINED:
            intent["last_payment_error"] = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
            }
            raise _error(
                402,
                "card_error",
                "Your card was declined.",
                code="card_declined",
                decline_code="generic_decline",
                payment_intent=intent,
            )
        if token == TOKEN_APPROVAL_REQUIRED:
            intent["status"] = "requires_action"
            url = f"{self.base_url}/test/3ds/{intent['id']}"
            intent["next_action"] = {
                "type": "redirect_to_url",
                "redirect_to_url": {"url": url, "return_url": form.get("return_url")},
            }
            return
        if token != TOKEN_APPROVED:
            raise _error(
                400,
                "invalid_request_error",
                "No such token",
                code="resource_missing",
                param="payment_method_data[card][token]",
            )
        self._authorized(intent)

    def _authorized(self, intent: dict[str, Any]) -> None:
        manual = intent["capture_method"] == "manual"
        intent.update(
            status="requires_capture" if manual else "succeeded",
            next_action=None,
            amount_capturable=intent["amount"],
            latest_charge=_id("ch_", intent["id"]),
        )

    def _answer_approval(self, path: str) -> Response:
        found = re.fullmatch(r"/test/3ds/([^/]+)/(approve|decline)", path)
        # The customer's browser talks to Stripe's page, not its API: no outage here.
        intent = self.intents.get(found.group(1)) if found else None
        if found is None or intent is None or intent["status"] != "requires_action":
            return _json(404, {"error": {"message": "no authentication awaits here"}})
        if found.group(2) == "approve":
            self._authorized(intent)
        else:
            intent.update(
                status="requires_payment_method",
                next_action=None,
                last_payment_error={
                    "type": "card_error",
                    "code": "payment_intent_authentication_failure",
                },
            )
        return _json(200, intent)

    def _search(self, query: str) -> dict[str, Any]:
        found = re.fullmatch(r"metadata\['([^']+)'\]:'([^']*)'", query)
        if found is None:
            raise _error(400, "invalid_request_error", "Invalid search query", param="query")
        name, value = found.groups()
        hits = (
            []
            if self.search_lag
            else [
                intent for intent in self.intents.values() if intent["metadata"].get(name) == value
            ]
        )
        return {"object": "search_result", "data": hits, "has_more": False, "url": "/v1/search"}

    def _cancel(self, intent: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
        if intent["status"] not in CANCELLABLE:
            raise self._unexpected(intent, "cancel")
        intent.update(
            status="canceled",
            next_action=None,
            amount_capturable=0,
            cancellation_reason=form.get("cancellation_reason"),
        )
        return intent

    def _capture(self, intent: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
        if intent["status"] != "requires_capture":
            raise self._unexpected(intent, "capture")
        amount = int(form.get("amount_to_capture", intent["amount"]))
        if amount > intent["amount"]:
            raise _error(
                400,
                "invalid_request_error",
                "amount_to_capture is too large",
                param="amount_to_capture",
            )
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        return intent

    def _refund(self, form: dict[str, Any]) -> dict[str, Any]:
        charge = form.get("charge")
        intent = next((i for i in self.intents.values() if i["latest_charge"] == charge), None)
        if intent is None or intent["status"] != "succeeded":
            raise _error(
                400,
                "invalid_request_error",
                f"No such charge: '{charge}'",
                code="resource_missing",
                param="charge",
            )
        if any(refund["charge"] == charge for refund in self.refunds.values()):
            raise _error(
                400,
                "invalid_request_error",
                f"Charge {charge} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = int(form.get("amount", intent["amount_received"]))
        refund = {
            "id": _id("re_", str(charge)),
            "object": "refund",
            "amount": amount,
            "charge": charge,
            "payment_intent": intent["id"],
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        return refund

    @staticmethod
    def _unexpected(intent: dict[str, Any], action: str) -> StripeApiError:
        return _error(
            400,
            "invalid_request_error",
            f"You cannot {action} this PaymentIntent because it has a status of "
            f"{intent['status']}.",
            code="payment_intent_unexpected_state",
            payment_intent=intent,
        )


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log: the tests' output is theirs."""


@contextmanager
def serving() -> Iterator[StripeDouble]:
    """The double on a free local port, stopped on exit."""
    double = StripeDouble()
    server = make_server("127.0.0.1", 0, double, threaded=True, request_handler=_Quiet)
    double.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="stripe-double", daemon=True)
    thread.start()
    try:
        yield double
    finally:
        server.shutdown()
        thread.join(timeout=5)
