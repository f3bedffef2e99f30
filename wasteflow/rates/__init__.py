"""The official utilisation rates, by formula (reference/official-rates.md).

Pure computation over a period's data (:class:`PeriodData`, loaded by
``wasteflow.services.period_data``) and the flow graph: numerators are read off the graph,
denominators come from the declarations. A figure whose denominator is missing is "no data",
never a division error or 0 %.

- ``periods``: report periods; ``indicators``: the indicator definitions;
- ``data``: the period's rows and the figures; ``memo``: what engines share in a process;
- ``engine``: regions, the graph's attribution (lots at processors, pools elsewhere), first
  hops, declarations; ``figures``: each indicator's formula.
"""

from wasteflow.rates.data import (
    CoefficientsUsed,
    DeclarationRow,
    Figure,
    FlowRow,
    PeriodData,
    RegionInfo,
    ReturnRow,
    RouteInfo,
    SiteInfo,
    TreatmentRow,
)
from wasteflow.rates.figures import RateEngine
from wasteflow.rates.indicators import INDICATORS, IndicatorDef, check_indicator
from wasteflow.rates.memo import LRUMemo, ValueKey
from wasteflow.rates.periods import Period, parse_period

__all__ = [
    "INDICATORS",
    "CoefficientsUsed",
    "DeclarationRow",
    "Figure",
    "FlowRow",
    "IndicatorDef",
    "LRUMemo",
    "Period",
    "PeriodData",
    "RateEngine",
    "RegionInfo",
    "ReturnRow",
    "RouteInfo",
    "SiteInfo",
    "TreatmentRow",
    "ValueKey",
    "check_indicator",
    "parse_period",
]
