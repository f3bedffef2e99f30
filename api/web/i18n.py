"""The dashboard's words in Chinese (the default) and English, and how numbers are written.

Every label the pages show goes through :func:`Translator.__call__`, so a page never mixes
languages; names that come from the data (regions, indicators, materials, routes) carry both
spellings and are picked by :meth:`Translator.name`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from api.web.messages import MESSAGES
from wasteflow.rates.compare import over_full

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

STATUS_ICONS = {
    "met": "✓",
    "missed": "✗",
    "no_target": "–",
    "no_data": "…",
    "not_applicable": "∅",
    "check": "!",
}

# Anomaly reasons: one sentence per kind, filled from the anomaly's detail.
_REASONS: dict[str, tuple[str, str]] = {
    "negative_stock": (
        "{site}发出的{material}比它收到和原有的多 {missing}（期初 {opening}，接收 {inflow}，"
        "发出 {outflow}，处理 {treated}）。",
        "{site} sent out {missing} more {material} than it received or held (opening "
        "{opening}, in {inflow}, out {outflow}, treated {treated}).",
    ),
    "over_capacity": (
        "{site}的库存 {closing} 超过其容量 {capacity}。",
        "{site} holds {closing}, above its capacity of {capacity}.",
    ),
    "stale_stock": (
        "{site}有 {held} {material}自 {oldest_day} 起已滞留 {dwell_days} 天，"
        "超过 {max_days} 天的上限。",
        "{held} of {material} has waited at {site} for {dwell_days} days since {oldest_day} "
        "(limit {max_days} days).",
    ),
    "mass_discrepancy": (
        "{site}收到的{material}为 {received}，而申报为 {declared}（相差 {diff_pct}）。",
        "{site} received {received} of {material} against {declared} declared ({diff_pct} "
        "difference).",
    ),
    "refused_load": (
        "{site}{status}一车{material}，拒收 {refused}，原因：{reason}。",
        "{site} {status} a load of {material}: {refused} refused, because: {reason}.",
    ),
    "implausible_source_region": (
        "本村交来的{material} {recovered} 超过村里申报的使用量 {used}；"
        "最大的来源{site}交了 {largest}。",
        "The village's sources handed over {recovered} of {material}, more than the {used} "
        "the village declared it used; the largest, {site}, handed over {largest}.",
    ),
    "implausible_source": (
        "{site}交出的{material} {outflow} 超过其申报可产生量 {potential}（容差 {tolerance}）。",
        "{site} handed over {outflow} of {material}, more than the {potential} its "
        "declarations make plausible (tolerance {tolerance}).",
    ),
    "far_scan": (
        "{site}的标牌在距站点 {distance} 处被扫描（上限 {max_distance}），交接 {handover}。",
        "{site}'s plaque was scanned {distance} from the site (limit {max_distance}), "
        "handover {handover}.",
    ),
    "other": ("{site}：{kind}（{detail}）。", "{site}: {kind} ({detail})."),
}


def pick_lang(value: str | None) -> str | None:
    """``zh`` or ``en`` if the value names one of them, else None."""
    if value is None:
        return None
    value = value.strip().lower()
    return value if value in LANGS else None


def pct(rate: float | None, digits: int = 1) -> str:
    """A ratio as a percentage (0.914982 → ``91.5 %``), or a dash when there is none."""
    if rate is None:
        return "—"
    return f"{rate * 100:.{digits}f} %"


def mass(kg: float | None) -> str:
    """A mass in tonnes from one tonne up (officials read tonnes), else in kilograms."""
    if kg is None:
        return "—"
    if abs(kg) >= 1000:
        return f"{kg / 1000:,.1f} t"
    return f"{kg:,.1f} kg"


def number(value: float | int | None, digits: int = 3) -> str:
    """A plain number with thousands separators (tables, exports shown on screen)."""
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:,.0f}"


def kg(value: float | None, digits: int = 1) -> str:
    """A mass in kilograms with a fixed number of decimals (``1,362.5``), or a dash."""
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


# Where a Chinese header may wrap: before the term its name ends with (农膜|回收率), never
# inside a word. Longest first, so 资源化利用率 wins over 利用率.
_HEADER_TERMS = sorted(
    (
        "综合利用率",
        "资源化利用率",
        "无害化处理率",
        "回收利用率",
        "利用率",
        "回收率",
        "填埋量",
        "拆解量",
        "回收量",
    ),
    key=len,
    reverse=True,
)


def header_words(text: str) -> Markup:
    """A header's text, escaped, with a line-break opportunity (``<wbr>``) between its words:
    the stylesheet forbids breaks inside Chinese words (``word-break: keep-all``), so a long
    indicator name wraps before 综合利用率, not in the middle of 利用."""
    for n in range(1, len(text)):
        if any(text.startswith(term, n) for term in _HEADER_TERMS):
            return Markup("{}<wbr>{}").format(text[:n], text[n:])
    return Markup("{}").format(text)


def points(change: float | None) -> str:
    """A change of rates in percentage points, signed: 0.0123 → ``+1.2``; ``—`` for none."""
    if change is None:
        return "—"
    value = round(change * 100, 1)
    return "±0.0" if value == 0 else f"{value:+.1f}".replace("-", "−")


def relative(change: float | None) -> str:
    """A relative change, signed: 0.123 → ``+12.3 %``; ``—`` for none."""
    if change is None:
        return "—"
    value = round(change * 100, 1)
    return "±0.0 %" if value == 0 else f"{value:+.1f} %".replace("-", "−")


def target_text(target: Mapping[str, Any] | None) -> str | None:
    """``≥ 90 %`` from a target ``{"comparator": ">=", "value": 0.9}``."""
    if not target:
        return None
    sign = {">=": "≥", "<=": "≤"}.get(target["comparator"], target["comparator"])
    return f"{sign} {target['value'] * 100:g} %"


def figure_status(figure: Mapping[str, Any], applies: bool = True) -> str:
    """met, missed, no_target, no_data, not_applicable or check: what the badge of a figure
    says. A rate above 100 % is ``check`` whatever its target: it means wrong records, never
    success. A figure without data says ``not_applicable`` when its indicator does not apply
    to the region (``applies`` False, see :mod:`wasteflow.services.applicability`)."""
    if figure.get("status") == "no_data":
        return "no_data" if applies else "not_applicable"
    if over_full(figure):
        return "check"
    if figure.get("met") is True:
        return "met"
    if figure.get("met") is False:
        return "missed"
    return "no_target"


@dataclass(frozen=True)
class Translator:
    """The words of one language, as templates call them: ``t("nav.home")``."""

    lang: str

    @property
    def other(self) -> str:
        return "en" if self.lang == "zh" else "zh"

    @property
    def html_lang(self) -> str:
        return "zh-CN" if self.lang == "zh" else "en"

    def __call__(self, key: str, **values: Any) -> str:
        pair = MESSAGES.get(key)
        if pair is None:
            # A missing key is a bug, but a page with the key shown beats a 500.
            return key
        text = pair[0] if self.lang == "zh" else pair[1]
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in MESSAGES

    @property
    def colon(self) -> str:
        """``：`` in Chinese, ``: `` in English: a label's colon."""
        return self("common.colon")

    def paren(self, text: str) -> str:
        """Text in brackets: full-width in Chinese."""
        return self("common.paren", text=text)

    def term(self, pair: tuple[str, str] | None) -> str:
        """One of a (Chinese, English) pair, as the data's own names come (an indicator's
        numerator and denominator)."""
        if pair is None:
            return ""
        return pair[0] if self.lang == "zh" else pair[1]

    def name(self, item: Mapping[str, Any] | Any, field: str = "name") -> str:
        """The ``name_zh`` or ``name_en`` of a dict or object (falls back to the other)."""
        get = item.get if isinstance(item, Mapping) else lambda k: getattr(item, k, None)
        first, second = (f"{field}_zh", f"{field}_en")
        if self.lang == "en":
            first, second = second, first
        return str(get(first) or get(second) or get(field) or "")

    def site_name(self, item: Mapping[str, Any] | Any) -> str:
        """A site's name: as registered (Chinese), or its English name on English pages."""
        get = item.get if isinstance(item, Mapping) else lambda k: getattr(item, k, None)
        if self.lang == "en" and get("name_en"):
            return str(get("name_en"))
        return str(get("name") or "")

    def period(self, label: str) -> str:
        """``2025-Q2`` → ``2025年第2季度`` / ``2025 Q2``; ``2025-03`` → ``2025年3月``."""
        label = label.upper()
        if len(label) == 4:
            return f"{label}年" if self.lang == "zh" else label
        year, part = label[:4], label[5:]
        if part.startswith("Q"):
            return f"{year}年第{part[1]}季度" if self.lang == "zh" else f"{year} {part}"
        month = int(part)
        if self.lang == "zh":
            return f"{year}年{month}月"
        return f"{_MONTHS_EN[month - 1]} {year}"

    def coefficient(
        self, code: str, materials: Mapping[str, Mapping[str, Any]] | None = None
    ) -> str:
        """``maize.straw_grain_ratio`` → ``玉米 草谷比`` / ``maize straw-to-grain ratio``: a
        coefficient named for people (the subject is an animal, crop, route or material)."""
        subject, _, parameter = code.rpartition(".")
        if materials and subject in materials:
            who = self.name(materials[subject])
        else:
            who = self(f"subject.{subject}") if self.has(f"subject.{subject}") else subject
        what = self(f"coef.{parameter}") if self.has(f"coef.{parameter}") else parameter
        return f"{who}{what}" if self.lang == "zh" else f"{who} {what}"

    def basis(
        self, figure: Mapping[str, Any], materials: Mapping[str, Mapping[str, Any]] | None = None
    ) -> list[str]:
        """What a figure rests on, in plain words: proportional sharing, estimated masses,
        unverified coefficients, another year's coefficients, a target carried forward."""
        b = dict(figure.get("basis") or {})
        out: list[str] = []
        if b.get("mass_basis") == "solids":
            out.append(self("figbasis.solids"))
        pooled = b.get("pooled_share")
        if pooled:
            out.append(self("figbasis.pooled", share=pct(pooled)))
        elif pooled == 0 and figure.get("numerator_kg"):
            out.append(self("figbasis.direct"))
        if b.get("estimated_share"):
            out.append(self("figbasis.estimated", share=pct(b["estimated_share"])))
        sep = "、" if self.lang == "zh" else ", "
        warned = {w.get("code") for w in b.get("warnings") or ()}
        unverified = [
            c
            for c in b.get("unverified_coefficients") or ()
            # Placeholders get their own sentence below.
            if not (
                "placeholder_coefficients" in warned
                and c.endswith(".household_conversion_coefficient")
            )
        ]
        if unverified:
            names = sep.join(self.coefficient(c, materials) for c in unverified)
            out.append(self("figbasis.unverified", names=names))
        used = b.get("coefficient_set") or {}
        if used.get("fallback"):
            year = (figure.get("period") or {}).get("label", "")[:4]
            out.append(
                self(
                    "figbasis.fallback", year=year, set_year=used.get("year"), code=used.get("code")
                )
            )
        for w in b.get("warnings") or ():
            key = f"figbasis.{w.get('code')}"
            if self.has(key):
                routes = [
                    self(f"subject.{r}") if self.has(f"subject.{r}") else r
                    for r in w.get("routes") or ()
                ]
                out.append(self(key, routes=sep.join(routes)))
            else:
                out.append(str(w.get("text", "")))
        target = figure.get("target") or {}
        if target.get("carried_forward"):
            year_from, year_to = target.get("years") or ("", "")
            out.append(self("figbasis.target_carried", year_from=year_from, year_to=year_to))
        return out

    def status(self, figure: Mapping[str, Any], applies: bool = True) -> dict[str, str]:
        """The badge of a figure: its key (for the CSS class), icon, words and, for a figure
        without data, why (a ``title``)."""
        key = figure_status(figure, applies)
        title = self(f"status.{key}_title") if self.has(f"status.{key}_title") else ""
        return {
            "key": key,
            "icon": STATUS_ICONS[key],
            "text": self(f"status.{key}"),
            "title": title,
        }

    def anomaly_reason(
        self, anomaly: Mapping[str, Any], materials: Mapping[str, Mapping[str, Any]]
    ) -> str:
        """A sentence saying what is wrong, built from the anomaly's kind and detail."""
        kind = str(anomaly.get("kind"))
        d = dict(anomaly.get("detail") or {})
        site = anomaly.get("site_name") or anomaly.get("site") or ""
        if site and anomaly.get("site") and anomaly.get("site_name"):
            site = (
                f"{anomaly['site_name']}（{anomaly['site']}）"
                if self.lang == "zh"
                else (f"{anomaly['site_name']} ({anomaly['site']})")
            )
        mcode = str(anomaly.get("material") or "")
        material = self.name(materials[mcode]) if mcode in materials else mcode
        if not material:
            material = "物料" if self.lang == "zh" else "material"
        values: dict[str, Any] = {"site": site, "material": material}
        key = kind
        if kind == "negative_stock":
            values |= {
                k: mass(d.get(f"{k}_kg"))
                for k in ("missing", "opening", "inflow", "outflow", "treated")
            }
        elif kind == "over_capacity":
            values |= {"closing": mass(d.get("closing_kg")), "capacity": mass(d.get("capacity_kg"))}
        elif kind == "stale_stock":
            values |= {
                "held": mass(d.get("held_kg")),
                "oldest_day": d.get("oldest_day", "?"),
                "dwell_days": d.get("dwell_days", "?"),
                "max_days": d.get("max_dwell_days", "?"),
            }
        elif kind == "mass_discrepancy":
            declared, received = d.get("declared_kg"), d.get("received_kg")
            diff = (
                (received - declared) / declared
                if isinstance(declared, int | float) and declared and received is not None
                else None
            )
            values |= {
                "declared": mass(declared),
                "received": mass(received),
                "diff_pct": "—" if diff is None else f"{diff * 100:+.1f} %",
            }
        elif kind == "refused_load":
            refused_all = d.get("status") == "refused"
            status = (
                ("整车拒收了" if refused_all else "部分拒收了")
                if self.lang == "zh"
                else ("refused" if refused_all else "partly refused")
            )
            values |= {
                "status": status,
                "refused": mass(d.get("refused_kg")),
                "reason": d.get("reason") or "—",
            }
        elif kind == "implausible_source" and "recovered_kg" in d:
            key = "implausible_source_region"
            values |= {
                "recovered": mass(d.get("recovered_kg")),
                "used": mass(d.get("declared_used_kg")),
                "largest": mass(d.get("largest_source_kg")),
            }
        elif kind == "implausible_source":
            tol = d.get("tolerance")
            values |= {
                "outflow": mass(d.get("outflow_kg")),
                "potential": mass(d.get("potential_kg")),
                "tolerance": "—" if tol is None else f"{tol * 100:g} %",
            }
        elif kind == "far_scan":
            distance = d.get("distance_m")
            values |= {
                "distance": "—" if distance is None else f"{distance / 1000:.1f} km",
                "max_distance": f"{d.get('max_distance_m', 0):g} m",
                "handover": d.get("handover", "—"),
            }
        else:
            key = "other"
            label = f"kind.{kind}"
            values |= {
                "kind": self(label) if self.has(label) else kind,
                "detail": ", ".join(f"{k}={v}" for k, v in d.items()),
            }
        zh, en = _REASONS[key]
        return (zh if self.lang == "zh" else en).format(**values)


_MONTHS_EN = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
