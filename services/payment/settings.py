from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from shared.settings import BaseSettings, load_settings


class PaymentSettings(BaseSettings):
    payments_table_name: str
    # Which adapter `gateway.provider_for` builds. Required: a function must never fall back to a
    # provider nobody chose. A real provider is one more Literal value and one branch there.
    payment_provider: Literal["simulated"]
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

    @model_validator(mode="after")
    def _simulated_provider_has_its_ledger(self) -> Self:
        if self.payment_provider == "simulated" and not self.simulated_provider_ledger_table_name:
            # Located on the field, so the error names the variable to set.
            problem = PydanticCustomError(
                "required_by_provider",
                "is not set; the simulated payment provider keeps its ledger in that table",
            )
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=problem,
                        loc=("simulated_provider_ledger_table_name",),
                        input=self.simulated_provider_ledger_table_name,
                    )
                ],
            )
        return self


def read_settings() -> PaymentSettings:
    """The settings from the environment; ConfigurationError names every bad variable."""
    return load_settings(PaymentSettings)
