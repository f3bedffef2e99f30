"""Domain errors. Services raise these; the API renders them as ``{"error", "detail"}``."""

from __future__ import annotations

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
