"""The admin pages' words, in Chinese (first) and English (merged into ``MESSAGES``)."""

from __future__ import annotations

from api.web.messages_admin_errors import ADMIN_ERROR_MESSAGES

ADMIN_MESSAGES: dict[str, tuple[str, str]] = {
    "nav.admin": ("管理", "Administration"),
    "punct.colon": ("：", ": "),
    "history.capacity_kg": ("容量", "Capacity"),
    "user.password": ("修改密码", "Change password"),
    # the admin area
    "admin.title": ("管理", "Administration"),
    "admin.lead": (
        "新区县上线时按顺序：单位、站点、收运线路、账户、系数和目标。每次修改都记入审计日志。",
        "A new district goes live in this order: organisations, sites, collection rounds, "
        "accounts, coefficients and targets. Every change is kept in the audit log.",
    ),
    "admin.only": (
        "管理页面仅向管理员开放。如需修改站点、账户或系数，请联系区管理员。",
        "The administration pages are for admins only. Ask the district's admin to change "
        "sites, accounts or coefficients.",
    ),
    "admin.crumbs": ("位置", "You are here"),
    "admin.sections": ("管理栏目", "Administration sections"),
    "admin.form_expired": (
        "表单已过期（或来自其他页面），请重新打开后再提交。",
        "The form expired (or came from another page); open it again and resubmit.",
    ),
    "admin.sites": ("站点", "Sites"),
    "admin.sites_lead": (
        "新建、编辑、停用站点；批量上传；站点的修改记录；打印标牌。",
        "Create, edit and deactivate sites; upload many at once; each site's history; plaques.",
    ),
    "admin.accounts": ("账户", "Accounts"),
    "admin.accounts_lead": (
        "账户的角色、绑定的站点和线路、最近登录；停用、启用；重置密码。",
        "Accounts' roles, sites and rounds, last login; disable, enable; reset a password.",
    ),
    "admin.organisations": ("单位", "Organisations"),
    "admin.organisations_lead": (
        "运营站点的企业、合作社、乡镇政府。",
        "The companies, cooperatives and township governments that run sites.",
    ),
    "admin.rounds": ("收运线路", "Collection rounds"),
    "admin.rounds_lead": (
        "回收员的线路：覆盖的村、产生源和送往的回收点。",
        "A collector's round: its villages, sources and the collection point it serves.",
    ),
    "admin.coefficients": ("系数", "Coefficients"),
    "admin.coefficients_lead": (
        "按年份的系数：每个数值的来源和是否核实；由上一年生成下一年。",
        "Coefficients by year, each value with its source and whether it is verified; next "
        "year's set from the last one.",
    ),
    "admin.targets": ("目标", "Targets"),
    "admin.targets_lead": ("各指标各年份的目标值。", "Each indicator's target by year."),
    "admin.imports": ("导入历史数据", "Import history"),
    "admin.imports_lead": (
        "上传往年的交接和申报台账（CSV 或 XLSX）。",
        "Upload a ledger of past handovers and declarations (CSV or XLSX).",
    ),
    "admin.late": ("迟交记录审批", "Late submissions"),
    "admin.late_lead": (
        "超过期限提交的扫码记录，等待管理员批准。",
        "Scans submitted after the deadline, waiting for an admin's approval.",
    ),
    "admin.state": ("状态", "State"),
    "admin.active": ("启用", "active"),
    "admin.inactive": ("停用", "inactive"),
    "admin.actions": ("操作", "Actions"),
    "admin.edit": ("编辑", "Edit"),
    "admin.history": ("修改记录", "History"),
    "admin.history_lead": (
        "每次修改：时间（北京时间）、操作人、各项由原值改为新值。",
        "Each change: when (local time), who, and each field from its old value to its new one.",
    ),
    "admin.no_history": ("尚无记录。", "Nothing recorded yet."),
    "admin.none_found": ("没有符合条件的记录。", "Nothing matches."),
    "admin.system": ("系统", "the system"),
    "admin.became": ("改为", "became"),
    # after a redirect
    "done.created": ("已创建。", "Created."),
    "done.saved": ("已保存。", "Saved."),
    "done.unchanged": ("没有改动，无需保存。", "Nothing changed: nothing to save."),
    "done.deactivated": (
        "站点已停用：不能再向它或从它交接新的货物。",
        "The site is deactivated: no new load may leave or reach it.",
    ),
    "done.reactivated": ("站点已重新启用。", "The site is active again."),
    "done.disabled": (
        "账户已停用，其所有登录立即失效。",
        "The account is disabled; its sessions ended at once.",
    ),
    "done.enabled": ("账户已重新启用。", "The account is enabled again."),
    "done.uploaded": (
        "已写入：新建 {created} 个站点，更新 {updated} 个。",
        "Written: {created} sites created, {updated} updated.",
    ),
    "done.set_created": (
        "已生成 {year} 年的系数（复制自上一套）。{year} 年的数据从现在起使用它。",
        "{year}'s coefficient set is made (a copy of the last one); {year}'s figures use it "
        "from now on.",
    ),
    "done.value_added": ("已添加系数。", "Coefficient added."),
    "done.password": ("密码已修改。", "Your password is changed."),
    # form pieces
    "form.required": ("必填", "required"),
    "form.fix": ("请修改以下 {n} 处后再提交：", "Please fix {n} thing(s) below and submit again:"),
    "form.save": ("保存", "Save"),
    "form.cancel": ("取消", "Cancel"),
    "form.choose": ("— 请选择 —", "— choose —"),
    # fields (also the labels of a history's changes)
    "field.code": ("站点编码", "Site code"),
    "field.name": ("名称", "Name"),
    "field.name_en": ("英文名称", "English name"),
    "field.kind": ("站点类型", "Kind of site"),
    "field.region_code": ("所在村或乡镇", "Village or township"),
    "field.township_code": ("乡镇", "Township"),
    "field.organisation_code": ("单位", "Organisation"),
    "field.lat": ("纬度", "Latitude"),
    "field.lon": ("经度", "Longitude"),
    "field.address": ("地址", "Address"),
    "field.capacity_kg": ("容量（千克）", "Capacity (kg)"),
    "field.materials": ("接收的物料", "Materials accepted"),
    "field.routes": ("处理方式", "Treatment routes"),
    "field.round_code": ("收运线路", "Collection round"),
    "field.active": ("状态", "State"),
    "field.reason": ("原因", "Reason"),
    "field.username": ("用户名", "Username"),
    "field.display_name": ("姓名或称呼", "Name"),
    "field.role": ("角色", "Role"),
    "field.password": ("初始密码", "Initial password"),
    "field.sites": ("绑定的站点", "Sites it acts for"),
    "field.rounds": ("收运线路", "Collection rounds"),
    "field.must_change_password": ("需修改密码", "Must change password"),
    "field.tokens_revoked": ("结束的登录", "Sessions ended"),
    "field.other_tokens_revoked": ("结束的其他登录", "Other sessions ended"),
    "field.org_code": ("单位编码", "Organisation code"),
    "field.org_name": ("单位名称", "Name"),
    "field.org_kind": ("单位类型", "Kind"),
    "field.org_region": ("所在乡镇或村", "Township or village"),
    "field.credit_code": ("统一社会信用代码", "Unified social credit code"),
    "field.round_code_own": ("线路编码", "Round code"),
    "field.round_name": ("线路名称", "Round name"),
    "field.collection_point": ("送往的回收点", "Collection point"),
    "field.villages": ("覆盖的村", "Villages covered"),
    "field.sources": ("产生源", "Sources"),
    "field.year": ("年份", "Year"),
    "field.subject": ("对象", "Subject"),
    "field.parameter": ("参数", "Parameter"),
    "field.value": ("数值", "Value"),
    "field.unit": ("单位", "Unit"),
    "field.verified": ("核实", "Verified"),
    "field.verified_long": ("已核实（来源可查）", "Verified (its source can be checked)"),
    "field.source": ("来源", "Source"),
    "field.note": ("备注", "Note"),
    "field.indicator": ("指标", "Indicator"),
    "field.target_region": ("区域", "Region"),
    "field.year_from": ("起始年份", "First year"),
    "field.year_to": ("截止年份", "Last year"),
    "field.comparator": ("要求", "Must be"),
    "field.target_value": ("目标值", "Target"),
    "field.target_percent": ("目标值（%）", "Target (%)"),
    # hints under the fields
    "hint.optional": ("可不填。", "Optional."),
    "hint.code": (
        "大写字母、数字和连字符，最多 32 个字符，如 BM-CP-01。创建后不能修改。",
        "Capital letters, digits and hyphens, at most 32, e.g. BM-CP-01. It never changes.",
    ),
    "hint.kind": ("创建后不能修改。", "It never changes once created."),
    "hint.region": (
        "站点所在的村；在镇上的选“全镇”。改选即把站点移到另一个村。",
        "The village the site is in (or the whole township). Choosing another moves the site.",
    ),
    "hint.lat": ("十进制度，如 29.408。与经度一起填，或都不填。", "Decimal degrees, e.g. 29.408."),
    "hint.lon": ("十进制度，如 107.552。", "Decimal degrees, e.g. 107.552."),
    "hint.capacity": ("最多可存放的千克数，可不填。", "The most it can hold, in kg; optional."),
    "hint.materials": (
        "站点接收的物料（产生源：交出的物料）。回收点、转运站、处理企业至少选一种。",
        "What the site accepts (a source: what it hands over). Every site but a source needs "
        "at least one.",
    ),
    "hint.routes": (
        "仅处理企业和处置场：至少选一种，且要适用于所接收的物料。",
        "Processors and disposal sites only: at least one, fit for the materials it accepts.",
    ),
    "hint.round": (
        "仅产生源：回收员按线路上门收运。线路要覆盖站点所在的村。",
        "Sources only: collectors visit it on this round, which must cover its village.",
    ),
    "hint.round_after": (
        "产生源的收运线路：创建后在线路页面加入，或在站点编辑页选择。",
        "A source's round: add it on the round's page, or choose it on the site's page once "
        "created.",
    ),
    "hint.reason": (
        "可不填；填写则至少 3 个字，记入修改记录。",
        "Optional; at least 3 characters, kept in the history.",
    ),
    "hint.username": (
        "小写字母、数字和 . _ -，3 到 64 个字符，如 zhang.wei。创建后不能修改。",
        "Lower-case letters, digits and . _ -, 3 to 64 characters, e.g. zhang.wei.",
    ),
    "hint.role": (
        "回收员绑定产生源和线路；站点运营绑定回收点、转运站或产生源；处理企业绑定处理企业和处置场；"
        "官员和管理员不绑定站点。",
        "Collectors: sources and rounds; site operators: collection points, transfer stations "
        "or sources; processors: processors and disposal sites; officials and admins: none.",
    ),
    "hint.password": (
        "至少 10 个字符。请当面告知本人，本人可在“修改密码”页面修改。",
        "At least 10 characters. Tell the user in person; they can change it on the "
        "'Change password' page.",
    ),
    "hint.sites": (
        "取消勾选即解除绑定；在下面输入站点名称或编码（会有提示）添加。",
        "Untick to unbind; type a site's name or code below (suggestions appear) to add one.",
    ),
    "hint.rounds": (
        "仅回收员：取消勾选即解除；在下面输入线路名称添加。",
        "Collectors only: untick to remove; type a round's name below to add one.",
    ),
    "hint.credit_code": (
        "18 位数字和大写字母，可不填；最后一位是校验位。",
        "18 digits and capital letters, optional; the last is a check character.",
    ),
    "hint.org_region": ("可不填。", "Optional."),
    "hint.collection_point": (
        "线路收来的货物送往的回收点或转运站。",
        "Where the round's loads go: a collection point or transfer station.",
    ),
    "hint.villages": (
        "线路的产生源都要在这些村里；都不选表示不限。",
        "The round's sources must lie in these villages; none chosen means anywhere.",
    ),
    "hint.sources": (
        "一个产生源只能在一条线路上。取消勾选即移出；在下面输入名称或编码添加。",
        "A source is on one round only. Untick to take one off; type a name or code to add.",
    ),
    "hint.identifier": (
        "小写英文字母、数字和下划线，如 buckwheat。",
        "Lower-case letters, digits and underscores, e.g. buckwheat.",
    ),
    "hint.subject": (
        "系数说的是什么：畜禽、作物、处理方式或物料，如 buckwheat（荞麦）。",
        "What it is about: an animal, crop, route or material, e.g. buckwheat.",
    ),
    "hint.parameter": (
        "参数，如 straw_grain_ratio（草谷比）。",
        "What it measures, e.g. straw_grain_ratio.",
    ),
    "hint.unit": ("如 kg straw/kg grain。", "e.g. kg straw/kg grain."),
    "hint.source_new": (
        "数值出自哪里：文件、标准或台账，至少 3 个字。",
        "Where the value comes from: a document, standard or ledger; at least 3 characters.",
    ),
    "hint.source_edit": (
        "改了数值就要写明新数值的来源；不填则沿用本套系数的来源。",
        "A new value needs its source; left empty, the set's source stands.",
    ),
    "hint.verified": (
        "已核实的数值必须写明自己的来源。",
        "A verified value must name its own source.",
    ),
    "hint.target_region": (
        "全区，或某个乡镇自己的目标。",
        "The district, or a township's own target.",
    ),
    "hint.year_to": (
        "规划期最后一年；之后没有新目标时沿用此目标。",
        "The plan's last year; the target stands after it until a new one is set.",
    ),
    "hint.percent": ("百分数，如 92 表示 92 %。", "A percentage: 92 means 92 %."),
    "hint.target_source": ("目标出自哪个文件，如 区“十五五”规划。", "The document that sets it."),
    # what the history calls each change
    "action.site.create": ("创建站点", "Site created"),
    "action.site.update": ("修改站点", "Site edited"),
    "action.site.deactivate": ("停用站点", "Site deactivated"),
    "action.site.reactivate": ("重新启用站点", "Site reactivated"),
    "action.account.create": ("创建账户", "Account created"),
    "action.account.update": ("修改账户", "Account edited"),
    "action.account.disable": ("停用账户", "Account disabled"),
    "action.account.enable": ("启用账户", "Account enabled"),
    "action.account.password_reset": ("重置密码", "Password reset"),
    "action.account.password": ("本人修改密码", "Password changed by its user"),
    # sites
    "sites_admin.lead": (
        "全区站点：按乡镇、类型、状态筛选，按名称或编码查找。站点从不删除，只能停用。",
        "Every site: filter by township, kind and state, find by name or code. Sites are "
        "never deleted, only deactivated.",
    ),
    "sites_admin.new": ("新建站点", "New site"),
    "sites_admin.new_lead": (
        "带 * 的为必填。站点编码和类型创建后不能修改。",
        "Fields marked * are required. The code and kind never change once created.",
    ),
    "sites_admin.create": ("创建站点", "Create site"),
    "sites_admin.upload": ("批量上传", "Upload many"),
    "sites_admin.search": ("名称或编码", "Name or code"),
    "sites_admin.search_hint": ("如 回收点", "e.g. Baima"),
    "sites_admin.township_plaques": ("打印本乡镇的标牌", "Print this township's plaques"),
    "sites_admin.details": ("站点信息", "Details"),
    "sites_admin.whole_township": ("全镇", "whole township"),
    "sites_admin.no_organisation": ("— 无 —", "— none —"),
    "sites_admin.no_round": ("— 不在线路上 —", "— on no round —"),
    "sites_admin.rounds_covering": ("覆盖本村的线路", "Rounds covering its village"),
    "sites_admin.rounds_other": ("其他线路", "Other rounds"),
    "sites_admin.plaque": ("打印标牌", "Print plaque"),
    "sites_admin.state_title": ("启用或停用", "Active or not"),
    "sites_admin.deactivate_hint": (
        "停用后不能再向它或从它交接新的货物；在途的货物仍可确认。记录保留，不会删除。",
        "Once deactivated no new load may leave or reach it; loads on their way can still "
        "be confirmed. Its records stay.",
    ),
    "sites_admin.reactivate_hint": (
        "重新启用后可再次交接。",
        "Reactivated, it takes part in handovers again.",
    ),
    "sites_admin.deactivate": ("停用站点", "Deactivate site"),
    "sites_admin.reactivate": ("重新启用", "Reactivate"),
    "sites_admin.history_title": ("{name}的修改记录", "History of {name}"),
    "sites_admin.back_to_site": ("返回站点", "Back to the site"),
    # the upload
    "upload.title": ("批量上传站点", "Upload sites"),
    "upload.lead": (
        "用模板一次新建或更新多个站点。先检查：逐行报告，不写入任何数据；确认无误后再写入（一次完成）。",
        "Create or update many sites with the template. First a check, row by row, that "
        "writes nothing; then write it, all at once.",
    ),
    "upload.step_template": ("下载模板", "Get the template"),
    "upload.template": ("空白模板（XLSX）", "Empty template (XLSX)"),
    "upload.with_sites": (
        "或下载某乡镇的现有站点，修改后上传：",
        "Or a township's sites, to edit and upload back:",
    ),
    "upload.download_sites": ("下载该乡镇站点", "Download its sites"),
    "upload.columns": ("各列怎么填", "What each column holds"),
    "upload.step_check": ("上传并检查", "Upload and check"),
    "upload.file": ("文件（CSV 或 XLSX）", "File (CSV or XLSX)"),
    "upload.file_hint": (
        "第一行为模板的中文列名。已有的站点编码表示更新该站点，只改填了的格子。",
        "The first row holds the template's headers. A code that exists updates that site: "
        "only the filled cells change.",
    ),
    "upload.check": ("检查（不写入）", "Check (writes nothing)"),
    "upload.choose_file": ("请选择要上传的文件。", "Choose a file to upload."),
    "upload.report": ("检查结果：{file}", "Check of {file}"),
    "upload.created": ("新建 {n}", "{n} new"),
    "upload.updated": ("更新 {n}", "{n} updated"),
    "upload.unchanged": ("不变 {n}", "{n} unchanged"),
    "upload.invalid": ("有错 {n}", "{n} with errors"),
    "upload.row": ("行", "Row"),
    "upload.site": ("站点", "Site"),
    "upload.result": ("结果", "Result"),
    "upload.detail": ("说明", "Details"),
    "upload.action_create": ("新建", "new"),
    "upload.action_update": ("更新", "update"),
    "upload.action_unchanged": ("不变", "unchanged"),
    "upload.action_invalid": ("有错", "error"),
    "upload.all_clean": (
        "所有行都没有问题。写入后可在各站点的修改记录中查看。",
        "Every row is fine. Once written, each site's history shows it.",
    ),
    "upload.some_invalid": (
        "{n} 行有错，不会写入。请改正后重新上传，或只写入没有错误的行。",
        "{n} row(s) have errors and will not be written. Fix them and upload again, or write "
        "only the rows without errors.",
    ),
    "upload.skip_invalid": ("只写入没有错误的 {n} 行", "Write only the {n} rows without errors"),
    "upload.apply": ("写入 {n} 个站点", "Write {n} sites"),
    "upload.fix_and_retry": (
        "没有可以写入的行：请按上面的说明改正后重新上传。",
        "No row can be written: fix the rows as said above and upload again.",
    ),
    "upload.nothing": (
        "文件与现有站点完全一致，无需写入。",
        "The file matches the sites as they are: nothing to write.",
    ),
    # accounts
    "accounts_admin.lead": (
        "所有账户：角色、单位、绑定的站点和线路、最近登录。停用立即生效。",
        "Every account: role, organisation, sites and rounds, last login. Disabling takes "
        "effect at once.",
    ),
    "accounts_admin.new": ("新建账户", "New account"),
    "accounts_admin.create": ("创建账户", "Create account"),
    "accounts_admin.details": ("账户信息", "Details"),
    "accounts_admin.bindings": ("站点和线路", "Sites and rounds"),
    "accounts_admin.and_more": ("等 {n} 个", "and {n} more"),
    "accounts_admin.last_login": ("最近登录", "Last login"),
    "accounts_admin.never": ("从未登录", "never"),
    "accounts_admin.must_change": ("待改密码", "must change password"),
    "accounts_admin.add_sites": ("添加站点：输入名称或编码", "Add a site: type its name or code"),
    "accounts_admin.add_rounds": ("添加线路：输入线路名称", "Add a round: type its name"),
    "accounts_admin.state_title": ("启用或停用", "Enabled or not"),
    "accounts_admin.disable_hint": (
        "停用后不能登录，已登录的设备立即退出。记录保留。",
        "A disabled account cannot log in, and its sessions end at once. Its records stay.",
    ),
    "accounts_admin.enable_hint": ("启用后可再次登录。", "Enabled, it can log in again."),
    "accounts_admin.disable": ("停用账户", "Disable account"),
    "accounts_admin.enable": ("启用账户", "Enable account"),
    "accounts_admin.reset_title": ("重置密码", "Reset the password"),
    "accounts_admin.reset_hint": (
        "生成一个临时密码，只显示一次。本人用它登录后必须立即修改；该账户已登录的设备会退出。",
        "Makes a temporary password, shown once. The user must change it after logging in "
        "with it; the account's sessions end.",
    ),
    "accounts_admin.reset": ("生成临时密码", "Make a temporary password"),
    "accounts_admin.reset_replayed": (
        "这次重置已经完成，临时密码只显示一次。如已遗失，请再重置一次。",
        "This reset was done already; its temporary password was shown once. If it is lost, "
        "reset again.",
    ),
    "accounts_admin.temp_title": (
        "临时密码（只显示这一次）",
        "Temporary password (shown this once)",
    ),
    "accounts_admin.temp_body": (
        "请当面或电话告知{user}。用它登录后，系统会要求立即设置新密码。离开本页后无法再查看。",
        "Tell {user} in person or by phone. After logging in with it they must set a new "
        "password at once. It cannot be shown again once you leave this page.",
    ),
    "accounts_admin.own_account": (
        "这是您自己的账户：停用和重置请让另一位管理员操作。",
        "This is your own account: ask another admin to disable or reset it.",
    ),
    # organisations and rounds
    "orgs.lead": (
        "运营站点、雇用账户的单位。统一社会信用代码会校验最后一位。",
        "The organisations that run sites and employ the accounts. A credit code's check "
        "character is checked.",
    ),
    "orgs.new": ("新建单位", "New organisation"),
    "orgs.create": ("创建单位", "Create organisation"),
    "orgs.sites": ("站点数", "Sites"),
    "orgs.accounts": ("账户数", "Accounts"),
    "orgs.counts": (
        "运营 {sites} 个站点，{accounts} 个账户",
        "Runs {sites} sites; {accounts} accounts",
    ),
    "orgs.no_region": ("— 无 —", "— none —"),
    "orgkind.government": ("政府或事业单位", "government"),
    "orgkind.enterprise": ("企业", "enterprise"),
    "orgkind.cooperative": ("合作社", "cooperative"),
    "orgkind.household": ("农户", "household"),
    "orgkind.other": ("其他", "other"),
    "rounds.lead": (
        "回收员按线路上门收运：线路覆盖的村、线路上的产生源、送往的回收点。",
        "Collectors work rounds: the villages a round covers, its sources, the collection "
        "point its loads go to.",
    ),
    "rounds.new": ("新建线路", "New round"),
    "rounds.new_lead": (
        "创建后，在账户页面把回收员绑定到这条线路。",
        "Once created, bind collectors to it on their account pages.",
    ),
    "rounds.create": ("创建线路", "Create round"),
    "rounds.count": ("共 {n} 条", "{n} rounds"),
    "rounds.any_village": ("不限", "anywhere"),
    "rounds.sources": ("产生源数", "Sources"),
    "rounds.collectors": ("回收员", "Collectors"),
    "rounds.whole_township": ("{town}全镇", "all of {town}"),
    "rounds.add_source": ("添加产生源：输入名称或编码", "Add a source: type its name or code"),
    # coefficients and targets
    "coefs.lead": (
        "估算产生量用的系数，按年份。某年没有自己的系数时沿用上一年的；为新的一年生成后可逐个修改。",
        "The coefficients that estimate what arises, by year. A year without its own set uses "
        "the last earlier one; make the new year's set, then edit its values.",
    ),
    "coefs.years": ("年份", "Years"),
    "coefs.all_years": ("全部年份", "All years"),
    "coefs.new_year": ("生成新一年的系数", "Make a new year's set"),
    "coefs.new_year_hint": (
        "复制该年目前使用的系数（最近一年的），之后可逐个修改；该年的数据立即改用它。",
        "Copies the set that year uses now (the latest earlier one); edit its values next. "
        "That year's figures use it at once.",
    ),
    "coefs.create": ("生成", "Make it"),
    "coefs.bad_year": ("请填写 2000 到 2100 之间的年份。", "Enter a year between 2000 and 2100."),
    "coefs.set_title": ("{year} 年系数 · {region}", "{year} coefficients · {region}"),
    "coefs.set_source": ("来源", "Source"),
    "coefs.used_by": ("{n} 条申报使用", "used by {n} declarations"),
    "coefs.add": ("添加系数", "Add a coefficient"),
    "coefs.name": ("系数", "Coefficient"),
    "coefs.verified": ("已核实", "verified"),
    "coefs.unverified": ("未核实", "not verified"),
    "coefs.sets_source": ("沿用本套系数的来源", "the set's source"),
    "coefs.was": ("现值：{value} {unit}", "Now: {value} {unit}"),
    "cunit.kg/head/day": ("千克/头/天", "kg per head per day"),
    "cunit.L/head/day": ("升/头/天", "litres per head per day"),
    "cunit.day": ("天", "days"),
    "cunit.flag": ("是/否（1/0）", "yes/no (1/0)"),
    "cunit.pig/head": ("头猪当量/头", "pig equivalents per head"),
    "cunit.kg straw/kg grain": ("千克秸秆/千克籽粒", "kg straw per kg grain"),
    "cunit.fraction": ("比例（0–1）", "fraction (0–1)"),
    "coef.pig_equivalent": ("猪当量", "pig equivalent"),
    "coef.straw_grain_ratio_max": ("草谷比上限", "highest straw-to-grain ratio"),
    "targets.lead": (
        "各指标的目标值和适用年份。规划期结束后，没有新目标时沿用原目标。",
        "Each indicator's target and the years it covers. After a plan ends, its target stands "
        "until a new one is set.",
    ),
    "targets.new": ("新增目标", "New target"),
    "targets.new_lead": (
        "同一指标和区域的目标年份不能重叠。",
        "Targets of one indicator and region may not overlap in years.",
    ),
    "targets.create": ("保存目标", "Save target"),
    "targets.for_year": ("适用于", "In force in"),
    "targets.all": ("全部目标", "Every target"),
    "targets.years": ("年份", "Years"),
    "targets.carried": ("沿用至 {year} 年", "carried to {year}"),
    "targets.at_least": ("不低于（≥）", "at least (≥)"),
    "targets.at_most": ("不高于（≤）", "at most (≤)"),
    # the password page
    "password.title": ("修改密码", "Change password"),
    "password.lead": (
        "修改后，其他设备上的登录会退出。",
        "Your other sessions end once it is changed.",
    ),
    "password.forced": (
        "管理员已为您重置密码。请先设置新密码，再继续使用。",
        "An administrator reset your password. Set a new one before you go on.",
    ),
    "password.current": ("当前密码", "Current password"),
    "password.current_forced": ("临时密码", "Temporary password"),
    "password.new": ("新密码", "New password"),
    "password.confirm": ("再次输入新密码", "New password again"),
    "password.submit": ("修改密码", "Change password"),
}

# A service's refusal in the reader's words (see api/web/admin_errors.py): a table of its own.
ADMIN_MESSAGES.update(ADMIN_ERROR_MESSAGES)
