"""A handover's audit events as people read them: labelled values, before → after.

The audit log stores each change as the fields it wrote (``declared_mass_g``, ``route_id``,
``status``…), which is what the chain must keep and what no official should have to read.
Here each field gets its name in the reader's language and its value in words: grams as
kilograms with a fixed decimal, times in local time, sites, materials and routes by name,
states and methods in words. Fields that only keep the records honest (a row's seal) are left
out; a loaded data set says so in a sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.web.i18n import Translator
from api.web.views import local_time

# The order fields are listed in; any other field comes after, in the event's own order.
ORDER = (
    "status",
    "from_site",
    "to_site",
    "material",
    "declared_mass_g",
    "units",
    "mass_method",
    "device_time",
    "received_mass_g",
    "refused_mass_g",
    "accepted_mass_g",
    "received_units",
    "refusal_reason",
    "route",
    "flag_discrepancy",
    "flags",
    "channel",
    "returns",
    "corrects",
    "corrected_by",
    "reason",
)
# What keeps the records honest, not what changed.
HIDDEN = frozenset({"seal", "import"})
# References to other handovers: shown (as links) even when before and after agree.
REFERENCES = frozenset({"returns", "corrects", "corrected_by"})
MASSES = frozenset({"declared_mass_g", "received_mass_g", "refused_mass_g", "accepted_mass_g"})


@dataclass(frozen=True)
class Change:
    """One line of an event: a field's name, and its value before (if it had one) and after."""

    key: str
    label: str
    after: str
    before: str | None = None
    link: str | None = None  # a handover code the value names

    @property
    def changed(self) -> bool:
        return self.before is not None


@dataclass(frozen=True)
class Names:
    """What the page knows to name things: sites by code, materials and routes by code, route
    codes by id, and the handover this one returns (its ``returns_id``)."""

    sites: Mapping[str, Any]
    materials: Mapping[str, Mapping[str, Any]]
    routes: Mapping[str, Mapping[str, Any]]
    route_codes: Mapping[int, str]
    returns: str | None = None


def _kg(grams: Any, digits: int = 1) -> str:
    return f"{grams / 1000:,.{digits}f} kg"


def _time(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return local_time(value) if isinstance(value, datetime) else str(value)


def _normalise(values: Mapping[str, Any] | None, names: Names) -> dict[str, Any]:
    """An event's fields under one name each: a route by code (``route_id`` → ``route``), the
    handover returned by code, the corrected handover as ``corrects``."""
    out: dict[str, Any] = {}
    for key, value in (values or {}).items():
        if key == "route_id":
            out["route"] = names.route_codes.get(value) if value is not None else None
        elif key == "returns_id":
            out["returns"] = names.returns if value is not None else None
        elif key == "handover":
            out["corrects"] = value
        else:
            out[key] = value
    return out


class HistoryWords:
    """Labels and values of one reader's language."""

    def __init__(self, t: Translator, names: Names):
        self.t = t
        self.names = names
        self.value_of: dict[str, Callable[[Any], str]] = {
            "status": lambda v: self._word("state", v),
            "mass_method": lambda v: self._word("method", v),
            "channel": lambda v: self._word("channel", v),
            "device_time": _time,
            "from_site": self._site,
            "to_site": self._site,
            "material": self._material,
            "route": self._route,
            "flags": self._flags,
            "flag_discrepancy": lambda v: t("common.yes") if v else t("common.no"),
            "units": self._units,
            "received_units": self._units,
        }

    def _word(self, group: str, value: Any) -> str:
        key = f"{group}.{value}"
        return self.t(key) if self.t.has(key) else str(value)

    def _site(self, code: Any) -> str:
        site = self.names.sites.get(code)
        if site is None:
            return str(code)
        return f"{self.t.site_name(site)}{self.t.paren(str(code))}"

    def _material(self, code: Any) -> str:
        found = self.names.materials.get(code)
        return self.t.name(found) if found else str(code)

    def _route(self, code: Any) -> str:
        found = self.names.routes.get(code)
        return self.t.name(found) if found else str(code)

    def _flags(self, flags: Any) -> str:
        words = [self._word("flag", f) for f in flags or ()]
        return self.t("common.list_sep").join(words) if words else self.t("common.nothing")

    def _units(self, n: Any) -> str:
        return f"{n} {self.t('figure.units')}"

    def label(self, key: str) -> str:
        return self.t(f"hist.{key}") if self.t.has(f"hist.{key}") else key

    def value(self, key: str, value: Any) -> str:
        if value is None or value == "":
            return "—"
        if key in MASSES:
            return _kg(value)
        shown = self.value_of.get(key)
        return shown(value) if shown else str(value)

    def changes(
        self, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
    ) -> list[Change]:
        old, new = _normalise(before, self.names), _normalise(after, self.names)
        keys = [k for k in ORDER if k in old or k in new]
        keys += [k for k in [*new, *old] if k not in keys and k not in HIDDEN]
        out: list[Change] = []
        for key in dict.fromkeys(keys):
            link = None
            if key in REFERENCES:
                link = new.get(key) or old.get(key)
            if key in old and key in new and old[key] != new[key]:
                shown_old, shown_new = self.value(key, old[key]), self.value(key, new[key])
                if key in MASSES and shown_old == shown_new:
                    # Masses that differ by less than the shown decimal: show the grams.
                    shown_old, shown_new = _kg(old[key], 3), _kg(new[key], 3)
                out.append(Change(key, self.label(key), shown_new, shown_old, link))
                continue
            value = new[key] if key in new else old[key]
            if key in old and key in new and key not in REFERENCES:
                continue  # unchanged
            if value is None or value is False or value == [] or value == "":
                continue  # nothing to say
            out.append(Change(key, self.label(key), self.value(key, value), None, link))
        return out

    def note(self, after: Mapping[str, Any] | None) -> str | None:
        """A sentence for an event that changed no field a reader sees (a loaded data set)."""
        label = (after or {}).get("import")
        if label is None:
            return None
        return self.t("hist.loaded", label=self._word("import", label))


def history_rows(
    events: list[Mapping[str, Any]], t: Translator, names: Names
) -> list[dict[str, Any]]:
    """The events of a handover's history, oldest first, each as words."""
    words = HistoryWords(t, names)
    rows = []
    for e in events:
        action = f"action.{e['action']}"
        rows.append(
            {
                "at": local_time(e["at"]),
                "who": e.get("account") or "—",
                "action": t(action) if t.has(action) else str(e["action"]),
                "changes": words.changes(e.get("before"), e.get("after")),
                "note": words.note(e.get("after")),
            }
        )
    return rows
