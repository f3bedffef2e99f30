"""A service's refusal in the admin's words, in Chinese or English, with names for codes.

The services say why they refuse in plain English, ``field: reason`` (the API's 4xx detail).
A form shows the reason next to its field: each rule below recognises one kind of reason and
says it again from ``ADMIN_MESSAGES`` in the page's language, the codes it names turned into
names (a site's, a round's, a region's, a material's…). A reason no rule knows is shown as
the service wrote it, after a sentence in the page's language: never a 500, never lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from api.web.i18n import Translator


class Namer(Protocol):
    """Names of the records a reason names by code (see ``admin_forms.Names``)."""

    def site(self, code: str) -> str: ...
    def round(self, code: str) -> str: ...
    def region(self, code: str) -> str: ...
    def organisation(self, code: str) -> str: ...
    def route(self, code: str) -> str: ...
    def coefficient(self, code: str) -> str: ...
    def indicator(self, key: str) -> str: ...


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    key: str  # ADMIN_MESSAGES key of the sentence; its {groups} are filled in


def _rules(*pairs: tuple[str, str]) -> tuple[Rule, ...]:
    return tuple(Rule(re.compile(p + "$"), k) for p, k in pairs)


RULES = _rules(
    # pydantic's own words, for a field the form could not fill rightly
    (r"required( for a new site)?", "err.required"),
    (r"String should match pattern .*", "err.pattern"),
    (r"String should have at least (?P<n>\d+) characters?", "err.too_short"),
    (r"String should have at most (?P<n>\d+) characters?", "err.too_long"),
    (r"Input should be a valid (number|integer).*", "err.number"),
    (r"Input should be greater than (?P<n>[\d.e+-]+)", "err.gt"),
    (r"Input should be greater than or equal to (?P<n>[\d.e+-]+)", "err.ge"),
    (r"Input should be less than or equal to (?P<n>[\d.e+-]+)", "err.le"),
    (r"Input should be less than (?P<n>[\d.e+-]+)", "err.lt"),
    (r"Value error, a unified social credit code is 18 digits and capital letters",
     "err.credit_form"),
    (r"Value error, the check character does not match: the code is mistyped", "err.credit_check"),
    (r"'.*' is not an? .+; use one of .*", "err.choice"),
    (r"Input should be a valid boolean.*", "err.choice"),
    # sites
    (r"a site '(?P<code>[^']+)' already exists", "err.site_exists"),
    (r"only processor and disposal sites operate treatment routes", "err.routes_not_here"),
    (r"an? (?P<kind>\w+) operates no treatment route; only processor and disposal sites do",
     "err.routes_not_here"),
    (r"an? (?P<kind>\w+) site needs at least one treatment route", "err.routes_needed"),
    (r"give both coordinates or neither", "err.coordinates"),
    (r"no region with code '(?P<code>[^']+)'", "err.no_region"),
    (r"unknown code\(s\) (?P<codes>.+)", "err.unknown_codes"),
    (r"none of (?P<routes>.+) is a route this site's materials may take; they may go to "
     r"(?P<usable>.+)", "err.routes_misfit"),
    (r"an? (?P<kind>\w+) must accept at least one material", "err.materials_needed"),
    (r"(?P<site>\S+) is an? (?P<kind>\w+); only sources are on collection rounds",
     "err.round_only_sources"),
    (r"no collection round '(?P<code>[^']+)'", "err.no_round"),
    (r"(?P<site>\S+) lies outside the villages of (?P<round>\S+)", "err.round_outside"),
    (r"(?P<site>\S+) was just put on another round", "err.round_race"),
    (r"(?P<site>\S+) is on round (?P<round>\S+), which does not cover (?P<region>\S+); move it "
     r"to another round too \(round_code\)", "err.moved_off_round"),
    (r"site (?P<code>\S+) is already (?P<state>active|inactive)", "err.site_state"),
    # accounts
    (r"'(?P<username>[^']+)' is taken", "err.username_taken"),
    (r"an? (?P<role>\w+) acts for every site through the role, for none by binding; remove "
     r"(?P<sites>.+)", "err.no_site_binding"),
    (r"an? (?P<role>\w+) acts for (?P<kinds>.+) sites, not (?P<wrong>.+)", "err.wrong_sites"),
    (r"only collectors work collection rounds.*", "err.rounds_collectors"),
    (r"not on your own account; ask another admin", "err.own_account"),
    (r"not on your own account; change your password with .*", "err.own_password"),
    (r"(?P<username>\S+) is the last active admin", "err.last_admin"),
    (r"account (?P<username>\S+) is already (?P<state>enabled|disabled)", "err.account_state"),
    (r"must differ from the current password", "err.same_password"),
    (r"wrong password", "err.wrong_password"),
    # organisations and rounds
    (r"an organisation '(?P<code>[^']+)' already exists", "err.org_exists"),
    (r"(?P<credit>\S+) is already the code of organisation (?P<org>\S+)", "err.credit_taken"),
    (r"a round '(?P<code>[^']+)' already exists", "err.round_exists"),
    (r"no site '(?P<code>[^']+)'", "err.no_site"),
    (r"(?P<site>\S+) is an? (?P<kind>\w+); a round's loads go to a collection point or transfer "
     r"station", "err.round_point"),
    (r"unknown (region|site) code\(s\) (?P<codes>.+)", "err.unknown_codes"),
    (r"(?P<codes>.+) is the whole district; name villages or townships", "err.round_district"),
    (r"(?P<site>\S+) lies outside the round's villages", "err.source_outside"),
    (r"a source is on one round only: (?P<on>.+); take it off that round first",
     "err.source_elsewhere"),
    (r"one of .+ was just put on another round", "err.round_race_any"),
    (r"the round's sources (?P<sites>.+) lie outside them; take them off the round or keep "
     r"their villages", "err.villages_drop_sources"),
    # coefficients and targets
    (r"(?P<region>\S+) has a coefficient set for (?P<year>\d+) already: (?P<code>\S+); edit its "
     r"values", "err.set_exists"),
    (r"a coefficient set '(?P<code>[^']+)' already exists", "err.set_code_exists"),
    (r"no coefficient set covers (?P<region>\S+) to copy from", "err.no_set_to_copy"),
    (r"a new value needs its source and whether it is verified.*", "err.value_needs_source"),
    (r"a verified value names its own source.*", "err.verified_needs_source"),
    (r"(?P<set>\S+) has (?P<coef>\S+) already; edit its value", "err.coefficient_exists"),
    (r"target (?P<id>\d+) of (?P<indicator>\S+) covers (?P<a>\d+)–(?P<b>\d+) already; edit it, "
     r"or start after it ends", "err.target_overlap"),
    (r"must not be before year_from", "err.years_order"),
    # the site upload
    (r"'(?P<value>.+)' is not a site kind; use one of .+", "err.upload_kind"),
    (r"no (?P<what>village or township|organisation|collection round|material|treatment route) "
     r"named '(?P<value>.+)'", "err.upload_no_name"),
    (r"'(?P<value>.+)' names several (?P<what>.+)s \((?P<codes>.+)\); use its code",
     "err.upload_ambiguous"),
    (r"(?P<code>\S+) is on row (?P<row>\d+) already", "err.upload_duplicate"),
    (r"a site's kind never changes \((?P<code>\S+) is an? (?P<kind>.+)\)", "err.upload_kind_fixed"),
    (r"unknown column\(s\) (?P<columns>.+); use the template's headers", "err.upload_columns"),
    (r"the column (?P<column>\S+) is missing", "err.upload_no_code"),
    (r"the CSV is neither UTF-8 nor GB18030 text", "err.upload_encoding"),
    (r"the CSV holds NUL characters: it is not text", "err.upload_encoding"),
    (r"not a readable XLSX workbook", "err.upload_xlsx"),
    (r"the file is empty", "err.upload_empty"),
    (r"the file has no header row", "err.upload_empty"),
    (r"at most (?P<n>\d+) rows per upload", "err.upload_too_many"),
    (r"(?P<n>\d+) row\(s\) have errors; nothing was written", "err.upload_has_errors"),
)  # fmt: skip

_PAIR = re.compile(r"(\S+) \((?:on )?([^)]+)\)")
_UPLOAD_NOUNS = {
    "village or township": "noun.region",
    "organisation": "noun.organisation",
    "collection round": "noun.round",
    "material": "noun.material",
    "treatment route": "noun.route",
}


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _filled(t: Translator, names: Namer, group: dict[str, str]) -> dict[str, Any]:
    """The rule's groups made readable: codes as names, kinds and roles in words."""
    sep = "、" if t.lang == "zh" else ", "

    def listed(fn: Callable[[str], str], text: str) -> str:
        return sep.join(fn(c) for c in _split(text))

    def kind(value: str) -> str:
        key = f"site.{value.replace(' ', '_')}"
        return t(key) if t.has(key) else value

    out: dict[str, Any] = dict(group)
    for name, value in group.items():
        if value is None:
            continue
        if name == "site":
            out[name] = names.site(value)
        elif name == "sites":
            out[name] = listed(names.site, value)
        elif name == "round":
            out[name] = names.round(value)
        elif name == "region":
            out[name] = names.region(value)
        elif name == "org":
            out[name] = names.organisation(value)
        elif name in ("routes", "usable"):
            out[name] = listed(names.route, value)
        elif name == "kind":
            out[name] = kind(value)
        elif name == "kinds":
            out[name] = listed(kind, value)
        elif name == "role":
            out[name] = t(f"role.{value}")
        elif name == "coef":
            out[name] = names.coefficient(value)
        elif name == "indicator":
            out[name] = names.indicator(value)
        elif name == "what":
            out[name] = t(_UPLOAD_NOUNS.get(value, "noun.record"))
        elif name in ("wrong", "on"):
            pairs = _PAIR.findall(value)
            other = (lambda v: kind(v)) if name == "wrong" else names.round
            out[name] = sep.join(
                t("err.pair", name=names.site(code), what=other(v)) for code, v in pairs
            )
        elif name == "state":
            out[name] = t(f"err.state_{value}")
    return out


def reason_of(detail: str, field: str | None) -> str:
    """The reason of a ``field: reason`` detail (the whole detail if it has no prefix)."""
    for prefix in (f"{field}: " if field else None, "lat/lon: "):
        if prefix and detail.startswith(prefix):
            return detail[len(prefix) :]
    return detail


def explain(t: Translator, reason: str, names: Namer, hint: str | None = None) -> str:
    """A service's (or pydantic's) reason in the page's language, with names for codes;
    ``hint`` says what a well-formed value looks like (for a pattern refused)."""
    for rule in RULES:
        m = rule.pattern.match(reason)
        if m:
            values = _filled(t, names, m.groupdict())
            text = t(rule.key, **values)
            return f"{text} {hint}" if hint and rule.key == "err.pattern" else text
    return t("err.other", reason=reason)


def explain_all(
    t: Translator, items: Iterable[tuple[str, str]], names: Namer
) -> list[tuple[str, str]]:
    return [(field, explain(t, reason, names)) for field, reason in items]
