"""Shaping records for the admin pages: a site's or an account's fields labelled and written
for people (names for codes, masses in kg or t, local times), and audit events as lists of
"label: before → after", never as raw field dumps."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from api.web import i18n, views
from api.web.admin_forms import Names

# The fields a site's history may name, in the order a change lists them.
SITE_FIELDS = (
    "name",
    "name_en",
    "kind",
    "region_code",
    "organisation_code",
    "lat",
    "lon",
    "address",
    "capacity_kg",
    "materials",
    "routes",
    "round_code",
    "active",
    "reason",
)
ACCOUNT_FIELDS = (
    "username",
    "display_name",
    "role",
    "organisation_code",
    "sites",
    "rounds",
    "active",
    "must_change_password",
    "tokens_revoked",
    "other_tokens_revoked",
)
# Site fields that follow from others or never change: not worth a line of history.
_SKIPPED = {"id", "code", "township_code", "synthetic", "created_at", "last_login_at"}


def field_value(names: Names, name: str, value: Any) -> str:
    """One field's value as a person reads it (the field names a site or an account)."""
    t = names.t
    if value is None or value == [] or value == "":
        return t("common.none")
    if name in ("region_code", "township_code"):
        return names.region(str(value))
    if name == "organisation_code":
        return names.organisation(str(value))
    if name in ("round_code",):
        return names.round(str(value))
    if name == "materials":
        return names.joined("material", value)
    if name == "routes":
        return names.joined("route", value)
    if name == "sites":
        names.load_sites(value)
        return names.joined("site", value)
    if name == "rounds":
        return names.joined("round", value)
    if name == "kind":
        return t(f"site.{value}")
    if name == "role":
        return t(f"role.{value}")
    if name == "capacity_kg":
        return i18n.mass(float(value))
    if name in ("lat", "lon"):
        return f"{float(value):.5f}"
    if name == "active":
        return t("admin.active" if value else "admin.inactive")
    if isinstance(value, bool):
        return t("common.yes" if value else "common.no")
    return str(value)


@dataclass(frozen=True)
class Change:
    label: str
    before: str | None  # None: the record was created with this value
    after: str


def changes(
    names: Names,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    order: Iterable[str],
) -> list[Change]:
    """The fields an event changed, labelled, in ``order`` (then any others)."""
    before = before or {}
    after = after or {}
    keys = [k for k in order if k in after or k in before]
    keys += [k for k in after if k not in keys and k not in _SKIPPED]
    out = []
    for key in keys:
        if key in _SKIPPED:
            continue
        label_key = next((k for k in (f"history.{key}", f"field.{key}") if names.t.has(k)), None)
        label = names.t(label_key) if label_key else key
        new = field_value(names, key, after.get(key))
        if key not in before:
            if after.get(key) in (None, [], ""):
                continue  # a new record's empty fields say nothing
            out.append(Change(label, None, new))
        else:
            out.append(Change(label, field_value(names, key, before.get(key)), new))
    return out


def event_rows(
    names: Names, events: list[dict[str, Any]], order: Iterable[str]
) -> list[dict[str, Any]]:
    """Audit events as the history pages show them: when (local), who, what, the changes."""
    order = list(order)
    rows = []
    for e in events:
        action = str(e["action"])
        key = f"action.{action}"
        rows.append(
            {
                "at": views.local_time(e["at"]),
                "who": e["account"] or names.t("admin.system"),
                "action": names.t(key) if names.t.has(key) else action,
                "changes": changes(names, e["before"], e["after"], order),
            }
        )
    return rows
