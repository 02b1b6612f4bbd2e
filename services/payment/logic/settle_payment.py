"""Record a hold an operator settled at the provider by hand: `checkout resolve`'s payment side.

A checkout parks at the void or the capture when the provider kept refusing or failing (an
expired authorization, an outage that outlived the retries). An operator then settles the hold in
the provider's own dashboard and says so here, with the provider's id for what they did. The
record moves to VOIDED or CAPTURED as the void or capture would have moved it, so the recovery
that `checkout resolve` starts next finds it done (the void's and the capture's replays) and
finishes the checkout through its own steps, without calling the provider again.

The provider is not asked: the operator's reference and note are the evidence, kept on the record.
A settlement that contradicts the record (voiding a capture, capturing a void) is refused and
writes nothing; settling again what is already so writes nothing and says so.
"""

from __future__ import annotations

from services.payment.dal import payments
from services.payment.models import Payment, PaymentStatus
from shared.contracts import SettlePaymentInput, SettlePaymentOutput
from shared.errors import DependencyUnavailableError, SettlementRefusedError

MAX_ATTEMPTS = 3

# What each settlement may move the payment from: a hold, or a request still open at the provider.
_SETTLES_FROM = {
    PaymentStatus.VOIDED: {
        PaymentStatus.AUTHORIZING,
        PaymentStatus.REQUIRES_ACTION,
        PaymentStatus.AUTHORIZED,
        PaymentStatus.DECLINED,
    },
    # Only a hold the provider confirmed: the capture step comes after the confirmation, which
    # needs one, and a capture recorded without the authorization's id could not be replayed.
    PaymentStatus.CAPTURED: {PaymentStatus.AUTHORIZED},
}


def settle_payment(request: SettlePaymentInput) -> SettlePaymentOutput:
    settled = PaymentStatus.VOIDED if request.settled_as == "voided" else PaymentStatus.CAPTURED
    for _ in range(MAX_ATTEMPTS):
        payment = payments.get_payment(request.order_id)
        if payment is None:
            raise SettlementRefusedError(
                f"order {request.order_id} has no payment: nothing was held to settle"
            )
        if payment.status is settled:
            return _output(payment.order_id, settled, _reference(payment), settled_now=False)
        if payment.status not in _SETTLES_FROM[settled]:
            raise SettlementRefusedError(_contradiction(request, payment))
        try:
            payments.record_operator_settlement(
                request.order_id, payment.status, settled, request.reference, request.note
            )
        except payments.PaymentChangedError:
            continue  # a late authorization or answer moved it: read again and decide again
        return _output(request.order_id, settled, request.reference, settled_now=True)
    raise DependencyUnavailableError(
        f"payment of order {request.order_id} kept changing during {MAX_ATTEMPTS} attempts; retry"
    )


def _contradiction(request: SettlePaymentInput, payment: Payment) -> str:
    recorded = payment.status.value
    if payment.status is PaymentStatus.CAPTURED:
        return (
            f"payment of order {request.order_id} is CAPTURED ({payment.capture_id}): a void "
            "cannot give money back; refund it at the provider"
        )
    if request.settled_as == "captured":
        return (
            f"payment of order {request.order_id} is {recorded}: no confirmed hold to capture; "
            "charge the customer outside this checkout"
        )
    return f"payment of order {request.order_id} is {recorded}: it cannot be recorded voided"


def _reference(payment: Payment) -> str | None:
    return payment.capture_id if payment.status is PaymentStatus.CAPTURED else payment.void_id


def _output(
    order_id: str, status: PaymentStatus, reference: str | None, *, settled_now: bool
) -> SettlePaymentOutput:
    return SettlePaymentOutput(
        order_id=order_id, status=status.value, settled_now=settled_now, reference=reference
    )
