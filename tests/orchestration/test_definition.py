"""Static checks of the one ASL file: valid, routed as designed, and true to the code."""

from __future__ import annotations

from typing import Any

import pytest
from statelint.linter import Linter

from orchestration.definition import (
    REQUIRED_SUBSTITUTIONS,
    DefinitionError,
    load_definition,
    placeholders,
    render_definition,
)
from orchestration.diagram import (
    DIAGRAM_PATH,
    README_PATH,
    readme_with_diagram,
    render_document,
)
from orchestration.spec import SAGA
from shared.errors import BusinessRuleError, InvalidInputError, TransientError, all_error_names

# Error names the platform itself produces (Step Functions and the Lambda integration).
PLATFORM_ERRORS = {
    "States.ALL",
    "States.Timeout",
    "States.TaskFailed",
    "Sandbox.Timedout",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.Unknown",
    "Runtime.ExitError",
    "Runtime.Unknown",
}
# What Lambda reports for a dead or failed execution environment: retried like other transients.
CRASHES = {"Runtime.ExitError", "Runtime.Unknown", "Sandbox.Timedout"}

# Forward steps, in order, and the compensation state of each (None: the pivot has none).
STEPS = [(step.state, step.compensation_state) for step in SAGA.steps]
# up to the pivot: a failure rolls back; after it (the capture): retried, then parked
BEFORE_PIVOT = STEPS[: SAGA.steps.index(SAGA.pivot) + 1]
AFTER_PIVOT = [step.state for step in SAGA.steps[SAGA.steps.index(SAGA.pivot) + 1 :]]
COMPENSATIONS = [compensation for _, compensation in STEPS if compensation]


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return load_definition()


def _states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    states: dict[str, dict[str, Any]] = definition["States"]
    return states


def _follow(definition: dict[str, Any], start: str) -> list[str]:
    """The chain of states reached from `start` through `Next` alone (the no-error path)."""
    chain: list[str] = []
    current: str | None = start
    states = _states(definition)
    while current and current not in chain:
        chain.append(current)
        current = states[current].get("Next") or states[current].get("Default")
    return chain


def test_the_file_is_valid_asl_by_statelint(definition):
    assert Linter.validate(definition) == []


def test_jsonpath_only(definition):
    assert definition["QueryLanguage"] == "JSONPath"
    text = str(definition)
    assert "{%" not in text, "JSONata expressions do not run on the local engine"
    for state in _states(definition).values():
        assert "Arguments" not in state
        assert "Assign" not in state, "variables ($var) do not run on the local engine"


def test_every_error_name_exists_in_code_or_platform(definition):
    known = all_error_names() | PLATFORM_ERRORS
    used = {
        name
        for state in _states(definition).values()
        for rule in state.get("Retry", []) + state.get("Catch", [])
        for name in rule["ErrorEquals"]
    }
    assert used - known == set()


def test_actions_never_retry_business_or_invalid_input_errors(definition):
    never_retried = {
        cls.__name__ for cls in _subclasses(BusinessRuleError) | _subclasses(InvalidInputError)
    }
    for action, _ in STEPS:
        retried = {
            name for rule in _states(definition)[action]["Retry"] for name in rule["ErrorEquals"]
        }
        assert retried & never_retried == set(), action
        assert "States.ALL" not in retried, f"{action} must not retry everything"
        assert {cls.__name__ for cls in _subclasses(TransientError)} <= retried, action


def test_every_action_failure_runs_every_compensation_done_so_far_newest_first(definition):
    states = _states(definition)
    for index, (action, _) in enumerate(BEFORE_PIVOT):
        compensating = states[action]["Catch"][0]
        assert compensating["ResultPath"] == "$.failure", (
            "the failure must not overwrite the payload"
        )
        rollback = [s for s in _follow(definition, compensating["Next"]) if s in COMPENSATIONS]
        # The failed step is compensated too (it may have landed before a timeout), except the
        # pivot, which has no compensation.
        expected = [c for _, c in reversed(STEPS[: index + 1]) if c]
        assert rollback == expected, action
    for action, _ in BEFORE_PIVOT[:-1]:
        assert [c["ErrorEquals"] for c in states[action]["Catch"]] == [["States.ALL"]], action


