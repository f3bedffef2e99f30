"""A service's refusal in the admin's words (api/web/admin_errors.py): each rule's sentence
exists in both languages and fills only what its pattern captures (a missing placeholder
would be a 500 on a form); the services' own reasons are recognised, codes shown as names;
a reason no rule knows is still shown, never lost."""

from __future__ import annotations

import string
from typing import ClassVar

import pytest

from api.web.admin_errors import RULES, explain, reason_of
from api.web.i18n import Translator
from api.web.messages import MESSAGES
from api.web.messages_admin import ADMIN_MESSAGES


class FakeNames:
    """Names as the pages would give them, for codes the samples use."""

    SITES: ClassVar = {"BM-FARM-1": "白马村种植户", "BM-CP-1": "白马村回收点"}
    ROUNDS: ClassVar = {"RD-BM-1": "白马村收运线路", "RD-BM-2": "白马二组线路"}

    def site(self, code: str) -> str:
        return self.SITES.get(code, code)

    def round(self, code: str) -> str:
        return self.ROUNDS.get(code, code)

    def region(self, code: str) -> str:
        return {"500156101202": "白马镇 白马生成村02"}.get(code, code)

    def organisation(self, code: str) -> str:
        return {"FILM-CO": "武隆再生塑料有限公司"}.get(code, code)

    def route(self, code: str) -> str:
        return {"compost": "堆肥", "recycling": "再生利用"}.get(code, code)

    def coefficient(self, code: str) -> str:
        return {"buckwheat.straw_grain_ratio": "荞麦草谷比"}.get(code, code)

    def indicator(self, key: str) -> str:
        return {"film_recovery": "农膜回收率"}.get(key, key)


ZH, EN, NAMES = Translator("zh"), Translator("en"), FakeNames()


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.key)
def test_each_rule_has_both_sentences_filled_only_from_its_pattern(rule: object) -> None:
    key = rule.key  # type: ignore[attr-defined]
    assert key in ADMIN_MESSAGES, key
    zh, en = MESSAGES[key]
    groups = set(rule.pattern.groupindex)  # type: ignore[attr-defined]
    assert _fields(zh) <= groups and _fields(en) <= groups, key


# (a service's detail, its field, what the Chinese says, what the English says)
SAMPLES = [
    ("sites: a processor acts for disposal, processor sites, not BM-FARM-1 (source)", "sites",
     "处理企业账户只能绑定处置场、处理企业，不能绑定白马村种植户（产生源）。",
     "A processor account acts for disposal site, processor only, not 白马村种植户 (source)."),
    ("sites: an official acts for every site through the role, for none by binding; remove "
     "BM-CP-1", "sites", "官员通过角色即可查看所有站点，不能绑定站点：请去掉白马村回收点。",
     "An official acts for every site through the role, not by binding: remove 白马村回收点."),
    ("rounds: only collectors work collection rounds", "rounds",
     "只有回收员才能绑定收运线路", "Only collectors work collection rounds"),
    ("region_code: BM-FARM-1 is on round RD-BM-1, which does not cover 500156101202; move it "
     "to another round too (round_code)", "region_code",
     "在线路“白马村收运线路”上，该线路不覆盖白马镇 白马生成村02", "choose another round"),
    ("routes: none of compost is a route this site's materials may take; they may go to "
     "recycling", "routes", "所选的处理方式（堆肥）都不适用", "they may go to: 再生利用."),
    ("sources: a source is on one round only: BM-FARM-1 (on RD-BM-2); take it off that round "
     "first", "sources", "白马村种植户（白马二组线路）", "白马村种植户 (白马二组线路)"),
    ("lat/lon: give both coordinates or neither", "lat", "纬度和经度要么都填", "or neither."),
    ("credit_code: 91500156MA60ABCDE1 is already the code of organisation FILM-CO",
     "credit_code", "已属于单位“武隆再生塑料有限公司”", "武隆再生塑料有限公司"),
    ("parameter: WL-2026 has buckwheat.straw_grain_ratio already; edit its value", "parameter",
     "这套系数已有“荞麦草谷比”", "The set has 荞麦草谷比 already"),
    ("year_from: target 3 of film_recovery covers 2021–2025 already; edit it, or start after it "
     "ends", "year_from", "农膜回收率已有 2021–2025 年的目标", "has a target for 2021–2025"),
    ("role: chief is the last active admin", "role", "chief是最后一个启用的管理员", "last active"),
    ("materials: no material named '废膜'", "materials", "没有名为“废膜”的物料。",
     "No material is called '废膜'."),
    ("Value error, the check character does not match: the code is mistyped", "credit_code",
     "校验位不符", "mistyped"),
    ("Input should be greater than 0", "capacity_kg", "必须大于 0。", "Must be more than 0."),
]  # fmt: skip


@pytest.mark.parametrize(("detail", "field", "zh", "en"), SAMPLES)
def test_the_services_reasons_in_both_languages_with_names(
    detail: str, field: str, zh: str, en: str
) -> None:
    reason = reason_of(detail, field)
    said_zh = explain(ZH, reason, NAMES)
    said_en = explain(EN, reason, NAMES)
    assert zh in said_zh, said_zh
    assert en in said_en, said_en
    assert not said_zh.startswith("未能保存") and not said_en.startswith("Not saved")


def test_a_reason_no_rule_knows_is_still_shown() -> None:
    said = explain(ZH, "something new went wrong", NAMES)
    assert said == "未能保存：something new went wrong"
