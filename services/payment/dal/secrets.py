"""The provider's secrets, read from SSM Parameter Store (SecureString) on first use.

Never from a template or an environment variable (both end up in consoles and logs); read once
per process and kept in memory, so a webhook costs no SSM call after the first.
"""

from __future__ import annotations

from functools import cache

from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import DependencyUnavailableError


@cache
def secure_parameter(name: str, region: str) -> str:
    import boto3  # a cold start of the functions that never read a secret does not pay for it

    try:
        response = boto3.client("ssm", region_name=region).get_parameter(
            Name=name, WithDecryption=True
        )
    except (ClientError, BotoCoreError) as error:
        # The message names the parameter, never its value.
        raise DependencyUnavailableError(f"cannot read the secret {name}: {error}") from error
    value: str = response["Parameter"]["Value"]
    return value
