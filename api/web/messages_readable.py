"""The dashboard's words for readable pages: a handover's history in labelled values, what an
indicator that does not apply says, the records page's exports, punctuation by language.

Merged into :data:`api.web.messages.MESSAGES` at the end of that module (Chinese first).
"""

from __future__ import annotations

READABLE_MESSAGES: dict[str, tuple[str, str]] = {
    # Punctuation that differs between the languages: full-width in Chinese.
    "common.colon": ("：", ": "),
    "common.paren": ("（{text}）", " ({text})"),
    "common.list_sep": ("、", ", "),
    "common.nothing": ("无", "none"),
    # An indicator that does not apply to a region (no such sources, or a denominator that is
    # declared for the region above), as against one with no data yet.
    "status.not_applicable": ("不适用", "not applicable"),
    "status.not_applicable_title": (
        "此指标不适用于该区域：区域内没有此类产生源，或其产生量按上一级区域申报",
        "This indicator does not apply here: the region has no such sources, or its "
        "denominator is declared for the region above",
    ),
    "status.no_data_title": (
        "尚无可计算的数据（如尚未申报，或期间内尚无交接）",
        "No data to compute it from yet (nothing declared, or no handover in the period)",
    ),
    "figures.na_note": (
        "“不适用”：区域内没有此类产生源，或该指标的产生量按上一级区域申报；"
        "“无数据”：指标适用，但尚无可计算的数据。",
        "'Not applicable': the region has no such sources, or the indicator's denominator is "
        "declared for the region above. 'No data': the indicator applies, but there is "
        "nothing to compute it from yet.",
    ),
    "township.area_code": ("区划代码", "Area code"),
    "figure.units_and_mass": ("{units} 台，{mass}", "{units} units, {mass}"),
    "figure.coefficient_set": ("{year}年系数集", "the {year} coefficient set"),
    # The register
    "handovers.method": ("计量方式", "Method"),
    "handovers.all_periods": ("全部期间", "all periods"),
    "handovers.default_period": (
        "默认显示{period}的交接；选择“全部期间”可查看全部记录。",
        "Shows {period} by default; choose 'all periods' for every record.",
    ),
    # One handover's history, in labelled values
    "hist.from_site": ("移出站点", "From"),
    "hist.to_site": ("接收站点", "To"),
    "hist.material": ("物料", "Material"),
    "hist.declared_mass_g": ("申报重量", "Declared mass"),
    "hist.units": ("件数", "Units"),
    "hist.received_units": ("接收件数", "Units received"),
    "hist.mass_method": ("计量方式", "Mass method"),
    "hist.device_time": ("设备时间", "Device time"),
    "hist.status": ("状态", "State"),
    "hist.flags": ("标记", "Flags"),
    "hist.channel": ("登记方式", "Recorded through"),
    "hist.returns": ("退回的拒收交接", "Returns the refused load"),
    "hist.corrects": ("更正的交接", "Corrects"),
    "hist.corrected_by": ("更正后的交接", "Corrected by"),
    "hist.reason": ("原因", "Reason"),
    "hist.received_mass_g": ("接收重量", "Received mass"),
    "hist.refused_mass_g": ("拒收重量", "Refused mass"),
    "hist.accepted_mass_g": ("实收重量", "Accepted mass"),
    "hist.refusal_reason": ("拒收原因", "Refusal reason"),
    "hist.flag_discrepancy": ("重量不符", "Mass discrepancy"),
    "hist.route": ("处理方式", "Treatment route"),
    "hist.became": ("改为", "became"),
    "hist.loaded": ("随数据集一并导入（{label}）", "Loaded with a data set ({label})"),
    "channel.api": ("逐条上传", "one by one"),
    "channel.batch": ("离线批量上传", "offline batch"),
    "channel.import": ("批量导入", "bulk import"),
    "channel.demo-synthetic": ("演示数据", "demo data"),
    "import.demo-load": ("演示数据", "the demo data"),
    "action.handover.demo-load": ("导入", "loaded"),
    "action.handover.import": ("导入", "imported"),
    # The records behind a figure: its exports
    "records.decl_region": ("所在区域", "Region"),
    "records.decl_start": ("期间起", "From"),
    "records.decl_end": ("期间止", "To"),
    "records.export_declarations": ("导出申报", "Export the declarations"),
    "records.export_handovers": ("导出交接", "Export the handovers"),
    "records.sheet_declarations": ("申报", "declarations"),
    "records.sheet_handovers": ("交接", "handovers"),
}