def test_a_step_after_the_pivot_is_retried_long_then_parked_never_compensated(definition):
    states = _states(definition)
    assert AFTER_PIVOT == ["CapturePayment"]
    for action in AFTER_PIVOT:
        [retry] = states[action]["Retry"]
        assert retry["MaxAttempts"] >= 8, "what must finish retries for minutes"
        [stuck] = states[action]["Catch"]
        assert stuck["ErrorEquals"] == ["States.ALL"]
        assert stuck["ResultPath"] == "$.stuck_failure"
        chain = _follow(definition, stuck["Next"])
        assert "ParkCheckout" in chain
        assert not set(chain) & set(COMPENSATIONS), action


def _lambda_tasks(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: state
        for name, state in _states(definition).items()
        if state.get("Resource") == "arn:aws:states:::lambda:invoke"
    }


def test_every_lambda_task_retries_crashes_and_throttles(definition):
    # A crash (killed worker, out of memory) is the most common fault: every action and every
    # compensation is idempotent, so it is retried, and a compensation parks only after that.
    for name, state in _lambda_tasks(definition).items():
        retried = {n for rule in state["Retry"] for n in rule["ErrorEquals"]}
        assert retried >= CRASHES | {"Lambda.TooManyRequestsException"}, name


def test_every_lambda_task_tells_the_function_which_attempt_it_is(definition):
    # The fault schedule (`transient*3`) counts attempts with the state machine's own counter.
    for name, state in _lambda_tasks(definition).items():
        assert state["Parameters"]["Payload"]["attempt.$"] == "$$.State.RetryCount", name


def test_a_recovery_resumes_in_the_lane_it_names_and_a_new_checkout_runs_forward(definition):
    states = _states(definition)
    assert definition["StartAt"] == "RouteCheckout"
    route = states["RouteCheckout"]
    incomplete, *by_lane = route["Choices"]
    assert incomplete["Next"] == "CheckoutInputIncomplete"
    lanes = {c["StringEquals"]: c["Next"] for c in by_lane}
    assert all(c["Variable"] == "$.recovery.resume" for c in by_lane)
    assert lanes == {
        "compensate": "VoidPayment",
        "confirm": "ConfirmOrder",
        "park": "ParkCheckout",
    }
    assert route["Default"] == "CreateOrder"
    # the compensate lane is the whole rollback, newest first
    assert [s for s in _follow(definition, "VoidPayment") if s in COMPENSATIONS] == [
        c for _, c in reversed(STEPS) if c
    ]


def test_an_input_without_every_default_is_refused_before_anything_runs(definition):
    """Starters merge Saga.defaults into every input; the first state checks each is there."""
    [incomplete] = [c for c in _states(definition)["RouteCheckout"]["Choices"] if "Not" in c]
    checked = [rule["Variable"] for rule in incomplete["Not"]["And"]]
    assert checked == [f"$.{name}" for name in SAGA.defaults]
    assert all(rule["IsPresent"] is True for rule in incomplete["Not"]["And"])
    assert _states(definition)["CheckoutInputIncomplete"]["Type"] == "Fail"


def test_the_pivot_compensates_only_errors_raised_before_it_writes(definition):
    # confirm_order raises these before touching the order; anything else (a timeout, a Lambda
    # fault) may come after the order was confirmed, and voiding a confirmed order is wrong.
    confirm = _states(definition)["ConfirmOrder"]
    compensating, unknown = confirm["Catch"]
    assert set(compensating["ErrorEquals"]) == {
        "InvalidInputError",
        "InjectedFaultError",
        "OrderNotPendingError",
        "AlreadyCompensatedError",
    }
    assert unknown["ErrorEquals"] == ["States.ALL"]
    chain = _follow(definition, unknown["Next"])
    assert "ParkCheckout" in chain
    assert not set(chain) & set(COMPENSATIONS)


def test_forward_path_reaches_confirmation(definition):
    path = _follow(definition, definition["StartAt"])
    assert [s for s in path if s in dict(STEPS)] == [action for action, _ in STEPS]
    assert path[-1] == "CheckoutConfirmed"


