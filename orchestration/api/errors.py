"""The one place that turns errors into HTTP responses: always JSON, always naming the problem."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from orchestration.api.models import ApiError


def validation_error(error: ValidationError, where: str = "body") -> ApiError:
    details: list[dict[str, Any]] = [
        {
            "field": ".".join(str(part) for part in issue["loc"]) or where,
            "problem": issue["msg"],
        }
        for issue in error.errors()
    ]
    fields = ", ".join(detail["field"] for detail in details)
    return ApiError(422, "invalid_request", f"the request {where} is invalid: {fields}", details)


def dependency_unavailable(message: str) -> ApiError:
    return ApiError(503, "dependency_unavailable", message)
