"""The Stripe adapter: PaymentIntents with manual capture, behind the port the simulated one has.

Each operation is one Stripe request under the port's idempotency key, so a retry gets Stripe's
first answer back (Stripe keeps a key 24 hours; a saga step retries for minutes). How the port's
guarantees map onto Stripe:

- `authorize` creates and confirms a PaymentIntent (`capture_method=manual`): `requires_capture` is
  a hold, `requires_action` is the customer's approval (3-D Secure: the `redirect_to_url` page,
  which carries both answers, so it is the approve and the decline link), a card error is a
  decline. A replayed key answers the first response, which may be `requires_action` long after
  the customer answered, so that case re-reads the intent: approved (`requires_capture`), failed
  (`requires_payment_method`: declined) or still waiting.
- `void` cancels the intent. When the service never learnt the intent's id (the authorization was
  in flight when the process died), it takes the authorization's idempotency key itself with a
  different, unconfirmed request: a late authorization then meets Stripe's idempotency error and
  is refused (the tombstone), and when the authorization came first, the intent is found by its
  metadata (Stripe's search lags up to a minute: until then the void is retried).
- `capture` takes the whole amount once; `refund` gives back a whole capture.

The API key comes from an SSM SecureString (`dal.secrets`), never from a template or a log, and no
card token, key or raw response is ever put in an error message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from services.payment.gateway.port import (
    AuthorizationResult,
    CaptureResult,
    RefundResult,
    VoidResult,
)
from services.payment.gateway.webhooks import (
    APPROVED,
    DECLINED,
    TOLERANCE_SECONDS,
    ApprovalData,
    WebhookEvent,
    WebhookRejectedError,
)
from shared.contracts import Money, NextAction
from shared.errors import (
    AlreadyCompensatedError,
    AmountMismatchError,
    IdempotencyConflictError,
    InvalidInputError,
    PaymentAlreadyCapturedError,
    PaymentDeclinedError,
    PaymentNotCapturableError,
    PaymentProviderUnavailableError,
)
from shared.observability import tracer

if TYPE_CHECKING:
    import stripe

DECLINED_BY_CUSTOMER = "the customer declined the payment"
# Stripe's own request retries stay off: the saga's retry policy (same key) is the one retry loop.
NETWORK_RETRIES = 0
# The tombstone: an unconfirmed intent under the authorization's key, recognisable by its metadata.
TOMBSTONE_AMOUNT = 100
TOMBSTONE_CURRENCY = "usd"

T = TypeVar("T")


def minor_units(amount: Money) -> tuple[int, str]:
    """Stripe's amount and currency: minor units (as ours), lower-case ISO code."""
    return amount.amount, amount.currency.lower()


@contextmanager
def _stripe_errors(operation: str) -> Iterator[None]:
    """Stripe's failures as the port's errors; what may be transient is retried, same key."""
    import stripe

    try:
        yield
    except stripe.CardError as error:
        # decline_code/code say why (insufficient_funds, card_declined): never the card or token
        why = (error.error.decline_code if error.error else None) or error.code or "card_declined"
        raise PaymentDeclinedError(f"card declined ({why})") from None
    except stripe.IdempotencyError:
        raise IdempotencyConflictError(
            f"Stripe refused the {operation}: its idempotency key was used for another request"
        ) from None
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as error:
        raise PaymentProviderUnavailableError(
            f"Stripe {operation} failed ({type(error).__name__}, HTTP {error.http_status}); retry"
        ) from None
    except stripe.AuthenticationError:
        # A wrong or revoked key: retried, then parked and alarmed; the message never holds it.
        raise PaymentProviderUnavailableError(
            f"Stripe refused the API key for the {operation}; check the key's parameter"
        ) from None
    except stripe.InvalidRequestError as error:
        if error.code in ("payment_intent_unexpected_state", "charge_already_refunded"):
            raise  # the operation reads what was done instead from it (void, capture, refund)
        # Only Stripe's code: its message may quote a parameter, and a parameter may be the token.
        raise InvalidInputError(
            f"Stripe refused the {operation} ({error.code or 'invalid_request'})"
        ) from None
    except stripe.StripeError as error:
        # Anything else (a permission, an unknown error): retried, then parked, never echoed.
        raise PaymentProviderUnavailableError(
            f"Stripe {operation} failed ({type(error).__name__}); retry"
        ) from None


def _unexpected_state(error: Exception) -> str | None:
    """The intent's status when Stripe refused an operation for the state it is in, else None."""
    import stripe

    if not isinstance(error, stripe.InvalidRequestError) or error.error is None:
        return None
    if error.code != "payment_intent_unexpected_state" or error.error.payment_intent is None:
        return None
    status: str = error.error.payment_intent.status
    return status


