"""Domain errors. Services raise these; the API renders them as ``{"error", "detail"}``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import lru_cache
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


class TooManyRequests(WasteflowError):
    """Refused for now: ``retry_after_s`` says when to try again (the ``Retry-After`` header)."""

    status_code = 429
    kind = "TooManyRequests"

    def __init__(self, detail: str, *, retry_after_s: int, field: str | None = None):
        super().__init__(detail, field=field, extra={"retry_after_s": retry_after_s})
        self.retry_after_s = retry_after_s


class Forbidden(WasteflowError):
    status_code = 403
    kind = "Forbidden"


class Conflict(WasteflowError):
    status_code = 409
    kind = "Conflict"


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or "body"


# Pydantic quotes each allowed value ('a', 'b' or 'c'); a union's expected tags come as enum
# reprs (<Kind.a: 'a'>) that hold the value quoted too.
_QUOTED = re.compile(r"'([^']*)'")
_CHOICE_ERRORS = ("enum", "literal_error", "union_tag_invalid")


@lru_cache(maxsize=1)
def _enum_nouns() -> dict[frozenset[str], str]:
    """The set of values of each enumeration of the API → what it is called in plain words
    (``DeclarationKind`` → "declaration kind"), so an error can say what the field holds."""
    from wasteflow import types  # here: errors is imported by everything, types by less

    nouns = {}
    for obj in vars(types).values():
        if isinstance(obj, type) and issubclass(obj, StrEnum) and obj is not StrEnum:
            words = re.sub(r"(?<!^)(?=[A-Z])", " ", obj.__name__).lower()
            nouns[frozenset(m.value for m in obj)] = words
    return nouns


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _not_allowed(e: Mapping[str, Any], loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], str]:
    """'<value> is not a <what>; use one of <values>' for a value outside a fixed set."""
    ctx = e.get("ctx") or {}
    allowed = _QUOTED.findall(str(ctx.get("expected") or ctx.get("expected_tags") or ""))
    value = e.get("input")
    if e.get("type") == "union_tag_invalid":
        # The error sits on the object; the client got the discriminator field wrong.
        name = _QUOTED.findall(str(ctx.get("discriminator", "")))
        tag = name[0] if name else "kind"
        if not loc or loc[-1] != tag:
            loc = (*loc, tag)
        value = value.get(tag, ctx.get("tag")) if isinstance(value, Mapping) else ctx.get("tag")
    noun = _enum_nouns().get(frozenset(allowed))
    if noun is None:
        names = [str(p) for p in loc if not isinstance(p, int)]
        noun = "allowed " + (names[-1].replace("_", " ") if names else "value")
    article = "an" if noun[0] in "aeiou" else "a"
    msg = f"{_shown(value)} is not {article} {noun}"
    if allowed:
        msg += "; use one of " + ", ".join(allowed)
    return loc, msg


def describe_validation_errors(
    errors: Iterable[Mapping[str, Any]],
) -> tuple[str, list[dict[str, str]]]:
    """Turn pydantic's errors into 'field: reason' sentences a person can act on.

    A value outside a fixed set (an enum, a literal, a union's tag) is named with what the
    field holds and the values allowed, in plain words: never pydantic's wording or a Python
    repr such as ``<DeclarationKind.film_used: 'film_used'>``.
    """
    items = []
    for e in errors:
        loc = tuple(e.get("loc", ()))
        kind = e.get("type")
        msg = e.get("msg", "invalid")
        if kind in _CHOICE_ERRORS:
            loc, msg = _not_allowed(e, loc)
        elif kind == "extra_forbidden":
            msg = "unknown field (check its spelling)"
        elif kind == "missing":
            allowed = _QUOTED.findall(str((e.get("ctx") or {}).get("expected", "")))
            msg = "required" + ("; use one of " + ", ".join(allowed) if allowed else "")
        elif kind == "union_tag_not_found":
            name = _QUOTED.findall(str((e.get("ctx") or {}).get("discriminator", "")))
            loc, msg = (*loc, *name[:1]), "required"
        elif kind in ("model_attributes_type", "model_type", "dict_type"):
            msg = "must be a JSON object ({…})"
        elif kind == "json_invalid":
            msg = "the body is not valid JSON"
        items.append({"field": _field(loc), "reason": msg})
    return "; ".join(f"{i['field']}: {i['reason']}" for i in items), items
