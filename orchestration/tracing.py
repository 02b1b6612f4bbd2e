"""Find a checkout's X-Ray trace and read it as steps and compensations.

Every saga step is a Lambda invocation whose `## lambda_handler` subsegment carries the
annotations `order_id`, `step`, `phase` and `outcome` (shared/saga_task.py), and the error as
metadata. On AWS the trace is found with the filter expression `annotation.order_id = "..."`;
locally (moto keeps no annotation index) by reading the recent traces and matching the same
annotation. Either way the same documents are read back and drawn the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

HANDLER_SUBSEGMENT = "## lambda_handler"


@dataclass
class Span:
    """One segment or subsegment of a trace, with its children."""

    document: dict[str, Any]
    children: list[Span] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.document["id"])

    @property
    def name(self) -> str:
        return str(self.document.get("name", "?"))

    @property
    def start(self) -> float:
        return float(self.document.get("start_time", 0))

    @property
    def duration_ms(self) -> int | None:
        end = self.document.get("end_time")
        return None if end is None else int((float(end) - self.start) * 1000)

    @property
    def annotations(self) -> dict[str, Any]:
        annotations: dict[str, Any] = self.document.get("annotations") or {}
        return annotations

    def walk(self) -> Iterator[Span]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class StepSpan:
    """A saga step or compensation as the trace saw it."""

    function: str
    step: str
    phase: str
    outcome: str
    start: float
    duration_ms: int | None
    error: str | None


@dataclass
class CheckoutTrace:
    order_id: str
    trace_id: str
    roots: list[Span]
    documents: list[dict[str, Any]]

    @property
    def steps(self) -> list[StepSpan]:
        found = []
        for root in self.roots:
            for span in root.walk():
                handler = next((c for c in span.children if c.name == HANDLER_SUBSEGMENT), None)
                if handler is None or "step" not in handler.annotations:
                    continue
                found.append(
                    StepSpan(
                        function=span.name,
                        step=str(handler.annotations["step"]),
                        phase=str(handler.annotations.get("phase", "?")),
                        outcome=str(handler.annotations.get("outcome", "?")),
                        start=span.start,
                        duration_ms=span.duration_ms,
                        error=_error_of(span, handler),
                    )
                )
        return sorted(found, key=lambda step: step.start)


def _error_of(segment: Span, handler: Span) -> str | None:
    for namespace in (handler.document.get("metadata") or {}).values():
        error = namespace.get("error") if isinstance(namespace, dict) else None
        if isinstance(error, dict):
            return f"{error.get('type')}: {error.get('message')}"
    for exception in (segment.document.get("cause") or {}).get("exceptions", []):
        return f"{exception.get('type')}: {exception.get('message')}"
    return None


def _flatten(
    document: dict[str, Any], trace_id: str, parent: str | None
) -> Iterator[dict[str, Any]]:
    """Segments embed subsegments; the Lambda SDK also sends them one by one. Read both."""
    flat = {k: v for k, v in document.items() if k != "subsegments"}
    flat.setdefault("trace_id", trace_id)
    if parent is not None:
        flat.setdefault("parent_id", parent)
    yield flat
    for child in document.get("subsegments", []):
        yield from _flatten(child, trace_id, document["id"])


def build_tree(trace_id: str, documents: list[dict[str, Any]]) -> list[Span]:
    spans: dict[str, Span] = {}
    for document in documents:
        for flat in _flatten(document, trace_id, None):
            spans[flat["id"]] = Span(flat)
    roots: list[Span] = []
    for span in spans.values():
        parent = spans.get(span.document.get("parent_id") or "")
        (parent.children if parent else roots).append(span)
    for span in spans.values():
        span.children.sort(key=lambda child: child.start)
    return sorted(roots, key=lambda root: root.start)


def _mentions_order(documents: list[dict[str, Any]], order_id: str) -> bool:
    for document in documents:
        for flat in _flatten(document, "", None):
            if (flat.get("annotations") or {}).get("order_id") == order_id:
                return True
    return False


def _documents(trace: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(segment["Document"]) for segment in trace["Segments"]]


def find_checkout_traces(
    xray: Any, order_id: str, *, since: timedelta = timedelta(hours=6), use_filter: bool = True
) -> list[CheckoutTrace]:
    """Every trace holding the order's steps, oldest first: the saga's, and on AWS one per
    recovery the reconciler started. `use_filter=False` scans (local cloud)."""
    end = datetime.now(UTC) + timedelta(minutes=1)
    start = end - since
    kwargs: dict[str, Any] = {"StartTime": start, "EndTime": end}
    if use_filter:
        kwargs["FilterExpression"] = f'annotation.order_id = "{order_id}"'
    trace_ids: list[str] = []
    while True:
        page = xray.get_trace_summaries(**kwargs)
        trace_ids += [summary["Id"] for summary in page.get("TraceSummaries", [])]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    found = []
    for offset in range(0, len(trace_ids), 5):  # BatchGetTraces takes at most 5 ids
        for trace in xray.batch_get_traces(TraceIds=trace_ids[offset : offset + 5])["Traces"]:
            documents = _documents(trace)
            if _mentions_order(documents, order_id):
                roots = build_tree(trace["Id"], documents)
                found.append(CheckoutTrace(order_id, trace["Id"], roots, documents))
    # A status poll's trace mentions the order too; keep the ones that hold saga steps.
    with_steps = [trace for trace in found if trace.steps] or found[:1]
    return sorted(with_steps, key=lambda trace: min((r.start for r in trace.roots), default=0.0))


def find_checkout_trace(
    xray: Any, order_id: str, *, since: timedelta = timedelta(hours=6), use_filter: bool = True
) -> CheckoutTrace | None:
    """The first trace holding the order's steps, or None."""
    traces = find_checkout_traces(xray, order_id, since=since, use_filter=use_filter)
    return traces[0] if traces else None


