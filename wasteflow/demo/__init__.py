"""The demo district: synthetic years of 武隆区, generated from a fixed seed.

Everything here is invented and labelled so: ``meta.dataset`` says ``synthetic``, every site
and organisation has ``synthetic=true``, every handover has ``channel='demo-synthetic'`` and
every declaration ``synthetic=true``; names carry （示例）/ "(demo)".

By default the demo holds the last full year and the current year up to yesterday, so what a
visitor records today lands in a year whose figures the demo already fills
(:mod:`wasteflow.demo.build`). The generator lays the district out once
(:mod:`~wasteflow.demo.district`), plans each year's sources and declarations
(:mod:`~wasteflow.demo.year`), then simulates the days (:mod:`~wasteflow.demo.days`):
sources hand material to village collection points, collection points ship to township
transfer stations or straight to processors, transfer stations ship on, each pool shipping
what it holds (:mod:`~wasteflow.demo.sim`). Each township has its own performance per
indicator, drawn from the seed, so some meet the plan's targets and some miss them. A few
anomalies are planted on purpose (``PLANTED``, in :mod:`~wasteflow.demo.data`).
"""

from wasteflow.demo.build import demo_years, load_demo
from wasteflow.demo.data import DEFAULT_SEED, DEMO_PASSWORD, PLANTED, PROCESSORS, DemoReport

__all__ = [
    "DEFAULT_SEED",
    "DEMO_PASSWORD",
    "PLANTED",
    "PROCESSORS",
    "DemoReport",
    "demo_years",
    "load_demo",
]