class StripePaymentProvider:
    def __init__(self, client: stripe.StripeClient, return_url: str) -> None:
        self._client = client
        # Where Stripe's approval page sends the customer back (the storefront's page).
        self._return_url = return_url

    # A subsegment per provider call; never its arguments or response (they carry the token).
    @tracer.capture_method(capture_response=False)
    def authorize(
        self,
        *,
        idempotency_key: str,
        amount: Money,
        payment_token: str,
        customer_id: str,
        order_id: str,
    ) -> AuthorizationResult:
        value, currency = minor_units(amount)
        params: Any = {
            "amount": value,
            "currency": currency,
            "capture_method": "manual",
            "confirm": True,
            "payment_method_types": ["card"],
            "payment_method_data": {"type": "card", "card": {"token": payment_token}},
            "return_url": self._return_url,
            "metadata": {
                "order_id": order_id,
                "customer_id": customer_id,
                "authorization_key": idempotency_key,
            },
        }
        try:
            with _stripe_errors("authorization"):
                intent = self._client.v1.payment_intents.create(
                    params, {"idempotency_key": idempotency_key}
                )
        except IdempotencyConflictError:
            if self._holds_tombstone(idempotency_key):
                raise AlreadyCompensatedError(
                    "the authorization was voided before it arrived; refusing a late authorization"
                ) from None
            raise  # the key was used for another amount or card
        if intent.status == "requires_action":
            intent = self._read(intent.id, "authorization")  # the replay may be stale
        return self._authorization(intent, amount)

    def _authorization(self, intent: stripe.PaymentIntent, amount: Money) -> AuthorizationResult:
        if intent.amount != amount.amount or intent.currency != amount.currency.lower():
            raise IdempotencyConflictError("the authorization's key was used for another amount")
        match intent.status:
            case "requires_capture" | "succeeded":
                return AuthorizationResult(charge_id=intent.id, amount=amount)
            case "requires_action":
                return AuthorizationResult(
                    charge_id=intent.id, amount=amount, next_action=_approval(intent)
                )
            case "requires_payment_method":
                # confirmed, then failed: the customer failed (or declined) the approval
                raise PaymentDeclinedError(DECLINED_BY_CUSTOMER)
            case "canceled":
                raise AlreadyCompensatedError(
                    "the authorization was voided before the customer answered; refusing it"
                )
        raise PaymentProviderUnavailableError(
            f"Stripe answered the authorization with status {intent.status}; retry"
        )

    @tracer.capture_method(capture_response=False)
    def void(
        self, *, idempotency_key: str, authorization_key: str, authorization_id: str | None = None
    ) -> VoidResult:
        if authorization_id is None:
            authorization_id = self._tombstone_or_find(authorization_key, idempotency_key)
            if authorization_id is None:
                return VoidResult(voided=False)
        try:
            with _stripe_errors("void"):
                intent = self._client.v1.payment_intents.cancel(
                    authorization_id,
                    {"cancellation_reason": "abandoned"},
                    {"idempotency_key": idempotency_key},
                )
        except Exception as error:
            status = _unexpected_state(error)
            if status == "succeeded":
                raise PaymentAlreadyCapturedError(
                    f"authorization {authorization_id} was captured; it cannot be voided"
                ) from None
            if status == "canceled":
                return VoidResult(voided=False)  # released already, under another key
            raise
        # A failed approval held nothing: cancelling it released nothing either.
        held = intent.last_payment_error is None
        return VoidResult(voided=held, void_id=intent.id if held else None)

    def _take_with_tombstone(self, authorization_key: str) -> stripe.PaymentIntent:
        """The tombstone request: derived from the key alone, so sending it again is a replay
        (Stripe answers the same intent) when, and only when, the key holds the tombstone."""
        tombstone: Any = {
            "amount": TOMBSTONE_AMOUNT,
            "currency": TOMBSTONE_CURRENCY,
            "capture_method": "manual",
            "metadata": {"tombstone": "true", "authorization_key": authorization_key},
        }
        with _stripe_errors("void"):
            return self._client.v1.payment_intents.create(
                tombstone, {"idempotency_key": authorization_key}
            )

    def _holds_tombstone(self, authorization_key: str) -> bool:
        """Whether the void's tombstone took the key (asked after the key refused our request,
        so this never creates one)."""
        try:
            self._take_with_tombstone(authorization_key)
        except IdempotencyConflictError:
            return False
        return True

    def _tombstone_or_find(self, authorization_key: str, void_key: str) -> str | None:
        """Take the authorization's key with an unconfirmed intent (None: nothing was held and
        nothing can be later), or find the intent the authorization made under it."""
        try:
            taken = self._take_with_tombstone(authorization_key)
        except IdempotencyConflictError:
            return self._find(authorization_key)
        if taken.status != "canceled":  # tidy: it could never hold money, unconfirmed
            with _stripe_errors("void"):
                self._client.v1.payment_intents.cancel(
                    taken.id, {"cancellation_reason": "abandoned"}, {"idempotency_key": void_key}
                )
        return None

    def _find(self, authorization_key: str) -> str:
        with _stripe_errors("void"):
            found = self._client.v1.payment_intents.search(
                {"query": f"metadata['authorization_key']:'{authorization_key}'"}
            )
        for intent in found.data:
            if _metadata(intent, "tombstone") != "true":
                return str(intent.id)
        raise PaymentProviderUnavailableError(
            "the authorization to void is not searchable at Stripe yet; retry"
        )

    @tracer.capture_method(capture_response=False)
    def capture(
        self,
        *,
        idempotency_key: str,
        authorization_key: str,
        amount: Money,
        authorization_id: str | None = None,
    ) -> CaptureResult:
        if authorization_id is None:
            raise PaymentNotCapturableError("no authorization is recorded for this payment")
        held = self._read(authorization_id, "capture")
        if _metadata(held, "authorization_key") != authorization_key:
            raise IdempotencyConflictError("the authorization belongs to another payment")
        if (held.amount, held.currency) != minor_units(amount):
            raise AmountMismatchError("a capture must take the whole authorization")
        try:
            with _stripe_errors("capture"):
                intent = self._client.v1.payment_intents.capture(
                    authorization_id,
                    {"amount_to_capture": amount.amount},
                    {"idempotency_key": idempotency_key},
                )
        except Exception as error:
            status = _unexpected_state(error)
            if status is None:
                raise
            what = "already captured" if status == "succeeded" else f"{status}, not approved"
            raise PaymentNotCapturableError(
                f"authorization {authorization_id} cannot be captured: it is {what}"
            ) from None
        return CaptureResult(capture_id=_charge_id(intent), amount=amount)

    @tracer.capture_method(capture_response=False)
    def refund(
        self,
        *,
        idempotency_key: str,
        capture_key: str,
        amount: Money,
        capture_id: str | None = None,
    ) -> RefundResult:
        """After-sale only (a return): the saga never refunds, it voids before the pivot."""
        if capture_id is None:
            raise InvalidInputError("no capture to refund under that key")
        try:
            with _stripe_errors("refund"):
                refund = self._client.v1.refunds.create(
                    {"charge": capture_id, "amount": amount.amount},
                    {"idempotency_key": idempotency_key},
                )
        except Exception as error:
            import stripe

            if isinstance(error, stripe.InvalidRequestError):
                if error.code == "charge_already_refunded":
                    raise IdempotencyConflictError(
                        "the capture was already refunded under another key"
                    ) from None
                raise InvalidInputError(f"Stripe refused the refund ({error.code})") from None
            raise
        if refund.amount != amount.amount:
            raise AmountMismatchError("a refund must give back the whole capture")
        return RefundResult(refund_id=refund.id, amount=amount)

    def _read(self, intent_id: str, operation: str) -> stripe.PaymentIntent:
        return _call(operation, lambda: self._client.v1.payment_intents.retrieve(intent_id))


