"""Where an operator command points: the running local cloud (default), an endpoint, or AWS.

Locally the endpoint, the state machine and the table names come from `.local-cloud/state.json`
(written by `make run`). With `--aws` they come from the SSM parameters the orchestration stack
publishes under `/<project>/<stage>/orchestration/...`, with your credentials (`--profile`,
`--region`). `Target.export()` points this process's environment at the target too, for code
that builds its own clients (the reconciler's logic, PynamoDB): the operator commands call it;
nothing that runs inside another program should.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATE_FILE = Path(__file__).resolve().parents[2] / ".local-cloud" / "state.json"
LOCAL_REGION = "us-east-1"
LOCAL_STAGE = "local"


class TargetError(Exception):
    """The target cannot be found (no local cloud running, no parameter on AWS, ...)."""


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--endpoint-url",
        help="an AWS endpoint (default: the running local cloud, from .local-cloud/state.json)",
    )
    where.add_argument("--aws", action="store_true", help="use AWS with your credentials")
    parser.add_argument("--profile", help="AWS profile (with --aws)")
    parser.add_argument("--region", help="AWS region (with --aws)")
    parser.add_argument("--project", default="checkout", help="with --aws (default: checkout)")
    parser.add_argument("--stage", default="dev", help="with --aws (default: dev)")


@dataclass(frozen=True)
class Target:
    label: str
    session: Any  # boto3 Session
    endpoint_url: str | None
    stage: str
    region: str
    profile: str | None
    state_machine_arn: str | None
    parked_table: str | None
    event_bus: str | None
    project: str = "checkout"

    def function_name(self, slug: str) -> str:
        """A service function's name on this target: the templates pin every FunctionName to
        `<project>-<stage>-<slug>` (e.g. settle-payment), so none needs looking up."""
        return f"{self.project}-{self.stage}-{slug}"

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint_url)

    def export(self) -> None:
        """Point this process's AWS environment at the target (a command's own process only)."""
        if self.endpoint_url is None:
            os.environ.pop("AWS_ENDPOINT_URL", None)
            if self.profile:
                os.environ["AWS_PROFILE"] = self.profile
        else:
            os.environ.update(
                AWS_ENDPOINT_URL=self.endpoint_url,
                AWS_ACCESS_KEY_ID="local",
                AWS_SECRET_ACCESS_KEY="local",
            )
            os.environ.pop("AWS_PROFILE", None)
        os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = self.region

    def saga_state_machine(self, sfn: Any) -> str | None:
        """The saga's state machine ARN: as published, or on a local endpoint (another port
        than `make run`'s, so no state.json to read) the one named checkout-saga."""
        if self.state_machine_arn is not None or self.endpoint_url is None:
            return self.state_machine_arn
        machines = sfn.list_state_machines().get("stateMachines", [])
        return next((m["stateMachineArn"] for m in machines if "checkout-saga" in m["name"]), None)

    def require(self, what: str, value: str | None) -> str:
        if value is None:
            raise TargetError(f"{self.label}: the {what} is not known here")
        return value


def local_state() -> dict[str, Any] | None:
    explicit = os.environ.get("CHECKOUT_STATE_DIR")
    state = Path(explicit) / "state.json" if explicit else STATE_FILE
    if not state.exists():
        return None
    loaded: dict[str, Any] = json.loads(state.read_text())
    return loaded


def resolve(args: argparse.Namespace) -> Target:
    import boto3

    if args.aws:
        session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
        prefix = f"/{args.project}/{args.stage}/orchestration"
        ssm = session.client("ssm")

        def parameter(name: str) -> str | None:
            try:
                value: str = ssm.get_parameter(Name=f"{prefix}/{name}")["Parameter"]["Value"]
            except Exception:  # not deployed, or no permission: the caller says what is missing
                return None
            return value

        return Target(
            label=f"AWS {session.region_name} stage {args.stage}",
            session=session,
            endpoint_url=None,
            stage=args.stage,
            region=str(session.region_name),
            profile=args.profile,
            state_machine_arn=parameter("checkout-state-machine/arn"),
            parked_table=parameter("parked-checkouts-table/name"),
            event_bus=parameter("checkout-event-bus/name"),
            project=args.project,
        )
    state = local_state() or {}
    endpoint = args.endpoint_url or state.get("aws_endpoint")
    if endpoint is None:
        raise TargetError(
            "no local cloud found (.local-cloud/state.json): start it with `make run`, "
            "or pass --endpoint-url or --aws"
        )
    same = endpoint == state.get("aws_endpoint")
    session = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name=LOCAL_REGION
    )
    tables = state.get("tables", {}) if same else {}
    return Target(
        label=f"the local cloud at {endpoint}",
        session=session,
        endpoint_url=endpoint,
        stage=state.get("stage", LOCAL_STAGE) if same else LOCAL_STAGE,
        region=LOCAL_REGION,
        profile=None,
        state_machine_arn=state.get("state_machine_arn") if same else None,
        parked_table=tables.get("ParkedCheckoutsTable"),
        event_bus=state.get("event_bus") if same else None,
        project=state.get("project", "checkout") if same else "checkout",
    )