def test_a_failing_compensation_parks_the_order_and_ends_failed(definition):
    states = _states(definition)
    for compensation in COMPENSATIONS:
        state = states[compensation]
        [retry] = state["Retry"]
        action_retries = states["CreateOrder"]["Retry"]
        [transient] = [rule for rule in action_retries if "Sandbox.Timedout" in rule["ErrorEquals"]]
        assert retry["MaxAttempts"] > transient["MaxAttempts"]
        assert set(retry["ErrorEquals"]) == {
            name for rule in action_retries for name in rule["ErrorEquals"]
        }
        [catch] = state["Catch"]
        chain = _follow(definition, catch["Next"])
        assert "ParkCheckout" in chain, compensation
        assert "CountParkedCheckout" in chain, compensation
        assert states[chain[-1]]["Type"] == "Fail"


def test_every_ending_publishes_exactly_one_event(definition):
    states = _states(definition)
    # the confirmed and cancelled endings are their event's task (the end of the execution)
    succeeding = [name for name, state in states.items() if state.get("End")]
    assert sorted(succeeding) == ["CheckoutCancelled", "CheckoutConfirmed"]
    assert not [name for name, state in states.items() if state["Type"] == "Succeed"]
    parked = [name for name, s in states.items() if s.get("Error") == "CheckoutParkedForOperator"]
    assert parked == ["CheckoutFailed"]
    publishers = {
        ending: ending if ending in succeeding else next(
            name for name, state in states.items()
            if state.get("Next") == ending
            and state.get("Resource", "").endswith("events:putEvents")
        )
        for ending in [*succeeding, *parked]
    }  # fmt: skip
    assert publishers["CheckoutFailed"] == "PublishCheckoutFailed"
    for ending, publisher in publishers.items():
        assert states[publisher]["Resource"].endswith("events:putEvents")
        [entry] = states[publisher]["Parameters"]["Entries"]
        assert entry["DetailType"] == ending
        assert entry["Detail"]["version"] == "1"
        assert "order_id.$" in entry["Detail"]
        assert "total.$" in entry["Detail"]


def test_every_task_and_the_execution_have_timeouts(definition):
    assert definition["TimeoutSeconds"] >= 900
    for name, state in _states(definition).items():
        if state["Type"] == "Task" and state["Resource"].endswith(".waitForTaskToken"):
            # the customer's time to answer: per stage, from the step's result (the payment
            # service's setting), never unbounded
            assert state["TimeoutSecondsPath"].startswith("$."), name
            assert "TimeoutSeconds" not in state, name
        elif state["Type"] == "Task":
            assert state.get("TimeoutSeconds"), name


def test_placeholders_are_exactly_the_required_substitutions():
    assert placeholders() == REQUIRED_SUBSTITUTIONS


def test_rendering_refuses_missing_or_unknown_substitutions():
    complete = {name: f"value-{name}" for name in REQUIRED_SUBSTITUTIONS}
    assert "${" not in render_definition(complete)
    with pytest.raises(DefinitionError, match="missing"):
        render_definition({k: v for k, v in complete.items() if k != "Stage"})
    with pytest.raises(DefinitionError, match="Bogus"):
        render_definition({**complete, "Bogus": "x"})


def test_committed_diagram_matches_the_definition(definition):
    assert DIAGRAM_PATH.read_text(encoding="utf-8") == render_document(definition), (
        "docs/saga-diagram.md is stale: run `make diagram`"
    )
    readme = README_PATH.read_text(encoding="utf-8")
    assert readme == readme_with_diagram(readme, definition), (
        "the diagram in README.md is stale: run `make diagram`"
    )


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_every_task_state_is_described_for_people(definition):
    from orchestration.steps import ENDINGS, STEPS

    tasks = {name for name, state in _states(definition).items() if state["Type"] == "Task"}
    assert tasks == set(STEPS)
    endings = {n for n, s in _states(definition).items() if s.get("End") or s["Type"] == "Fail"}
    assert endings == {*ENDINGS, "CheckoutInputIncomplete"}
