"""What `make deploy` checks before a stack is deployed, that CloudFormation cannot check itself.

The payment stack's Stripe provider reads its API key from an SSM SecureString that an operator
creates (never the template: it would show in the console and the stack's history). A template's
Rules cannot see a SecureString, so without this a production stage would deploy and then fail
every payment at its first call. Exit status 2 and one line per problem, naming the fix.

    python deploy/preflight.py --service payment --project checkout --stage prod --provider stripe
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

DEFAULT_REGION = "eu-west-1"  # deploy/samconfig.toml


def stripe_key_parameter(project: str, stage: str) -> str:
    return f"/{project}/{stage}/payment/stripe-api-key"


def problems(ssm: Any, *, service: str, project: str, stage: str, provider: str) -> list[str]:
    if service != "payment":
        return []
    found: list[str] = []
    if stage.split("-")[0] == "prod" and provider == "simulated":
        found.append(
            f"stage {stage} is a production stage: it must take payments with a real provider "
            "(PAYMENT_PROVIDER=stripe)"
        )
    if provider == "stripe":
        name = stripe_key_parameter(project, stage)
        create = (
            f"aws ssm put-parameter --type SecureString --name {name} --value <your secret key>"
        )
        try:
            parameter = ssm.get_parameter(Name=name)["Parameter"]  # no decryption: never the key
        except ssm.exceptions.ParameterNotFound:
            found.append(f"the Stripe API key is not set: {create}")
        else:
            if parameter.get("Type") != "SecureString":
                found.append(f"{name} must be a SecureString, not a {parameter.get('Type')}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--provider", default="simulated")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", DEFAULT_REGION))
    args = parser.parse_args(argv)
    import boto3

    ssm = boto3.client("ssm", region_name=args.region)
    found = problems(
        ssm, service=args.service, project=args.project, stage=args.stage, provider=args.provider
    )
    for problem in found:
        print(f"preflight: {problem}", file=sys.stderr)
    return 2 if found else 0


if __name__ == "__main__":
    sys.exit(main())
