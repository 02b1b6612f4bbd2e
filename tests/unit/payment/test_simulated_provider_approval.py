"""The simulated provider's customer approval (3-D Secure), on an in-memory ledger: the test token
`tok_threeDSecureRequired` holds an authorization that nothing can capture until the customer
approves it on the provider's page; the answer is recorded once, and a void cancels it."""

from __future__ import annotations

import hashlib

import pytest

from services.payment.gateway.ledger import InMemoryLedger
from services.payment.gateway.port import AuthorizationResult
from services.payment.gateway.simulated import (
    APPROVALS_PATH,
    DECLINED_BY_CUSTOMER,
    TOKEN_APPROVAL_REQUIRED,
    TOKEN_APPROVED,
    SimulatedPaymentProvider,
)
from shared.contracts import Money, NextAction
from shared.errors import (
    AlreadyCompensatedError,
    InvalidInputError,
    PaymentDeclinedError,
    PaymentNotCapturableError,
)

EUR_20 = Money(amount=2_000, currency="EUR")
ORDER = "order-3ds-1"
AUTHORIZE_KEY = f"authorize:{ORDER}"
CAPTURE_KEY = f"capture:{ORDER}"
VOID_KEY = f"void:{ORDER}"
BASE_URL = "https://provider.example"
CHARGE_ID = "pi_" + hashlib.sha256(AUTHORIZE_KEY.encode()).hexdigest()[:24]


def new_provider(base_url: str = BASE_URL) -> SimulatedPaymentProvider:
    return SimulatedPaymentProvider(InMemoryLedger(), base_url)


def authorize(
    provider: SimulatedPaymentProvider, token: str = TOKEN_APPROVAL_REQUIRED
) -> AuthorizationResult:
    return provider.authorize(
        idempotency_key=AUTHORIZE_KEY,
        amount=EUR_20,
        payment_token=token,
        customer_id="cust-1",
        order_id=ORDER,
    )


def capture(provider: SimulatedPaymentProvider):
    return provider.capture(
        idempotency_key=CAPTURE_KEY, authorization_key=AUTHORIZE_KEY, amount=EUR_20
    )


def void(provider: SimulatedPaymentProvider):
    return provider.void(idempotency_key=VOID_KEY, authorization_key=AUTHORIZE_KEY)


def answer(provider: SimulatedPaymentProvider, approved: bool, authorization_id: str = CHARGE_ID):
    return provider.answer_approval(
        authorization_key=AUTHORIZE_KEY, authorization_id=authorization_id, approved=approved
    )


def held(provider: SimulatedPaymentProvider):
    [entry] = [e for e in provider.journal if e.idempotency_key == AUTHORIZE_KEY]
    return entry


def journal(provider: SimulatedPaymentProvider) -> list[tuple[str, str]]:
    return [(e.operation, e.idempotency_key) for e in provider.journal]


def links(base_url: str = BASE_URL) -> NextAction:
    page = f"{base_url}{APPROVALS_PATH}/{ORDER}/{CHARGE_ID}"
    return NextAction(approve_url=f"{page}/approve", decline_url=f"{page}/decline")


# --- an authorization that awaits the customer ---------------------------------------------------


def test_an_authorization_that_needs_approval_answers_the_approval_page_and_holds_it_pending():
    provider = new_provider()

    authorized = authorize(provider)

    assert authorized == AuthorizationResult(
        charge_id=CHARGE_ID, amount=EUR_20, next_action=links()
    )
    assert authorized.next_action is not None
    assert authorized.next_action.type == "approve_payment"
    entry = held(provider)
    assert entry.approval == "required"
    assert entry.awaits_approval
    assert (entry.settled_by, entry.settled_as) == (None, None)
    assert entry.amount == EUR_20
    assert journal(provider) == [("authorize", AUTHORIZE_KEY)]
    assert "tok_" not in repr(provider.journal)


def test_an_authorization_that_needs_no_approval_has_no_next_action_and_no_approval():
    provider = new_provider()

    authorized = authorize(provider, token=TOKEN_APPROVED)

    assert authorized.next_action is None
    assert held(provider).approval is None
    assert provider.approval_entry(AUTHORIZE_KEY, CHARGE_ID) is None
    with pytest.raises(InvalidInputError, match="no authorization awaits approval"):
        answer(provider, approved=True)
    assert held(provider).approval is None


@pytest.mark.parametrize(
    ("base_url", "prefix"),
    [("", ""), ("https://provider.example/", "https://provider.example")],
    ids=["relative", "trailing-slash"],
)
def test_the_approval_links_are_under_the_providers_base_url(base_url, prefix):
    authorized = authorize(new_provider(base_url))

    assert authorized.next_action == links(prefix)
    assert authorized.next_action.approve_url.startswith(f"{prefix}{APPROVALS_PATH}/")


def test_a_replayed_authorization_still_awaiting_answers_the_same_page_and_holds_once():
    provider = new_provider()
    first = authorize(provider)

    # whatever the token: the key is what the provider goes by
    assert authorize(provider) == first
    assert authorize(provider, token=TOKEN_APPROVED) == first
    assert journal(provider) == [("authorize", AUTHORIZE_KEY)]
    assert held(provider).approval == "required"


def test_an_authorization_awaiting_approval_cannot_be_captured():
    provider = new_provider()
    authorize(provider)

    with pytest.raises(PaymentNotCapturableError, match="not approved"):
        capture(provider)

    assert (held(provider).settled_by, held(provider).settled_as) == (None, None)
    assert journal(provider) == [("authorize", AUTHORIZE_KEY)]


