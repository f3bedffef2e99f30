"""What every request is checked for before the app reads it (a plain ASGI middleware).

- **Body size.** A body larger than ``max_body_bytes`` (``max_batch_body_bytes`` for an
  outbox sent to ``POST /api/v1/handovers/batch``, ``max_import_body_bytes`` for a ledger
  uploaded to ``POST /api/v1/imports``) is a 413: refused from its
  ``Content-Length`` before a byte of it is read, or as soon as a streamed body passes the
  cap. Nothing larger is ever held in memory.
- **Who writes.** A write to the API (``POST``, ``PUT``, ``PATCH``, ``DELETE`` under
  ``/api/v1``, logging in aside) without credentials is a 401 before its body is read or
  validated: the schema is not described to an anonymous client.
- **NUL characters.** PostgreSQL text cannot hold U+0000, and no field of this product needs
  it: one in the path, a query parameter, a form field or a JSON string is a 422 naming where
  it is, on every database alike.

Everything else is left to the app; what passes is handed on exactly as it came.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from wasteflow.config import get_settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_BATCH_PATH = "/api/v1/handovers/batch"
# Ledgers of history are uploaded here (the API and the dashboard's form).
IMPORT_PATHS = frozenset({"/api/v1/imports", "/dashboard/admin/imports"})
_ANONYMOUS_WRITES = frozenset({"/api/v1/auth/token"})
NUL = "\x00"


class RequestGuard:
    """See the module's text."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = _check_target(scope)
        if refusal is not None:
            await _answer(send, *refusal)
            return
        if scope["method"] not in _WRITES:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", ())}
        path: str = scope["path"]
        if (
            path.startswith("/api/v1/")
            and path not in _ANONYMOUS_WRITES
            and not headers.get("authorization")
        ):
            await _answer(
                send,
                401,
                "Unauthorized",
                "log in first: send 'Authorization: Bearer <token>' (POST /api/v1/auth/token)",
                None,
                [(b"www-authenticate", b"Bearer")],
            )
            return
        settings = get_settings()
        cap = (
            settings.max_batch_body_bytes
            if path == _BATCH_PATH
            else settings.max_import_body_bytes
            if path in IMPORT_PATHS
            else settings.max_body_bytes
        )
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            await _too_large(send, cap)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > cap:
                await _too_large(send, cap)
                return
            chunks.append(body)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        where = _nul_in_body(body, headers.get("content-type", b"").decode("latin-1"))
        if where is not None:
            await _answer(send, *_nul(where))
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _check_target(scope: Scope) -> tuple[int, str, str, str | None] | None:
    """A NUL in the (decoded) path or in a query parameter's name or value."""
    if NUL in scope["path"]:
        return _nul("path")
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if NUL in name or NUL in value:
                return _nul(name.replace(NUL, "") or "query")
    return None


def _nul(where: str) -> tuple[int, str, str, str | None]:
    return (
        422,
        "Invalid",
        f"{where}: contains a NUL character (U+0000), which no text here may hold",
        where,
    )


def _nul_in_body(body: bytes, content_type: str) -> str | None:
    """Where a JSON or form body holds a NUL character, or None."""
    if b"\x00" not in body and b"\\u0000" not in body and b"%00" not in body:
        return None
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            return _nul_in_json(json.loads(body), "")
        except ValueError:
            return None  # not JSON after all: the app says what is wrong with it
    if kind == "application/x-www-form-urlencoded":
        for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
            if NUL in name or NUL in value:
                return name.replace(NUL, "") or "body"
    return None


def _nul_in_json(value: Any, where: str) -> str | None:
    if isinstance(value, str):
        return (where or "body") if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}" if where else str(key)
            if NUL in str(key):
                return inner.replace(NUL, "")
            found = _nul_in_json(item, inner)
            if found is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _nul_in_json(item, f"{where}.{i}" if where else str(i))
            if found is not None:
                return found
    return None


async def _too_large(send: Send, cap: int) -> None:
    await _answer(
        send, 413, "TooLarge", f"body: larger than {cap:,} bytes, the most this accepts", "body"
    )


async def _answer(
    send: Send,
    status: int,
    kind: str,
    detail: str,
    field: str | None,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    payload = json.dumps(
        {"error": kind, "detail": detail, "field": field}, ensure_ascii=False
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *(extra_headers or []),
    ]
    # Closing the connection: the client may still be sending a body that was not read.
    if status == 413:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
