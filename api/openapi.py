"""The OpenAPI document tells the truth about errors: every error is an ``ErrorBody``.

FastAPI documents its own validation body (``HTTPValidationError``) for 422, which this server
never sends, and leaves out the errors that dependencies and the request guard answer. After
the document is generated, one pass here:

- documents 422 as ``ErrorBody`` wherever a request has parameters or a body;
- documents 401 wherever a bearer token is required, 403 where a role or a site binding can
  refuse, 404 wherever the path names a record, 413 for every request with a body, 429 for
  logging in;
- drops FastAPI's validation schemas, now unused.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from wasteflow.schemas import ErrorBody

_REASONS = {
    401: "no bearer token, or an expired or revoked one",
    403: "the account's role or sites do not allow it",
    404: "no such record",
    413: "the request body is larger than the server accepts",
    422: "invalid input: the field and why",
    429: "too many failed logins: see Retry-After",
}
_PUBLIC = {"/healthz", "/api/v1/auth/token", "/openapi.json"}


def install(app: FastAPI) -> None:
    """Generate the document once, corrected (see the module's text)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = corrected(spec)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def corrected(spec: dict[str, Any]) -> dict[str, Any]:
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    body_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in body_schema.pop("$defs", {}).items():
        components.setdefault(name, sub)
    components["ErrorBody"] = body_schema
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    for path, operations in spec.get("paths", {}).items():
        for method, op in operations.items():
            responses = op.setdefault("responses", {})
            has_input = bool(op.get("parameters")) or "requestBody" in op
            public = path in _PUBLIC
            wanted = set()
            if has_input:
                wanted.add(422)
            if not public:
                wanted.update((401, 403))
            if "{" in path:
                wanted.add(404)
            if "requestBody" in op or method in ("post", "put", "patch"):
                wanted.add(413)
            if path == "/api/v1/auth/token":
                wanted.update((401, 429))
            for answer in responses.values():
                for body in answer.get("content", {}).values():
                    schema = body.get("schema", {})
                    if "$ref" in schema and len(schema) > 1:
                        # FastAPI merged its untyped default into a documented model.
                        body["schema"] = {"$ref": schema["$ref"]}
            ok = responses.get("200", {}).get("content", {})
            if len(ok) > 1 and ok.get("application/json", {}).get("schema") == {"type": "string"}:
                del ok["application/json"]  # FastAPI's untyped default beside the real type
            for code, answer in responses.items():
                # Errors are JSON whatever the operation answers when it succeeds.
                if code.startswith("4") and "application/json" not in answer.get("content", {}):
                    answer["content"] = _json(ref)
            declared = responses.get("422", {}).get("content", {}).get("application/json", {})
            if "422" in responses and "ErrorBody" not in str(declared.get("schema", {})):
                responses["422"] = {"description": _REASONS[422], "content": _json(ref)}
            for code in sorted(wanted):
                responses.setdefault(
                    str(code), {"description": _REASONS[code], "content": _json(ref)}
                )
    from api.routes.rates import _SCHEMAS

    for name, schema in _SCHEMAS.items():
        # A model FastAPI documented already (HandoverPublic…) keeps its document. Names are
        # the classes' own: two classes of one name would read as one (the generated client's
        # test catches it).
        components.setdefault(name, schema)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return spec


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}
