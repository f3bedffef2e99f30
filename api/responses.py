"""Responses shared by the API and the dashboard: fast JSON for the big read endpoints
(reports, trends, balances: orjson writes dates, enums and nested dicts directly, where
FastAPI's generic encoder walks every value first, about a tenth of a district report's time),
and the handover register as a download."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

import orjson
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session

from wasteflow import exports
from wasteflow.models import Account
from wasteflow.services import handovers


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


def attachment(filename: str, fallback: str | None = None) -> dict[str, str]:
    """A download's Content-Disposition. A name that is not plain ASCII (a Chinese 报表's)
    goes in RFC 5987's ``filename*=UTF-8''…``, which browsers prefer, after an ASCII
    ``filename`` for the few clients that read only that."""
    if filename.isascii() and fallback is None:
        return {"Content-Disposition": f'attachment; filename="{filename}"'}
    plain = fallback or filename.encode("ascii", "replace").decode().replace("?", "_")
    return {
        "Content-Disposition": (
            f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"
        )
    }


def register_download(
    session: Session,
    account: Account,
    filters: dict[str, Any],
    fmt: str,
    lang: str,
    headers: dict[str, str] | None = None,
) -> Response:
    """The handover register with these filters as CSV (streamed, any size) or XLSX."""
    # Build the query now, so bad filters are an error before any byte is streamed.
    handovers.register_query(session=session, account=account, **filters)
    if fmt == "xlsx":
        # Count first: an export past the cap is refused before a minute of building it.
        count = handovers.count_register(session=session, account=account, **filters)
        if count > exports.XLSX_MAX_ROWS:
            raise exports.too_many_rows(count)
    header = exports.headers(exports.REGISTER_COLUMNS, lang)
    rows = (
        exports.register_row(h.model_dump())
        for h in handovers.iter_register(session=session, account=account, **filters)
    )
    extra = headers or {}
    if fmt == "csv":
        return StreamingResponse(
            exports.csv_chunks(header, rows),
            media_type=exports.CSV_MEDIA,
            headers=attachment("wasteflow-handovers.csv") | extra,
        )
    sheet = "handovers" if lang == "en" else "交接登记"
    return Response(
        exports.xlsx_bytes(header, rows, sheet),
        media_type=exports.XLSX_MEDIA,
        headers=attachment("wasteflow-handovers.xlsx") | extra,
    )
