from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from shared.settings import BaseSettings, load_settings


class PaymentSettings(BaseSettings):
    payments_table_name: str
    # Which adapter `gateway.provider_for` builds. Required: a function must never fall back to a
    # provider nobody chose. A new provider is one more Literal value and one branch there.
    payment_provider: Literal["simulated", "stripe"]
    # The simulated provider's ledger (gateway.ledger): required when it is the provider, since
    # charge and refund run in different processes and must see the same charges.
    simulated_provider_ledger_table_name: str | None = None
    # How long the saga waits for the customer's approval (3-D Secure), per stage: the provider
    # keeps an unanswered approval open about this long. Seconds on the local cloud.
    payment_approval_seconds: int = Field(default=600, ge=1, le=86_400)
    # The SSM SecureString holding the provider's webhook signing secret (never in a template,
    # an environment variable or a log): read once, when the first webhook arrives.
    payment_webhook_secret_parameter: str | None = None
    # The simulated provider: where its approval page is served ("" makes the links relative
    # to the host that serves them), and where it sends its signed webhooks.
    simulated_provider_url: str = ""
    payment_webhook_url: str | None = None
    # Stripe: the SSM SecureString holding the secret API key (read on the first payment call),
    # where Stripe's approval page sends the customer back, and (tests, a local double only)
    # another base URL for Stripe's API.
    stripe_api_key_parameter: str | None = None
    stripe_return_url: str | None = Field(default=None, pattern=r"^(https?://\S+)?$")
    stripe_api_base: str | None = Field(default=None, pattern=r"^https?://")

    @model_validator(mode="after")
    def _provider_has_what_it_needs(self) -> Self:
        needs: dict[str, list[tuple[str, str]]] = {
            "simulated": [
                ("simulated_provider_ledger_table_name", "keeps its ledger in that table")
            ],
            "stripe": [
                ("stripe_api_key_parameter", "names the SSM parameter of the Stripe API key"),
                ("stripe_return_url", "is where Stripe's approval page returns the customer"),
            ],
        }
        missing = [
            InitErrorDetails(
                # Located on the field, so the error names the variable to set.
                type=PydanticCustomError(
                    "required_by_provider",
                    "is not set; for the {provider} payment provider it {why}",
                    {"provider": self.payment_provider, "why": why},
                ),
                loc=(field,),
                input=getattr(self, field),
            )
            for field, why in needs[self.payment_provider]
            if not getattr(self, field)
        ]
        if missing:
            raise ValidationError.from_exception_data(type(self).__name__, missing)
        return self


def read_settings() -> PaymentSettings:
    """The settings from the environment; ConfigurationError names every bad variable."""
    return load_settings(PaymentSettings)