_MARKS = {"action": "→", "compensation": "↩"}


def render(trace: CheckoutTrace) -> str:
    """The trace as a tree a person reads: every step and compensation, the failure marked."""
    steps = trace.steps
    failed = next((s for s in steps if s.phase == "action" and s.outcome != "ok"), None)
    lines = [f"trace {trace.trace_id}  order {trace.order_id}", ""]

    def line(span: Span, depth: int) -> None:
        handler = next((c for c in span.children if c.name == HANDLER_SUBSEGMENT), None)
        notes = handler.annotations if handler else {}
        label = span.name
        if "step" in notes:
            mark = _MARKS.get(str(notes.get("phase")), "•")
            if notes.get("outcome") != "ok":
                mark = "✗"
            label = (
                f"{mark} {notes.get('phase')} {notes['step']} ({span.name}) {notes.get('outcome')}"
            )
            step = next(
                (s for s in steps if s.start == span.start and s.function == span.name), None
            )
            if step is not None and step.error:
                label += f"  {step.error}"
            if failed is not None and step == failed:
                label += "   <- the failed step"
        duration = f"{span.duration_ms} ms" if span.duration_ms is not None else "open"
        lines.append(f"{'   ' * depth}{label}  [{duration}]")
        children = handler.children if handler else span.children
        others = [c for c in span.children if c is not handler] if handler else []
        for child in [*others, *children]:
            if child.name in {"dynamodb", "DynamoDB"}:
                continue  # counted below, to keep the tree readable
            line(child, depth + 1)
        calls = [c for c in children if c.name in {"dynamodb", "DynamoDB"}]
        if calls:
            total = sum(c.duration_ms or 0 for c in calls)
            lines.append(f"{'   ' * (depth + 1)}dynamodb x{len(calls)}  [{total} ms]")

    for root in trace.roots:
        line(root, 0)
    compensations = [s for s in steps if s.phase == "compensation"]
    lines += [
        "",
        f"failed step: {failed.step} ({failed.error})" if failed else "failed step: none",
        "compensations: " + (", ".join(f"{s.step} {s.outcome}" for s in compensations) or "none"),
    ]
    return "\n".join(lines)
