"""The one place that turns errors into HTTP responses: always JSON, always naming the problem."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orchestration.api.models import ApiError

# Header names as the API documents them (Powertools reports them in lower case).
HEADER_NAMES = {"idempotency-key": "Idempotency-Key"}


def refused_request(issues: Sequence[Any]) -> ApiError:
    """Powertools' (pydantic's) validation errors, as this API answers them.

    A header, path or query parameter refused is a 400 naming it (the Idempotency-Key missing
    has a code of its own); a body refused is a 422 with one detail per field. A response that
    fails its own model is the API's bug: a 500.
    """
    where, *_ = issues[0]["loc"] if issues and issues[0].get("loc") else ("body",)
    if where == "response":
        return ApiError(500, "internal_error", "the API could not build its answer")
    if where in ("header", "path", "query"):
        return _parameter_refused(issues[0])
    details = [
        {"field": ".".join(str(part) for part in issue["loc"][1:]) or "body",
         "problem": issue["msg"]}
        for issue in issues
    ]  # fmt: skip
    fields = ", ".join(detail["field"] for detail in details)
    return ApiError(422, "invalid_request", f"the request body is invalid: {fields}", details)


def _parameter_refused(issue: dict[str, Any]) -> ApiError:
    where, name = issue["loc"][0], str(issue["loc"][1])
    name = HEADER_NAMES.get(name, name)
    if issue.get("type") == "missing":
        code = "idempotency_key_required" if name == "Idempotency-Key" else "missing_parameter"
        return ApiError(400, code, f"the {name} {where} is required")
    value = issue.get("input")
    return ApiError(400, "invalid_parameter", f"{name} is malformed: {value!r} ({issue['msg']})")


def dependency_unavailable(message: str) -> ApiError:
    return ApiError(503, "dependency_unavailable", message)
