"""Settings from the environment: every bad variable is named; production never injects faults."""

from __future__ import annotations

import pytest

from shared.settings import BaseSettings, ConfigurationError, env_var_name, load_settings


class WidgetSettings(BaseSettings):
    widgets_table_name: str
    batch_size: int


GOOD_ENV = {
    "STAGE": "dev",
    "AWS_REGION": "eu-west-1",
    "WIDGETS_TABLE_NAME": "dev-widgets",
    "BATCH_SIZE": "25",
}


def without(*names: str) -> dict[str, str]:
    return {name: value for name, value in GOOD_ENV.items() if name not in names}


def test_each_field_is_read_from_its_upper_case_variable():
    # Given an environment with every variable, plus unrelated ones
    environ = {**GOOD_ENV, "PATH": "/usr/bin", "HOME": "/root"}

    # When the settings are loaded
    settings = load_settings(WidgetSettings, environ=environ)

    # Then each field holds its variable's value, converted to the field's type
    assert settings == WidgetSettings(
        stage="dev", aws_region="eu-west-1", widgets_table_name="dev-widgets", batch_size=25
    )
    assert env_var_name("widgets_table_name") == "WIDGETS_TABLE_NAME"


def test_without_environ_the_process_environment_is_read(monkeypatch):
    # Given the variables are in the process environment
    for name, value in GOOD_ENV.items():
        monkeypatch.setenv(name, value)

    # When the settings are loaded without an explicit environ
    settings = load_settings(WidgetSettings)

    # Then they come from os.environ
    assert settings.widgets_table_name == "dev-widgets"


def test_a_missing_variable_is_named_in_the_error():
    # Given the table name variable is not set
    environ = without("WIDGETS_TABLE_NAME")

    # When the settings are loaded, then the cold start fails naming that variable
    with pytest.raises(ConfigurationError) as error:
        load_settings(WidgetSettings, environ=environ)

    assert "WidgetSettings" in str(error.value)
    assert "WIDGETS_TABLE_NAME is not set" in str(error.value)


def test_every_missing_variable_is_named_at_once():
    # Given three variables are missing (one of them from the base settings)
    environ = without("WIDGETS_TABLE_NAME", "BATCH_SIZE", "AWS_REGION")

    # When the settings are loaded
    with pytest.raises(ConfigurationError) as error:
        load_settings(WidgetSettings, environ=environ)

    # Then one error names all of them, so one deploy fixes all of them
    message = str(error.value)
    for name in ("WIDGETS_TABLE_NAME", "BATCH_SIZE", "AWS_REGION"):
        assert f"{name} is not set" in message
    assert "STAGE" not in message


def test_a_lower_case_variable_does_not_count():
    # Given the variable is present only in lower case
    environ = {**without("WIDGETS_TABLE_NAME"), "widgets_table_name": "dev-widgets"}

    # When the settings are loaded, then it is reported as not set
    with pytest.raises(ConfigurationError, match="WIDGETS_TABLE_NAME is not set"):
        load_settings(WidgetSettings, environ=environ)


def test_a_malformed_value_is_named_with_the_reason():
    # Given a batch size that is not a number
    environ = {**GOOD_ENV, "BATCH_SIZE": "lots"}

    # When the settings are loaded
    with pytest.raises(ConfigurationError) as error:
        load_settings(WidgetSettings, environ=environ)

    # Then the variable is named, with pydantic's reason
    assert "BATCH_SIZE" in str(error.value)
    assert "integer" in str(error.value)


@pytest.mark.parametrize(
    "stage",
    [
        pytest.param("", id="empty"),
        pytest.param("dev env", id="space"),
        pytest.param("dev_1", id="underscore"),
        pytest.param("dev/1", id="slash"),
        pytest.param("-", id="only-a-dash"),
    ],
)
def test_a_malformed_stage_is_named(stage):
    # Given a stage that is not a name of letters, digits and dashes
    environ = {**GOOD_ENV, "STAGE": stage}

    # When the settings are loaded, then the error names STAGE and says what a stage must be
    with pytest.raises(ConfigurationError) as error:
        load_settings(WidgetSettings, environ=environ)

    assert "STAGE" in str(error.value)
    assert "letters, digits and dashes" in str(error.value)


@pytest.mark.parametrize("stage", ["dev", "pr-123", "test", "staging", "Prod-Like"])
def test_a_well_formed_stage_is_accepted(stage):
    settings = load_settings(WidgetSettings, environ={**GOOD_ENV, "STAGE": stage})

    assert settings.stage == stage


@pytest.mark.parametrize("stage", ["prod", "production", "PROD", "Production", "prod-eu"])
def test_production_never_injects_faults(stage):
    # Given a production stage, in any case
    settings = load_settings(WidgetSettings, environ={**GOOD_ENV, "STAGE": stage})

    # Then it is production and fault injection is off
    assert settings.is_production is True
    assert settings.fault_injection_enabled is False


@pytest.mark.parametrize("stage", ["dev", "test", "staging", "pr-42"])
def test_other_stages_honour_injected_faults(stage):
    settings = load_settings(WidgetSettings, environ={**GOOD_ENV, "STAGE": stage})

    assert settings.is_production is False
    assert settings.fault_injection_enabled is True


def test_settings_are_frozen():
    # Given loaded settings
    settings = load_settings(WidgetSettings, environ=GOOD_ENV)

    # When code tries to change one, then it is refused (settings are read once per cold start)
    with pytest.raises(ValueError, match="frozen"):
        settings.stage = "prod"  # type: ignore[misc]
