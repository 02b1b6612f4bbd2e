from __future__ import annotations

from functools import cache
from typing import Annotated

from pydantic import Field

from shared.settings import BaseSettings, load_settings


class ReconcilerSettings(BaseSettings):
    state_machine_arn: str
    parked_checkouts_table_name: str
    checkout_event_bus_name: str
    # How far back the sweep looks for executions that closed unfinished. Events normally handle
    # them within seconds; the sweep is the net for a missed event, so a few sweeps' worth is
    # enough, and more is cheap (one ListExecutions page per status).
    reconcile_lookback_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)]


@cache
def get_settings() -> ReconcilerSettings:
    settings = load_settings(ReconcilerSettings)
    from orchestration.parked_checkouts import bind_parked_table

    bind_parked_table(settings.parked_checkouts_table_name, settings.aws_region)
    return settings
