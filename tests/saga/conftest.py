"""The saga rig: moto with Step Functions execution on, all three services' tables, the event bus,
the parked-checkouts table, and the real state machine created from the one ASL file."""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import moto
import pytest
from moto.awslambda.models import LambdaBackend
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

from deploy.local.moto_tuning import (
    keep_task_failure_cause,
    parse_each_condition_once,
    parse_each_definition_once,
    parse_each_json_path_once,
    serialize_dynamodb_items_directly,
    snapshot_transaction_items,
)
from orchestration.definition import render_definition
from orchestration.parked_checkouts import (
    ParkedCheckout,
    ParkedCheckoutRecord,
    bind_parked_table,
    list_parked,
)
from orchestration.recovery import parse_execution_name
from orchestration.spec import SAGA, function_slug
from shared import faults
from tests.saga.harness import (
    EVENT_BUS,
    FUNCTIONS,
    PARKED_TABLE,
    REGION,
    ExecutionResult,
    InProcessEffects,
    LambdaDispatcher,
    RetrySleepRecorder,
    substitutions,
    wait_for_execution,
)
from tests.support.lambda_context import FakeLambdaContext
from tests.support.services import (
    saga_services,
    service_environment,
    service_models,
    settings_loader,
)
from tests.support.tables import bind_service, table_items


