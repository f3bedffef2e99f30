"""The demo district's fixed tables: its plants, factories, crops and herds, the accounts a
visitor logs in with, and the anomalies planted on purpose. Names end in （示例）/ "(demo)"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from wasteflow.types import Role, SiteKind

DEFAULT_SEED = 2025
DEMO_PASSWORD = "wulong-demo-2025"

PLANTED = {
    "refused_load": "a film load refused at the film recycler (soil-contaminated), sent back",
    "negative_stock": "a collection point that ships more film than it ever received",
    "far_scan": "a plaque scanned about 25 km from its site",
    "mass_discrepancy": "a transfer-station load received 19 % lighter than declared",
    "partial_refusal": "a straw load partly refused as mouldy",
    "implausible_source": "a household cluster handing over far more film than its village uses",
}


@dataclass
class DemoAccount:
    username: str
    role: Role
    display_name: str
    note: str


@dataclass
class DemoReport:
    seed: int
    years: list[int]
    first_day: date
    last_day: date
    sites: int = 0
    accounts: int = 0
    declarations: int = 0
    handovers: int = 0
    seconds: float = 0.0
    login_accounts: list[DemoAccount] = field(default_factory=list)
    townships_missing: dict[str, list[str]] = field(default_factory=dict)

    @property
    def year(self) -> int:
        """The latest year the demo covers (the dashboard's default period)."""
        return self.years[-1]


# The fractions households sort their waste into (hh.residue is what treatment leaves, and
# arises only at plants).
HOUSEHOLD_FRACTIONS = ["hh.recyclable", "hh.kitchen", "hh.hazardous", "hh.other"]

# --- processors of the district (code, kind, name, township, materials, routes) -----------
# Every route a processor names at a receipt (``days.route_for``) must be one its
# material may take (data/materials.json) and one the processor operates (below).
PROCESSORS: list[tuple[str, SiteKind, str, str, list[str], list[str]]] = [
    (
        "WL-PR-FILM",
        SiteKind.processor,
        "武隆区废旧农膜再生利用中心（示例）",
        "500156101",
        ["film.agri"],
        ["recycling"],
    ),
    (
        "WL-PR-ORGF",
        SiteKind.processor,
        "武隆区有机肥厂（示例）",
        "500156104",
        ["manure.*", "straw.*"],
        ["organic_fertiliser", "compost"],
    ),
    (
        "WL-PR-BIOG",
        SiteKind.processor,
        "武隆区规模化沼气站（示例）",
        "500156107",
        ["manure.*"],
        ["biogas"],
    ),
    (
        "WL-PR-STRW",
        SiteKind.processor,
        "武隆区秸秆综合利用企业（示例）",
        "500156108",
        ["straw.*"],
        ["feed", "fuel", "substrate", "raw_material"],
    ),
    (
        "WL-PR-INCN",
        SiteKind.processor,
        "武隆区生活垃圾焚烧发电厂（示例）",
        "500156102",
        ["hh.other", "hh.kitchen"],
        ["incineration_energy"],
    ),
    (
        "WL-PR-KTCH",
        SiteKind.processor,
        "武隆区餐厨垃圾处理厂（示例）",
        "500156002",
        ["hh.kitchen"],
        ["kitchen_treatment"],
    ),
    (
        "WL-DS-LNDF",
        SiteKind.disposal,
        "武隆区生活垃圾卫生填埋场（示例）",
        "500156105",
        ["hh.other", "hh.kitchen", "hh.residue", "isw.*"],
        ["landfill", "residue_landfill"],
    ),
    (
        "WL-PR-WEEE",
        SiteKind.processor,
        "废弃电器电子产品拆解企业（示例）",
        "500156004",
        ["appliance.*"],
        ["dismantling"],
    ),
    (
        "WL-PR-RECY",
        SiteKind.processor,
        "武隆区再生资源分拣中心（示例）",
        "500156001",
        ["rec.*", "hh.recyclable"],
        ["recycling"],
    ),
    (
        "WL-PR-HAZW",
        SiteKind.processor,
        "危险废物集中处置中心（示例）",
        "500156105",
        ["hh.hazardous"],
        ["hazardous_treatment"],
    ),
    (
        "WL-PR-CEMT",
        SiteKind.processor,
        "武隆区水泥厂（示例）",
        "500156102",
        [
            "isw.fly_ash",
            "isw.coal_gangue",
            "isw.byproduct_gypsum",
            "isw.smelting_slag",
            "isw.tailings",
        ],
        ["building_material", "raw_material"],
    ),
    (
        "WL-PR-CDWR",
        SiteKind.processor,
        "建筑垃圾资源化利用厂（示例）",
        "500156003",
        ["isw.construction_waste"],
        ["building_material"],
    ),
    (
        "WL-DS-STOR",
        SiteKind.disposal,
        "一般工业固废贮存场（示例）",
        "500156104",
        ["isw.*"],
        ["storage", "landfill"],
    ),
]

# Industrial sources: (code, name, township, {material: tonnes a year}, share utilised)
FACTORIES: list[tuple[str, str, str, dict[str, float], float]] = [
    (
        "WL-IN-PWR1",
        "江口燃煤电厂（示例）",
        "500156102",
        {"isw.fly_ash": 18_000, "isw.byproduct_gypsum": 4_000},
        0.86,
    ),
    ("WL-IN-MIN1", "白马煤矿（示例）", "500156101", {"isw.coal_gangue": 12_000}, 0.62),
    ("WL-IN-MIN2", "火炉煤矿（示例）", "500156104", {"isw.coal_gangue": 9_000}, 0.55),
    ("WL-IN-SMLT", "长坝冶炼厂（示例）", "500156107", {"isw.smelting_slag": 6_000}, 0.78),
    ("WL-IN-TAIL", "和顺选矿厂（示例）", "500156111", {"isw.tailings": 3_000}, 0.35),
    ("WL-IN-CON1", "芙蓉城区建设工地（示例）", "500156002", {"isw.construction_waste": 9_000}, 0.8),
    (
        "WL-IN-CON2",
        "仙女山旅游区建设工地（示例）",
        "500156003",
        {"isw.construction_waste": 6_000},
        0.74,
    ),
]

ENGLISH_NAMES = {
    "WL-PR-FILM": "Wulong farm-film recycling centre (demo)",
    "WL-PR-ORGF": "Wulong organic fertiliser plant (demo)",
    "WL-PR-BIOG": "Wulong biogas station (demo)",
    "WL-PR-STRW": "Wulong straw utilisation company (demo)",
    "WL-PR-INCN": "Wulong waste-to-energy incinerator (demo)",
    "WL-PR-KTCH": "Wulong kitchen-waste plant (demo)",
    "WL-DS-LNDF": "Wulong sanitary landfill (demo)",
    "WL-PR-WEEE": "Appliance dismantling company (demo)",
    "WL-PR-RECY": "Wulong recyclables sorting centre (demo)",
    "WL-PR-HAZW": "Hazardous-waste treatment centre (demo)",
    "WL-PR-CEMT": "Wulong cement plant (demo)",
    "WL-PR-CDWR": "Construction-waste recycling plant (demo)",
    "WL-DS-STOR": "General industrial solid-waste storage yard (demo)",
    "WL-IN-PWR1": "Jiangkou coal-fired power plant (demo)",
    "WL-IN-MIN1": "Baima coal mine (demo)",
    "WL-IN-MIN2": "Huolu coal mine (demo)",
    "WL-IN-SMLT": "Changba smelter (demo)",
    "WL-IN-TAIL": "Heshun ore dressing plant (demo)",
    "WL-IN-CON1": "Furong town construction sites (demo)",
    "WL-IN-CON2": "Xiannüshan resort construction sites (demo)",
}

CROPS = {  # crop: (grain t/mu, harvest months)
    "maize": (0.38, (8, 9)),
    "rice": (0.45, (9,)),
    "potato": (1.2, (6, 7)),
    "sweet_potato": (1.3, (10,)),
    "rapeseed": (0.14, (5,)),
    "soybean": (0.13, (9, 10)),
}
LIVESTOCK = {  # farm type: [(animal, heads low, heads high)]
    "pig": [("pig_fattening", 300, 3000), ("sow", 20, 200)],
    "beef": [("beef_cattle", 20, 150)],
    "layer": [("laying_hen", 2000, 20000)],
    "broiler": [("broiler", 5000, 40000)],
    "sheep": [("sheep_goat", 60, 400)],
}
ANIMAL_MATERIAL = {
    "pig_fattening": "manure.pig",
    "sow": "manure.pig",
    "beef_cattle": "manure.beef_cattle",
    "laying_hen": "manure.layer",
    "broiler": "manure.broiler",
    "sheep_goat": "manure.sheep_goat",
}


def slug(name_en: str) -> str:
    """``Baima Town`` → ``baima``: the part of a demo account's name that names its township."""
    return name_en.split(" ")[0].lower().replace("ü", "u")
