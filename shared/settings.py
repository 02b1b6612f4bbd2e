"""Settings: one pydantic model per function, read from the environment once per cold start.

A field `orders_table_name` is read from the variable `ORDERS_TABLE_NAME`. A missing or malformed
variable fails the cold start with a message naming it; there are no silent defaults for anything
that must come from the template.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

# Any stage whose name starts with "prod" (prod, production, prod-eu, ...) is production: when in
# doubt, a stage is treated as production and never honours injected faults.
PRODUCTION_STAGE_PREFIX = "prod"


class ConfigurationError(RuntimeError):
    """The function's environment does not satisfy its settings model."""


class BaseSettings(BaseModel):
    """Every function knows its stage and region; the rest comes from the service's subclass."""

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    stage: str
    aws_region: str

    @field_validator("stage")
    @classmethod
    def _stage_is_a_name(cls, value: str) -> str:
        if not value or not value.replace("-", "").isalnum():
            raise ValueError("must be a non-empty name of letters, digits and dashes")
        return value

    @property
    def is_production(self) -> bool:
        return self.stage.lower().startswith(PRODUCTION_STAGE_PREFIX)

    @property
    def fault_injection_enabled(self) -> bool:
        # Demo and test faults are honoured only outside production, never in it.
        return not self.is_production


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def env_var_name(field_name: str) -> str:
    return field_name.upper()


def load_settings(model: type[SettingsT], environ: Mapping[str, str] | None = None) -> SettingsT:
    """Build `model` from the environment, or raise ConfigurationError naming every bad variable."""
    environ = os.environ if environ is None else environ
    raw = {
        name: environ[env_var_name(name)]
        for name in model.model_fields
        if env_var_name(name) in environ
    }
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        problems = []
        for issue in error.errors():
            variable = env_var_name(str(issue["loc"][0])) if issue["loc"] else "?"
            reason = "is not set" if issue["type"] == "missing" else issue["msg"].lower()
            problems.append(f"{variable} {reason}")
        raise ConfigurationError(
            f"{model.__name__}: invalid environment: {'; '.join(problems)}"
        ) from None