def _call(operation: str, request: Callable[[], T]) -> T:
    with _stripe_errors(operation):
        return request()


def _metadata(intent: stripe.PaymentIntent, key: str) -> str | None:
    metadata: Any = intent.metadata or {}
    return str(metadata[key]) if key in metadata else None


def _charge_id(intent: stripe.PaymentIntent) -> str:
    charge = intent.latest_charge
    if charge is None:
        return str(intent.id)
    return charge if isinstance(charge, str) else str(charge.id)


def _approval(intent: stripe.PaymentIntent) -> NextAction:
    action = intent.next_action
    url = action.redirect_to_url.url if action and action.redirect_to_url else None
    if not url:
        raise PaymentProviderUnavailableError(
            "Stripe asked for the customer's approval without a page to send them to; "
            "is the return_url set?"
        )
    # Stripe's page offers both answers: it is the approve and the decline link alike.
    return NextAction(approve_url=url, decline_url=url)


# Stripe's events that answer a customer's approval: the intent became capturable (approved), or
# its confirmation failed (declined, or the approval failed). Every other event is ignored.
APPROVAL_EVENTS = {
    "payment_intent.amount_capturable_updated": True,
    "payment_intent.payment_failed": False,
}


def stripe_webhook_event(secret: str, body: str, header: str | None) -> WebhookEvent:
    """The event, if Stripe signed it (the SDK checks every `v1` signature, so a rotated secret
    still verifies, and the 300 s window); else WebhookRejectedError saying which."""
    import stripe

    try:
        stripe.WebhookSignature.verify_header(body, header, secret, tolerance=TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as error:
        # The SDK's message names the problem, never the secret; the header is not echoed.
        raise WebhookRejectedError(
            f"the Stripe-Signature does not verify: {error.user_message}"
        ) from None
    try:
        event = _StripeEvent.model_validate_json(body)
    except ValidationError:
        raise WebhookRejectedError("the signed body is not a Stripe event") from None
    approved = APPROVAL_EVENTS.get(event.type)
    intent = event.data.object
    order_id = intent.metadata.get("order_id")
    unanswered = WebhookEvent(id=event.id, type=event.type, created=event.created)
    if approved is None or intent.object != "payment_intent" or order_id is None:
        return unanswered
    try:
        data = ApprovalData(order_id=order_id, authorization_id=intent.id)
    except ValidationError:
        return unanswered  # an intent this service never made (its order id is not one of ours)
    return WebhookEvent(
        id=event.id, type=APPROVED if approved else DECLINED, created=event.created, data=data
    )


class _StripeObject(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    object: str
    metadata: dict[str, str] = {}


class _StripeEventData(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    object: _StripeObject


class _StripeEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    type: str
    created: int
    data: _StripeEventData
