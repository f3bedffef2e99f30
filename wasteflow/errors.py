"""Domain errors. Services raise these; the API renders them as ``{"error", "detail"}``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class WasteflowError(Exception):
    """Base of every error a client can cause. ``detail`` says what and why, naming the field."""

    status_code = 400
    kind = "BadRequest"

    def __init__(
        self, detail: str, *, field: str | None = None, extra: dict[str, Any] | None = None
    ):
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.kind, "detail": self.detail}
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


class Invalid(WasteflowError):
    status_code = 422
    kind = "Invalid"


class NotFound(WasteflowError):
    status_code = 404
    kind = "NotFound"


class Unauthorized(WasteflowError):
    status_code = 401
    kind = "Unauthorized"


class Forbidden(WasteflowError):
    status_code = 403
    kind = "Forbidden"


class Conflict(WasteflowError):
    status_code = 409
    kind = "Conflict"


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or "body"


def describe_validation_errors(
    errors: Iterable[Mapping[str, Any]],
) -> tuple[str, list[dict[str, str]]]:
    """Turn pydantic's errors into 'field: reason' sentences a person can act on."""
    items = []
    for e in errors:
        field = _field(tuple(e.get("loc", ())))
        msg = e.get("msg", "invalid")
        if e.get("type") == "extra_forbidden":
            msg = "unknown field (check its spelling)"
        elif e.get("type") == "missing":
            msg = "required"
        elif e.get("type") == "json_invalid":
            msg = "the body is not valid JSON"
        items.append({"field": field, "reason": msg})
    return "; ".join(f"{i['field']}: {i['reason']}" for i in items), items
