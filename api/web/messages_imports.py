"""The words of the admin pages for importing history and deciding late records (zh, en)."""

from __future__ import annotations

IMPORT_MESSAGES: dict[str, tuple[str, str]] = {
    "imports.title": ("导入历史台账", "Import history"),
    "imports.lead": (
        "上传过去的交接记录或申报台账（CSV 或 XLSX，任何以前的日期）。"
        "文件先整体校验并逐行报告问题，确认后才写入，一次上传一个事务；"
        "同一行再次上传不会重复导入。",
        "Upload a ledger of past handovers or declarations (CSV or XLSX, any earlier date). "
        "The whole file is checked first and every problem reported by row; nothing is "
        "written until you confirm, one transaction per upload, and a row uploaded again is "
        "not added twice.",
    ),
    "imports.template": ("下载模板", "Download a template"),
    "imports.template_lead": (
        "模板第一行是中文列名，附一行示例；"
        "XLSX 模板的“说明”页列出每一列的英文名、是否必填和允许的值。",
        "Row 1 has the Chinese column names, then an example row; the XLSX template's "
        "instructions sheet lists each column's English name, whether it is required and the "
        "values allowed.",
    ),
    "imports.kind": ("台账类型", "Ledger"),
    "imports.kind.handovers": ("交接记录", "Handovers"),
    "imports.kind.declarations": ("申报（分母）", "Declarations (denominators)"),
    "imports.file": ("文件（CSV 或 XLSX）", "File (CSV or XLSX)"),
    "imports.check": ("校验", "Check"),
    "imports.upload": ("上传并校验", "Upload and check"),
    "imports.report": ("校验结果", "Check results"),
    "imports.file_name": ("文件", "File"),
    "imports.rows": ("行数", "Rows"),
    "imports.clean": ("可导入", "Clean"),
    "imports.already": ("已导入过", "Already imported"),
    "imports.refused": ("有问题", "With problems"),
    "imports.added": ("新增", "Added"),
    "imports.problems": ("问题（行、列、原因）", "Problems (row, column, why)"),
    "imports.row": ("行", "Row"),
    "imports.column": ("列", "Column"),
    "imports.why": ("原因", "Why"),
    "imports.more_problems": ("另有 {n} 个问题未列出。", "{n} more problems not listed."),
    "imports.all_clean": (
        "全部 {n} 行通过校验，尚未写入。",
        "All {n} rows pass; nothing is written yet.",
    ),
    "imports.some_clean": (
        "{bad} 行有问题。修正后重新上传，或只导入通过校验的 {n} 行。",
        "{bad} rows have problems. Fix them and upload again, or import the {n} clean rows only.",
    ),
    "imports.none_clean": (
        "没有可导入的新行。",
        "There are no new rows to import.",
    ),
    "imports.confirm": ("确认导入 {n} 行", "Import {n} rows"),
    "imports.confirm_clean": ("只导入通过的 {n} 行", "Import the {n} clean rows only"),
    "imports.done": (
        "已导入：新增 {added} 行，{already} 行以前已导入。",
        "Imported: {added} rows added, {already} were imported before.",
    ),
    "imports.in_transit_note": (
        "有实收重量的交接行按已接收导入，没有的按在途导入。",
        "Handover rows with a received mass land as received loads; rows without, in transit.",
    ),
    "imports.past": ("以往导入", "Past imports"),
    "imports.none": ("还没有导入过台账。", "No ledger has been imported yet."),
    "imports.when": ("时间", "When"),
    "imports.by": ("上传人", "Uploaded by"),
    "imports.digest": ("SHA-256", "SHA-256"),
    "imports.batch": ("导入批次 {id}", "Import {id}"),
    "imports.records": ("写入的记录（前 20 条）", "Records written (first 20)"),
    "imports.back": ("返回导入页面", "Back to imports"),
    "imports.late_link": (
        "待审批的迟到记录：{n} 条",
        "Late records awaiting approval: {n}",
    ),
    "late.title": ("迟到记录审批", "Late records"),
    "late.lead": (
        "超过 30 天的扫码记录由回收员提交审批。"
        "批准后按回收员本人的扫码记录写入（只免除迟到规则），驳回须说明原因；两者都记入审计日志。",
        "Scans older than 30 days are submitted for approval by their collectors. An approved "
        "one is recorded as the collector's own scan (only the lateness rule is lifted); a "
        "rejection needs a reason. Both are audited.",
    ),
    "late.state.pending": ("待审批", "Pending"),
    "late.state.approved": ("已批准", "Approved"),
    "late.state.rejected": ("已驳回", "Rejected"),
    "late.none": ("没有记录。", "Nothing here."),
    "late.submitted_by": ("提交人", "Submitted by"),
    "late.load": ("记录", "Load"),
    "late.time": ("交接时间", "Load time"),
    "late.mass": ("申报重量", "Declared mass"),
    "late.reason": ("迟到原因", "Why late"),
    "late.decision": ("处理", "Decision"),
    "late.decision_reason": ("理由（驳回时必填）", "Reason (required to reject)"),
    "late.approve": ("批准", "Approve"),
    "late.reject": ("驳回", "Reject"),
    "late.done.approve": ("已批准并写入。", "Approved and recorded."),
    "late.done.reject": ("已驳回。", "Rejected."),
    "late.decided": ("{who} 于 {when} 处理", "by {who} at {when}"),
}
