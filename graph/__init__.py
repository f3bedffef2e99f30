"""The material-flow graph: mass balance, origin attribution, anomalies and the Sankey.

Pure computation on plain records (:mod:`graph.model`); nothing here touches the database or
the web layer. Every function takes the period's ``sites``, ``flows`` and ``treatments`` or,
to compile them only once for several computations, a :class:`FlowNetwork` in their place.
"""

from graph.anomalies import ANOMALY_KINDS, detect_anomalies, haversine_m
from graph.attribution import (
    FateAttribution,
    OriginShares,
    attribute_fates,
    fates_by_origin,
    origin_shares,
    utilised_by_origin,
)
from graph.balance import BalanceArrays, balance_arrays, mass_balance
from graph.digraph import build_graph
from graph.model import (
    AWAITING_RETURN,
    OPENING_STOCK,
    ROUTE_CLASSES,
    SITE_KINDS,
    STOCK,
    TREATING_KINDS,
    UNEXPLAINED,
    Anomaly,
    Flow,
    Scan,
    SiteBalance,
    SiteNode,
    Treatment,
)
from graph.network import FlowNetwork
from graph.sankey import sankey

__all__ = [
    "ANOMALY_KINDS",
    "AWAITING_RETURN",
    "OPENING_STOCK",
    "ROUTE_CLASSES",
    "SITE_KINDS",
    "STOCK",
    "TREATING_KINDS",
    "UNEXPLAINED",
    "Anomaly",
    "BalanceArrays",
    "FateAttribution",
    "Flow",
    "FlowNetwork",
    "OriginShares",
    "Scan",
    "SiteBalance",
    "SiteNode",
    "Treatment",
    "attribute_fates",
    "balance_arrays",
    "build_graph",
    "detect_anomalies",
    "fates_by_origin",
    "haversine_m",
    "mass_balance",
    "origin_shares",
    "sankey",
    "utilised_by_origin",
]
