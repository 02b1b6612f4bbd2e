"""The provider's webhooks: Stripe-style signatures (`t=<unix s>,v1=<HMAC-SHA256>`) that verify
only for the shared secret, the exact body and a fresh timestamp; and approval events whose id
names the answer, so a redelivery is recognisably the same event."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from services.payment.gateway.webhooks import (
    APPROVED,
    DECLINED,
    TOLERANCE_SECONDS,
    WebhookRejectedError,
    approval_event,
    sign,
    verify,
)

SECRET = "whsec_unit-test-secret"
NOW = 1_700_000_000
ORDER = "order-0001"
AUTHORIZATION = "pi_0123456789abcdef01234567"


def body(approved: bool = True, created: int = NOW) -> str:
    return approval_event(ORDER, AUTHORIZATION, approved, created)


# --- sign, then verify ---------------------------------------------------------------------------


@pytest.mark.parametrize("approved", [True, False], ids=["approved", "declined"])
def test_a_signed_event_verifies_and_reads_back_as_sent(approved):
    sent = body(approved)

    event = verify(SECRET, sent, sign(SECRET, sent, NOW), now=NOW)

    assert event.approved is approved
    assert event.type == (APPROVED if approved else DECLINED)
    assert event.created == NOW
    assert event.data is not None
    assert (event.data.order_id, event.data.authorization_id) == (ORDER, AUTHORIZATION)
    assert event.id == json.loads(sent)["id"]


def test_the_signature_is_the_hmac_of_the_timestamp_and_the_raw_body():
    sent = body()
    expected = hmac.new(SECRET.encode(), f"{NOW}.{sent}".encode(), hashlib.sha256).hexdigest()

    assert sign(SECRET, sent, NOW) == f"t={NOW},v1={expected}"


@pytest.mark.parametrize("skew", [-TOLERANCE_SECONDS, 0, TOLERANCE_SECONDS])
def test_a_timestamp_within_the_tolerance_either_way_verifies(skew):
    sent = body()

    event = verify(SECRET, sent, sign(SECRET, sent, NOW), now=NOW + skew)

    assert event.approved is True


def test_an_event_of_another_type_verifies_without_approval_data():
    sent = json.dumps({"id": "evt_other", "type": "payment.refunded", "created": NOW})

    event = verify(SECRET, sent, sign(SECRET, sent, NOW), now=NOW)

    assert event.type == "payment.refunded"
    assert event.data is None
    assert event.approved is False


# --- what is refused -----------------------------------------------------------------------------


def test_a_signature_under_another_secret_is_rejected():
    sent = body()

    with pytest.raises(WebhookRejectedError, match="does not match"):
        verify(SECRET, sent, sign("whsec_someone-else", sent, NOW), now=NOW)


@pytest.mark.parametrize(
    "tampered",
    [
        pytest.param(lambda b: b.replace(APPROVED, DECLINED), id="type-flipped"),
        pytest.param(lambda b: b.replace(ORDER, "order-9999"), id="other-order"),
        pytest.param(lambda b: b + " ", id="trailing-space"),
        pytest.param(lambda b: json.dumps(json.loads(b), indent=1), id="re-serialized"),
    ],
)
def test_a_body_changed_after_signing_is_rejected(tampered):
    sent = body()
    signature = sign(SECRET, sent, NOW)
    changed = tampered(sent)
    assert changed != sent

    with pytest.raises(WebhookRejectedError, match="does not match"):
        verify(SECRET, changed, signature, now=NOW)


def test_a_signature_moved_to_another_timestamp_is_rejected():
    sent = body()
    digest = sign(SECRET, sent, NOW).split("v1=", 1)[1]

    with pytest.raises(WebhookRejectedError, match="does not match"):
        verify(SECRET, sent, f"t={NOW + 1},v1={digest}", now=NOW)


@pytest.mark.parametrize(
    "skew",
    [TOLERANCE_SECONDS + 1, -(TOLERANCE_SECONDS + 1), 86_400, -86_400],
    ids=["just-stale", "just-ahead", "a-day-old", "a-day-ahead"],
)
def test_a_timestamp_beyond_the_tolerance_either_way_is_rejected(skew):
    sent = body()
    # correctly signed, only too old (a replay) or too far ahead
    signature = sign(SECRET, sent, NOW)

    with pytest.raises(WebhookRejectedError, match=f"more than {TOLERANCE_SECONDS} s"):
        verify(SECRET, sent, signature, now=NOW - skew)


@pytest.mark.parametrize("header", [None, ""], ids=["none", "empty"])
def test_a_missing_signature_header_is_rejected(header):
    with pytest.raises(WebhookRejectedError, match="missing"):
        verify(SECRET, body(), header, now=NOW)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("garbage", id="no-pairs"),
        pytest.param(f"t={NOW}", id="no-v1"),
        pytest.param("v1=abcdef", id="no-t"),
        pytest.param(f"t={NOW},v1=", id="empty-v1"),
        pytest.param("t=,v1=abcdef", id="empty-t"),
        pytest.param("t=soon,v1=abcdef", id="t-not-a-number"),
        pytest.param("t=-5,v1=abcdef", id="t-negative"),
        pytest.param(f"t={NOW}.5,v1=abcdef", id="t-fractional"),
        pytest.param(f"T={NOW},V1=abcdef", id="keys-upper-case"),
    ],
)
def test_a_malformed_signature_header_is_rejected(header):
    with pytest.raises(WebhookRejectedError, match="malformed"):
        verify(SECRET, body(), header, now=NOW)


# Found by this test: str.isdigit() admits digits int() refuses, and hmac.compare_digest refuses
# non-ASCII str, so these escaped as ValueError/TypeError (a 5xx) instead of a rejection.
@pytest.mark.parametrize(
    "header",
    [
        pytest.param("t=\u00b2,v1=abcdef", id="t-superscript-digit"),
        pytest.param(f"t={NOW},v1=\u00e9", id="v1-non-ascii"),
    ],
)
def test_a_signature_header_with_non_ascii_characters_is_rejected(header):
    with pytest.raises(WebhookRejectedError):
        verify(SECRET, body(), header, now=NOW)


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param("not json", id="not-json"),
        pytest.param(json.dumps({"type": APPROVED, "created": NOW}), id="no-id"),
        pytest.param(
            json.dumps({"id": "evt_1", "type": APPROVED, "created": NOW, "data": {"order_id": 1}}),
            id="bad-data",
        ),
    ],
)
def test_a_correctly_signed_body_that_is_not_an_event_is_rejected(sent):
    with pytest.raises(WebhookRejectedError, match="not a webhook event"):
        verify(SECRET, sent, sign(SECRET, sent, NOW), now=NOW)


def test_a_rejection_never_echoes_the_signature():
    sent = body()
    signature = sign("whsec_someone-else", sent, NOW)

    with pytest.raises(WebhookRejectedError) as rejected:
        verify(SECRET, sent, signature, now=NOW)

    assert signature.split("v1=", 1)[1] not in str(rejected.value)
    assert SECRET not in str(rejected.value)


# --- approval events -----------------------------------------------------------------------------


def test_an_approval_events_id_is_the_same_for_every_delivery_of_one_answer():
    first = json.loads(body(approved=True, created=NOW))
    resent = json.loads(body(approved=True, created=NOW + 3_600))

    assert first["id"] == resent["id"]
    assert first["id"].startswith("evt_")
    assert first["created"] != resent["created"]
    # and it is computed, not remembered: another process sends the same id
    expected = hashlib.sha256(f"{AUTHORIZATION}:{APPROVED}".encode()).hexdigest()[:24]
    assert first["id"] == f"evt_{expected}"


def test_approval_event_ids_differ_per_answer_and_per_authorization():
    approved = json.loads(approval_event(ORDER, AUTHORIZATION, True, NOW))["id"]
    declined = json.loads(approval_event(ORDER, AUTHORIZATION, False, NOW))["id"]
    other = json.loads(approval_event(ORDER, "pi_another", True, NOW))["id"]

    assert len({approved, declined, other}) == 3


def test_an_approval_event_says_which_answer_for_which_payment():
    assert json.loads(body(approved=False)) == {
        "id": json.loads(body(approved=False))["id"],
        "type": DECLINED,
        "created": NOW,
        "data": {"order_id": ORDER, "authorization_id": AUTHORIZATION},
    }
