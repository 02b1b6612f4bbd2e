"""Reading a checkout's trace: finding it, building the tree, naming the failed step."""

from __future__ import annotations

import json
from typing import Any

from orchestration.tracing import build_tree, find_checkout_trace, render

TRACE = "1-00000000-000000000000000000000001"


def step_segment(seg_id: str, parent: str, start: float, step: str, phase: str, outcome: str,
                 error: dict[str, str] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """A function segment and its handler subsegment, sent separately as on Lambda."""
    handler: dict[str, Any] = {
        "id": f"h{seg_id}", "parent_id": seg_id, "trace_id": TRACE, "type": "subsegment",
        "name": "## lambda_handler", "start_time": start, "end_time": start + 0.05,
        "annotations": {"order_id": "ord-1", "step": step, "phase": phase, "outcome": outcome},
        "subsegments": [{"id": f"d{seg_id}", "name": "dynamodb", "start_time": start,
                         "end_time": start + 0.01}],
    }  # fmt: skip
    if error:
        handler["metadata"] = {"payment": {"error": error}}
    return [
        {"id": seg_id, "parent_id": parent, "trace_id": TRACE, "name": f"fn-{step}",
         "start_time": start, "end_time": start + 0.06},
        handler,
    ]  # fmt: skip


DOCUMENTS = [
    {"id": "api", "trace_id": TRACE, "name": "checkout-api/test", "start_time": 1.0,
     "end_time": 1.5},
    *step_segment("s1", "api", 1.1, "create_order", "action", "ok"),
    *step_segment("s2", "api", 1.2, "authorize_payment", "action", "business_error",
                  {"type": "PaymentDeclinedError", "message": "card declined"}),
    *step_segment("s3", "api", 1.3, "void_payment", "compensation", "ok"),
    *step_segment("s4", "api", 1.4, "cancel_order", "compensation", "ok"),
]  # fmt: skip


class FakeXRay:
    def __init__(self) -> None:
        self.summary_calls: list[dict[str, Any]] = []

    def get_trace_summaries(self, **kwargs: Any) -> dict[str, Any]:
        self.summary_calls.append(kwargs)
        return {"TraceSummaries": [{"Id": TRACE}]}

    def batch_get_traces(self, TraceIds: list[str]) -> dict[str, Any]:  # noqa: N803
        documents = [{"Id": d["id"], "Document": json.dumps(d)} for d in DOCUMENTS]
        return {"Traces": [{"Id": TRACE, "Segments": documents}]}


def test_the_tree_nests_steps_under_the_api_call_in_time_order():
    [root] = build_tree(TRACE, DOCUMENTS)

    assert root.name == "checkout-api/test"
    assert [child.name for child in root.children] == [
        "fn-create_order", "fn-authorize_payment", "fn-void_payment", "fn-cancel_order",
    ]  # fmt: skip


def test_on_aws_the_trace_is_found_by_the_order_id_annotation():
    xray = FakeXRay()

    trace = find_checkout_trace(xray, "ord-1")

    assert trace is not None
    assert xray.summary_calls[0]["FilterExpression"] == 'annotation.order_id = "ord-1"'
    assert [s.step for s in trace.steps] == [
        "create_order", "authorize_payment", "void_payment", "cancel_order",
    ]  # fmt: skip


def test_the_rendering_marks_the_failed_step_and_the_compensations():
    trace = find_checkout_trace(FakeXRay(), "ord-1", use_filter=False)
    assert trace is not None

    printed = render(trace)

    assert "✗ action authorize_payment" in printed
    assert "PaymentDeclinedError: card declined   <- the failed step" in printed
    assert "↩ compensation void_payment" in printed
    assert printed.endswith("compensations: void_payment ok, cancel_order ok")


def test_an_order_in_no_trace_is_not_found():
    assert find_checkout_trace(FakeXRay(), "ord-unknown", use_filter=False) is None
