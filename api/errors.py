"""One error shape for every error: ``{"error": <kind>, "detail": <what and why>}``."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from wasteflow.errors import TooManyRequests, WasteflowError, describe_validation_errors

log = logging.getLogger("wasteflow.api")

_HTTP_KINDS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "TooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(WasteflowError)
    async def _domain(_: Request, exc: WasteflowError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after_s)}
        return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail, items = describe_validation_errors(list(exc.errors()))
        body = {
            "error": "Invalid",
            "detail": detail,
            "field": items[0]["field"] if items else None,
            "errors": items,
        }
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and "parsing the body" in str(exc.detail):
            # A body that is not JSON (or not UTF-8) is invalid input like any other.
            return JSONResponse(
                {"error": "Invalid", "detail": "body: not valid JSON text", "field": "body"},
                status_code=422,
            )
        kind = _HTTP_KINDS.get(exc.status_code, "Error")
        return JSONResponse(
            {"error": kind, "detail": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(sa.exc.IntegrityError)
    async def _clash(request: Request, exc: sa.exc.IntegrityError) -> JSONResponse:
        # A uniqueness the service checked was taken by a request committed in between (the
        # services turn the clashes they expect into a Conflict naming the field; this is
        # the net under the rest). Nothing was written: the transaction rolled back.
        log.warning("integrity clash on %s %s: %s", request.method, request.url.path, exc.orig)
        return JSONResponse(
            {
                "error": "Conflict",
                "detail": "another request changed the same record at the same time; "
                "read it again and retry",
            },
            status_code=409,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, never the client's fault: log it whole, tell the client only that it happened.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"error": "InternalError", "detail": "the server failed; the error was logged"},
            status_code=500,
        )