@dataclass
class SagaRig:
    sfn: Any
    state_machine_arn: str
    dispatcher: LambdaDispatcher
    retry_sleeps: RetrySleepRecorder
    _queue_url: str
    _sqs: Any

    def add_product(
        self, sku: str, available: int, unit_price: int = 1_000, currency: str = "EUR"
    ) -> None:
        from services.inventory.dal import stock
        from services.inventory.models import Product

        stock.put_product(
            Product(
                sku=sku,
                name=f"Product {sku}",
                unit_price=unit_price,
                currency=currency,
                available=available,
            )
        )

    def start(self, checkout: dict[str, Any], name: str | None = None) -> str:
        """Start an execution as every starter does: the checkout over the saga's defaults."""
        response = self.sfn.start_execution(
            stateMachineArn=self.state_machine_arn,
            name=name or checkout["order_id"],
            input=json.dumps(SAGA.execution_input(checkout)),
        )
        arn: str = response["executionArn"]
        return arn

    def run(self, checkout: dict[str, Any], name: str | None = None) -> ExecutionResult:
        return wait_for_execution(self.sfn, self.start(checkout, name))

    def execution_arn(self, name: str) -> str:
        return self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"

    def stop_when(self, function: str, *, nth: int = 1, order_id: str | None = None) -> None:
        """Stop the execution (StopExecution, as an operator or a bad deploy does) while the
        `nth` invocation of `function` (for `order_id`, or any order) is in flight: the
        invocation still runs to its end."""

        def stop(payload: dict[str, Any]) -> None:
            self.dispatcher.stopped_in.append(payload["function"])
            for running in self.sfn.list_executions(
                stateMachineArn=self.state_machine_arn, statusFilter="RUNNING"
            )["executions"]:
                if parse_execution_name(running["name"])[0] == payload["order_id"]:
                    self.sfn.stop_execution(executionArn=running["executionArn"], cause="test")

        self.dispatcher.before_call(function, nth, stop, order_id)

    def invoke_task(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Run one function's real handler outside any execution, as a late or duplicated
        delivery does: its answer, or the error the Lambda runtime would report."""
        name = function_slug(operation)
        handler = importlib.import_module(FUNCTIONS[name]).lambda_handler
        try:
            result: dict[str, Any] = handler(payload, FakeLambdaContext(function_name=name))
        except Exception as error:
            return {"errorType": type(error).__name__, "errorMessage": str(error)}
        return result

    def wait_for_next_action(self, order_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The order's next action, once the saga waits for the customer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [o for o in self.orders() if o["order_id"] == order_id]
            if found and found[0].get("next_action") and found[0].get("approval_token"):
                action: dict[str, Any] = found[0]["next_action"]
                return action
            time.sleep(0.05)
        raise AssertionError(f"order {order_id} never waited for an approval")

    def customer_answers(self, order_id: str, approved: bool) -> dict[str, Any]:
        """The customer clicks Approve or Decline: the simulated provider records it, and its
        signed webhook reaches the checkout API. The API's answer."""
        from services.payment.bootstrap import start
        from services.payment.gateway import simulated_provider
        from services.payment.logic.keys import authorize_key

        [payment] = [p for p in self.payments() if p["order_id"] == order_id]
        simulated_provider(start()).answer_approval(
            authorization_key=authorize_key(order_id),
            authorization_id=payment["charge_id"],
            approved=approved,
        )
        return self.deliver_webhook(self.signed_webhook(order_id, payment["charge_id"], approved))

    def signed_webhook(
        self, order_id: str, authorization_id: str, approved: bool, secret: str | None = None
    ) -> tuple[str, str]:
        """(body, signature header) of the provider's webhook for this answer."""
        from services.payment.gateway.webhooks import approval_event, sign

        now = int(time.time())
        body = approval_event(order_id, authorization_id, approved, now)
        return body, sign(secret or "saga-test-signing-secret", body, now)

    def deliver_webhook(self, webhook: tuple[str, str]) -> dict[str, Any]:
        """POST /payments/webhook on the checkout API handler: status and body."""
        from orchestration.api.handler import lambda_handler

        body, signature = webhook
        event = {
            "resource": "/payments/webhook",
            "path": "/payments/webhook",
            "httpMethod": "POST",
            "headers": {"Content-Type": "application/json", "Webhook-Signature": signature},
            "multiValueHeaders": {},
            "queryStringParameters": None,
            "pathParameters": None,
            "requestContext": {"resourcePath": "/payments/webhook", "httpMethod": "POST"},
            "body": body,
            "isBase64Encoded": False,
        }
        response = lambda_handler(event, FakeLambdaContext("checkout-api"))
        return {"status": response["statusCode"], "body": json.loads(response["body"])}

    def reconcile(self, execution: str) -> dict[str, Any]:
        """Deliver the execution's status-change event to the reconciler, as EventBridge does."""
        from orchestration.reconciler.handler import lambda_handler

        arn = execution if execution.startswith("arn:") else self.execution_arn(execution)
        event = {
            "detail-type": "Step Functions Execution Status Change",
            "source": "aws.states",
            "detail": {"executionArn": arn, "status": "ABORTED"},
        }
        result: dict[str, Any] = lambda_handler(event, FakeLambdaContext("reconciler"))
        return result

    def sweep(self) -> dict[str, Any]:
        from orchestration.reconciler.handler import lambda_handler

        event = {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
        result: dict[str, Any] = lambda_handler(event, FakeLambdaContext("reconciler"))
        return result

    def wait(self, name: str) -> ExecutionResult:
        return wait_for_execution(self.sfn, self.execution_arn(name))

    def executions(self) -> list[str]:
        listed = self.sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]
        return sorted(execution["name"] for execution in listed)

    # --- stored state of every service, read through their own models -------------------------

    def available(self, sku: str) -> int:
        from services.inventory.dal import stock

        product = stock.get_product(sku)
        assert product is not None
        return product.available

    def reservations(self) -> list[dict[str, Any]]:
        from services.inventory.dal.records import ReservationRecord

        return table_items(ReservationRecord)

    def payments(self) -> list[dict[str, Any]]:
        from services.payment.dal.records import PaymentRecord

        return table_items(PaymentRecord)

    def orders(self) -> list[dict[str, Any]]:
        from services.order.dal.records import OrderRecord

        return table_items(OrderRecord)

    def order(self, order_id: str) -> dict[str, Any]:
        [found] = [order for order in self.orders() if order["order_id"] == order_id]
        return found

    def provider_journal(self) -> list[Any]:
        from services.payment.bootstrap import start as get_settings
        from services.payment.gateway import provider_for

        journal: list[Any] = provider_for(get_settings()).journal  # type: ignore[attr-defined]
        return journal

    def parked(self) -> list[ParkedCheckout]:
        return list_parked()

    def events(self) -> list[dict[str, Any]]:
        """Every event the bus delivered so far (detail-type and detail)."""
        received: list[dict[str, Any]] = []
        while True:
            messages = self._sqs.receive_message(
                QueueUrl=self._queue_url, MaxNumberOfMessages=10
            ).get("Messages", [])
            if not messages:
                return received
            for message in messages:
                event = json.loads(message["Body"])
                received.append({"detail-type": event["detail-type"], "detail": event["detail"]})
                self._sqs.delete_message(
                    QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"]
                )


# Seconds the saga waits for the customer's approval here: the timeout test waits this long.
APPROVAL_SECONDS = 3


def _bind_all_services(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every service of the saga, bound as its template configures it, with its own tables (and
    the webhook signing secret its template expects in SSM)."""
    for service in saga_services():
        environment = service_environment(service)
        if service == "payment":
            environment["PAYMENT_APPROVAL_SECONDS"] = str(APPROVAL_SECONDS)
            boto3.client("ssm", region_name=REGION).put_parameter(
                Name=environment["PAYMENT_WEBHOOK_SECRET_PARAMETER"],
                Type="SecureString",
                Value="saga-test-signing-secret",
            )
        bind_service(monkeypatch, settings_loader(service), environment, service_models(service))


def _configure_api(monkeypatch: pytest.MonkeyPatch, state_machine_arn: str) -> None:
    """The checkout API's environment, for the webhook the customer's answer sends."""
    from orchestration.api.settings import get_settings
    from tests.saga.harness import function_arn

    for name, value in {
        "STATE_MACHINE_ARN": state_machine_arn,
        "GET_PRODUCTS_FUNCTION_ARN": function_arn("get-products"),
        "GET_ORDER_FUNCTION_ARN": function_arn("get-order"),
        "RECEIVE_PAYMENT_WEBHOOK_FUNCTION_ARN": function_arn("receive-payment-webhook"),
        "ANSWER_PAYMENT_APPROVAL_FUNCTION_ARN": function_arn("answer-payment-approval"),
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def _configure_reconciler(monkeypatch: pytest.MonkeyPatch, state_machine_arn: str) -> None:
    """The reconciler's environment, as its template gives it, for in-process invocations."""
    from orchestration import aws
    from orchestration.reconciler.settings import get_settings

    for name, value in {
        "STATE_MACHINE_ARN": state_machine_arn,
        "PARKED_CHECKOUTS_TABLE_NAME": PARKED_TABLE,
        "CHECKOUT_EVENT_BUS_NAME": EVENT_BUS,
        "RECONCILE_LOOKBACK_MINUTES": "60",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    aws._client.cache_clear()  # clients made inside this test's moto


def _event_sink() -> tuple[Any, str]:
    """A queue that receives every event the saga publishes on its bus."""
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    events.create_event_bus(Name=EVENT_BUS)
    queue_url = sqs.create_queue(QueueName="saga-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(
        Name="all-checkout-events",
        EventBusName=EVENT_BUS,
        EventPattern=json.dumps({"source": ["checkout.saga"]}),
    )
    events.put_targets(
        Rule="all-checkout-events",
        EventBusName=EVENT_BUS,
        Targets=[{"Id": "sink", "Arn": queue_arn}],
    )
    return sqs, queue_url


@pytest.fixture
def saga(monkeypatch: pytest.MonkeyPatch) -> Iterator[SagaRig]:
    dispatcher = LambdaDispatcher()
    sleeps = RetrySleepRecorder()

    def dispatch(
        backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response: Any
    ) -> bytes:
        return dispatcher.invoke(function_name, body, response)

    monkeypatch.setattr(LambdaBackend, "invoke", dispatch)
    monkeypatch.setattr(faults, "effects", InProcessEffects())
    monkeypatch.setattr(retrier_decl, "time", sleeps.module)
    parse_each_definition_once()  # as the local cloud does: one parse serves every execution
    parse_each_json_path_once()  # and one parse serves every use of a path
    parse_each_condition_once()  # and one parse serves every use of a condition expression
    serialize_dynamodb_items_directly()  # and item answers skip the model's value picker
    snapshot_transaction_items()  # and a transaction keeps its items, not its tables
    keep_task_failure_cause()  # as the local cloud does: a declined approval keeps its reason

    with moto.mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        _bind_all_services(monkeypatch)  # the provider's ledger table is new: an empty journal
        bind_parked_table(PARKED_TABLE, REGION)
        ParkedCheckoutRecord.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        sqs, queue_url = _event_sink()
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = sfn.create_state_machine(
            name="checkout-saga-test",
            definition=render_definition(substitutions()),
            roleArn="arn:aws:iam::123456789012:role/checkout-saga-test",
        )["stateMachineArn"]
        _configure_reconciler(monkeypatch, arn)
        _configure_api(monkeypatch, arn)
        yield SagaRig(sfn, arn, dispatcher, sleeps, queue_url, sqs)
        # An execution still running would write into the next test's fresh moto state.
        for execution in sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")[
            "executions"
        ]:
            wait_for_execution(sfn, execution["executionArn"])