def test_the_approval_page_finds_its_authorization_by_key_and_id_only():
    provider = new_provider()
    authorize(provider)

    found = provider.approval_entry(AUTHORIZE_KEY, CHARGE_ID)
    assert found is not None
    assert found == held(provider)
    assert provider.approval_entry(AUTHORIZE_KEY, "pi_not-this-one") is None
    assert provider.approval_entry("authorize:order-other", CHARGE_ID) is None


# --- the customer approves -----------------------------------------------------------------------


def test_approved_then_the_authorization_is_captured_once():
    provider = new_provider()
    authorize(provider)

    answered = answer(provider, approved=True)

    assert answered.approval == "approved"
    assert held(provider).approval == "approved"
    assert not held(provider).awaits_approval
    # the same key now answers the approved authorization, with nothing left to do
    replayed = authorize(provider)
    assert replayed == AuthorizationResult(charge_id=CHARGE_ID, amount=EUR_20, next_action=None)

    captured = capture(provider)

    assert captured.amount == EUR_20
    assert (held(provider).settled_by, held(provider).settled_as) == (CAPTURE_KEY, "capture")
    assert held(provider).approval == "approved"
    assert journal(provider) == [("authorize", AUTHORIZE_KEY), ("capture", CAPTURE_KEY)]


def test_approving_twice_is_idempotent():
    provider = new_provider()
    authorize(provider)
    first = answer(provider, approved=True)

    again = answer(provider, approved=True)

    assert again == first
    assert held(provider) == first
    assert journal(provider) == [("authorize", AUTHORIZE_KEY)]


def test_declining_after_approving_is_refused_and_the_approval_stands():
    provider = new_provider()
    authorize(provider)
    answer(provider, approved=True)

    with pytest.raises(PaymentNotCapturableError, match="already approved"):
        answer(provider, approved=False)

    assert held(provider).approval == "approved"
    assert capture(provider).amount == EUR_20


def test_an_answer_naming_another_authorization_is_unknown_and_records_nothing():
    provider = new_provider()
    authorize(provider)

    with pytest.raises(InvalidInputError, match="no authorization awaits approval"):
        answer(provider, approved=True, authorization_id="pi_forged")

    assert held(provider).approval == "required"


def test_an_answer_without_any_authorization_is_unknown_and_records_nothing():
    provider = new_provider()

    with pytest.raises(InvalidInputError):
        answer(provider, approved=True)

    assert provider.journal == []


# --- the customer declines -----------------------------------------------------------------------


def test_declined_then_the_authorization_replays_as_declined_and_cannot_be_captured():
    provider = new_provider()
    authorize(provider)

    answered = answer(provider, approved=False)

    assert answered.approval == "declined"
    with pytest.raises(PaymentDeclinedError, match=DECLINED_BY_CUSTOMER):
        authorize(provider)
    with pytest.raises(PaymentDeclinedError, match=DECLINED_BY_CUSTOMER):
        authorize(provider, token=TOKEN_APPROVED)  # a good card cannot revive the key
    with pytest.raises(PaymentNotCapturableError, match="not approved"):
        capture(provider)
    entry = held(provider)
    assert entry.approval == "declined"
    assert (entry.settled_by, entry.settled_as) == (None, None)
    assert journal(provider) == [("authorize", AUTHORIZE_KEY)]


def test_declining_twice_is_idempotent_and_approving_after_is_refused():
    provider = new_provider()
    authorize(provider)
    first = answer(provider, approved=False)

    assert answer(provider, approved=False) == first
    with pytest.raises(PaymentNotCapturableError, match="already declined"):
        answer(provider, approved=True)

    assert held(provider).approval == "declined"
    with pytest.raises(PaymentNotCapturableError):
        capture(provider)


# --- a void cancels the approval -----------------------------------------------------------------


@pytest.mark.parametrize("approved", [True, False], ids=["approve", "decline"])
def test_an_answer_after_the_void_of_a_pending_authorization_is_refused(approved):
    provider = new_provider()
    authorize(provider)

    voided = void(provider)

    assert voided.voided is True
    assert voided.void_id is not None
    with pytest.raises(PaymentNotCapturableError, match="cancelled"):
        answer(provider, approved=approved)
    entry = held(provider)
    assert entry.approval == "required"  # never answered
    assert (entry.settled_by, entry.settled_as) == (VOID_KEY, "void")
    # and nothing can take it afterwards
    with pytest.raises(PaymentNotCapturableError):
        capture(provider)
    assert journal(provider) == [("authorize", AUTHORIZE_KEY), ("void", VOID_KEY)]


def test_a_voided_pending_authorization_no_longer_answers_an_approval_page():
    provider = new_provider()
    authorize(provider)
    void(provider)

    # never answered as if authorized: the customer approved nothing (a late retry is refused)
    with pytest.raises(AlreadyCompensatedError, match="before the customer answered"):
        authorize(provider)
    assert held(provider).settled_as == "void"


def test_a_void_after_the_approval_releases_it_and_nothing_is_captured():
    provider = new_provider()
    authorize(provider)
    answer(provider, approved=True)

    assert void(provider).voided is True

    with pytest.raises(PaymentNotCapturableError, match="already settled by a void"):
        capture(provider)
    assert answer(provider, approved=True).approval == "approved"  # the page's resend: the same
    assert held(provider).settled_as == "void"


def test_a_void_after_the_customer_declined_releases_nothing_because_nothing_was_held():
    provider = new_provider()
    authorize(provider)
    answer(provider, approved=False)

    released = void(provider)

    assert released.voided is False
    assert released.void_id is None
    assert held(provider).settled_as == "void"  # and no later answer can change it
    assert [e.operation for e in provider.journal] == ["authorize"]
