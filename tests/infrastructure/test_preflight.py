"""deploy/preflight.py: what `make deploy` refuses before CloudFormation sees the stack."""

from __future__ import annotations

import boto3
import pytest

from deploy.preflight import main, problems, stripe_key_parameter


@pytest.fixture
def ssm(aws):
    return boto3.client("ssm", region_name="eu-west-1")


def check(ssm, stage: str, provider: str, service: str = "payment") -> list[str]:
    return problems(ssm, service=service, project="checkout", stage=stage, provider=provider)


def test_a_production_stage_with_the_simulated_provider_is_refused(ssm):
    [problem] = check(ssm, "prod", "simulated")

    assert "production stage" in problem
    assert "PAYMENT_PROVIDER=stripe" in problem


def test_stripe_without_its_secret_is_refused_with_the_command_that_sets_it(ssm):
    [problem] = check(ssm, "prod-eu", "stripe")

    assert "not set" in problem
    assert "aws ssm put-parameter --type SecureString" in problem
    assert stripe_key_parameter("checkout", "prod-eu") in problem


def test_a_stripe_key_stored_in_plain_text_is_refused(ssm):
    ssm.put_parameter(Name=stripe_key_parameter("checkout", "prod"), Type="String", Value="sk_x")

    [problem] = check(ssm, "prod", "stripe")

    assert "must be a SecureString" in problem
    assert "sk_x" not in problem


def test_stripe_with_its_secret_deploys_and_other_stacks_are_not_concerned(ssm):
    ssm.put_parameter(
        Name=stripe_key_parameter("checkout", "prod"), Type="SecureString", Value="sk_live_x"
    )

    assert check(ssm, "prod", "stripe") == []
    assert check(ssm, "dev", "simulated") == []
    assert check(ssm, "prod", "simulated", service="inventory") == []


def test_the_command_exits_2_naming_each_problem(aws, capsys):
    status = main(["--service", "payment", "--project", "checkout", "--stage", "prod"])

    assert status == 2
    assert "preflight: stage prod is a production stage" in capsys.readouterr().err
