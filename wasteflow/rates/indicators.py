"""The indicators officials report, with their official formulas (reference/official-rates.md)."""

from __future__ import annotations

from dataclasses import dataclass

from wasteflow.errors import Invalid


@dataclass(frozen=True)
class IndicatorDef:
    key: str
    name_zh: str
    name_en: str
    formula: str
    formula_text: str
    has_rate: bool = True
    # What the numerator and denominator are called in a report (zh, en): officials read
    # "使用量", never "分母".
    numerator: tuple[str, str] = ("分子", "numerator")
    denominator: tuple[str, str] | None = ("分母", "denominator")


INDICATORS: dict[str, IndicatorDef] = {
    d.key: d
    for d in [
        IndicatorDef(
            "film_recovery",
            "农膜回收率",
            "farm-film recovery rate",
            "农膜回收率 = 回收量 ÷ 使用量",
            "film received at a collection point or beyond, by the region where it arose, "
            "÷ film used (declared)",
            numerator=("回收量", "recovered"),
            denominator=("使用量", "used"),
        ),
        IndicatorDef(
            "manure_utilisation",
            "畜禽粪污综合利用率",
            "livestock-manure utilisation rate",
            "畜禽粪污综合利用率 = 利用量 ÷ 产生量",
            "manure utilised under its official uses (biogas with digestate to fields, "
            "compost, liquid manure to fields, commercial organic fertiliser, fuel, bedding, "
            "substrate), traced to the farm it came from, plus what farms spread on their own "
            "land, ÷ manure produced (head count × kg/head/day × days); all on the solids "
            "basis, slurry counted by the manure it holds",
            numerator=("利用量", "utilised"),
            denominator=("产生量", "produced"),
        ),
        IndicatorDef(
            "straw_utilisation",
            "农作物秸秆综合利用率",
            "crop-straw utilisation rate",
            "秸秆综合利用率 = (利用量 − 调入量 + 调出量) ÷ 可收集量",
            "(straw utilised − brought in + sent out) ÷ collectable straw (output × "
            "straw-to-grain ratio × collectable coefficient); utilised includes straw "
            "ploughed back (collectable × area returned ÷ area sown) and households' own use, "
            "and is broken down by the five uses",
            numerator=("利用量（净）", "utilised (net)"),
            denominator=("可收集量", "collectable"),
        ),
        IndicatorDef(
            "industrial_utilisation",
            "大宗工业固体废物综合利用率",
            "bulk industrial solid-waste utilisation rate",
            "综合利用率 = 综合利用量 ÷ (产生量 + 综合利用往年贮存量)",
            "bulk industrial waste accepted under utilisation routes, traced to the "
            "generator (what it shipped from earlier years' storage included, which it "
            "declares as utilised from storage) ÷ (generated + utilised from earlier storage); "
            "construction waste is not part of it",
            numerator=("综合利用量", "utilised"),
            denominator=("产生量与往年贮存利用量", "generated and drawn from storage"),
        ),
        IndicatorDef(
            "construction_waste_utilisation",
            "建筑垃圾资源化利用率",
            "construction-waste resource-utilisation rate",
            "建筑垃圾资源化利用率 = 资源化利用量 ÷ 产生量",
            "construction waste accepted under utilisation routes, traced to where it arose, "
            "÷ construction waste generated (declared)",
            numerator=("资源化利用量", "utilised"),
            denominator=("产生量", "generated"),
        ),
        IndicatorDef(
            "household_safe_treatment",
            "生活垃圾无害化处理率",
            "household waste safe-treatment rate",
            "无害化处理率 = 无害化处理量 ÷ 产生量",
            "household waste accepted under safe-treatment routes ÷ household waste "
            "collected (standing in for generated)",
            numerator=("无害化处理量", "safely treated"),
            denominator=("清运量", "collected"),
        ),
        IndicatorDef(
            "household_recycling",
            "生活垃圾回收利用率",
            "household waste recycling rate",
            "回收利用率 = 未进入焚烧和填埋的可回收物与厨余垃圾 ÷ 产生量",
            "recyclables and kitchen waste treated by neither incinerator nor landfill ÷ "
            "household waste collected",
            numerator=("回收利用量", "recycled"),
            denominator=("清运量", "collected"),
        ),
        IndicatorDef(
            "household_resource_utilisation",
            "生活垃圾资源化利用率",
            "household waste resource-utilisation rate",
            "资源化利用率 = [再生资源回收量 + Σ(处理量 × 转化系数)] ÷ (再生资源回收量 + 清运量)",
            "[recyclables recovered outside the household-waste stream + household "
            "recyclables utilised + Σ(incinerated / kitchen-treated / composted / digested / "
            "landfilled × the route's conversion coefficient)] ÷ (recyclables recovered "
            "outside the stream + collected); household recyclables sit in 'collected' "
            "only, so nothing is counted twice",
            numerator=("资源化利用量", "utilised"),
            denominator=("再生资源回收量与清运量", "recyclables recovered and collected"),
        ),
        IndicatorDef(
            "household_raw_landfill",
            "原生生活垃圾填埋量",
            "raw household waste landfilled",
            "原生垃圾填埋率 = 原生垃圾填埋量 ÷ 产生量 (目标: 零填埋)",
            "untreated household waste accepted at a landfill ÷ household waste collected; "
            "treatment residues are reported apart",
            numerator=("原生垃圾填埋量", "landfilled raw"),
            denominator=("清运量", "collected"),
        ),
        IndicatorDef(
            "appliance_dismantled",
            "废弃电器电子产品拆解量",
            "waste appliances dismantled",
            "拆解量（台、千克）",
            "units and kg dismantled, by kind, traced to where they were collected",
            has_rate=False,
            numerator=("拆解量", "dismantled"),
            denominator=None,
        ),
        IndicatorDef(
            "recyclables_recovered",
            "再生资源回收量",
            "recyclables recovered",
            "回收量（千克）",
            "kg received at a collection point or beyond, by kind, by the region where it arose",
            has_rate=False,
            numerator=("回收量", "recovered"),
            denominator=None,
        ),
    ]
}


def check_indicator(indicator: str) -> None:
    """Refuse an indicator key that is not one of ``INDICATORS``, naming the choices."""
    if indicator not in INDICATORS:
        raise Invalid(
            f"indicator: unknown indicator {indicator!r}; one of {', '.join(INDICATORS)}",
            field="indicator",
        )
