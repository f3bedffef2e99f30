"""Fast JSON for the big read endpoints (reports, trends, balances): orjson writes dates,
enums and nested dicts directly, where FastAPI's generic encoder walks every value first
(about a tenth of a district report's time)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from fastapi.responses import Response


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"cannot serialise {type(value).__name__}")


class FastJSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_default, option=orjson.OPT_NON_STR_KEYS)
