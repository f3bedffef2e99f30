"""What a form says when the admin pages or the services refuse it, in Chinese (first) and
English: the sentences of ``api.web.admin_errors``'s rules (merged into ``ADMIN_MESSAGES``)."""

from __future__ import annotations

ADMIN_ERROR_MESSAGES: dict[str, tuple[str, str]] = {
    "err.other": ("未能保存：{reason}", "Not saved: {reason}"),
    "err.required": ("必填。", "Required."),
    "err.pattern": ("格式不对。", "Not in the right form."),
    "err.too_short": ("至少 {n} 个字符。", "At least {n} characters."),
    "err.too_long": ("最多 {n} 个字符。", "At most {n} characters."),
    "err.number": ("请填写数字。", "Enter a number."),
    "err.gt": ("必须大于 {n}。", "Must be more than {n}."),
    "err.ge": ("不能小于 {n}。", "Must be at least {n}."),
    "err.le": ("不能大于 {n}。", "Must be at most {n}."),
    "err.lt": ("必须小于 {n}。", "Must be less than {n}."),
    "err.choice": ("请从列表中选择。", "Choose one from the list."),
    "err.credit_form": (
        "统一社会信用代码是 18 位数字和大写字母。",
        "A unified social credit code is 18 digits and capital letters.",
    ),
    "err.credit_check": (
        "最后一位校验位不符：代码可能输错了。",
        "The check character does not match: the code is mistyped.",
    ),
    "err.site_exists": ("已有编码为 {code} 的站点。", "A site with code {code} exists already."),
    "err.routes_not_here": (
        "只有处理企业和处置场才有处理方式，请不要勾选。",
        "Only processors and disposal sites run treatment routes: leave these unticked.",
    ),
    "err.routes_needed": (
        "{kind}至少要有一种处理方式。",
        "A {kind} needs at least one treatment route.",
    ),
    "err.coordinates": (
        "纬度和经度要么都填，要么都不填。",
        "Give both the latitude and the longitude, or neither.",
    ),
    "err.no_region": (
        "没有区划代码为 {code} 的村或乡镇。",
        "No village or township has the code {code}.",
    ),
    "err.unknown_codes": ("找不到：{codes}。", "Not found: {codes}."),
    "err.routes_misfit": (
        "所选的处理方式（{routes}）都不适用于该站点接收的物料；这些物料可以：{usable}。",
        "None of the routes chosen ({routes}) suits the materials the site accepts; they may "
        "go to: {usable}.",
    ),
    "err.materials_needed": (
        "{kind}至少要接收一种物料。",
        "A {kind} must accept at least one material.",
    ),
    "err.round_only_sources": (
        "{site}是{kind}：只有产生源才能在收运线路上。",
        "{site} is a {kind}: only sources are on collection rounds.",
    ),
    "err.no_round": ("没有这条收运线路。", "No such collection round."),
    "err.round_outside": (
        "{site}不在线路“{round}”覆盖的村里。",
        "{site} lies outside the villages of the round {round}.",
    ),
    "err.round_race": (
        "{site}刚被放到另一条线路上，请刷新后再试。",
        "{site} was just put on another round; reload and try again.",
    ),
    "err.round_race_any": (
        "有产生源刚被放到另一条线路上，请刷新后再试。",
        "A source was just put on another round; reload and try again.",
    ),
    "err.moved_off_round": (
        "{site}在线路“{round}”上，该线路不覆盖{region}：请同时为它选另一条线路。",
        "{site} is on the round {round}, which does not cover {region}: choose another round "
        "for it too.",
    ),
    "err.site_state": ("站点已经是这个状态。", "The site is in that state already."),
    "err.username_taken": ("用户名 {username} 已被使用。", "The username {username} is taken."),
    "err.no_site_binding": (
        "{role}通过角色即可查看所有站点，不能绑定站点：请去掉{sites}。",
        "An {role} acts for every site through the role, not by binding: remove {sites}.",
    ),
    "err.wrong_sites": (
        "{role}账户只能绑定{kinds}，不能绑定{wrong}。",
        "A {role} account acts for {kinds} only, not {wrong}.",
    ),
    "err.pair": ("{name}（{what}）", "{name} ({what})"),
    "err.rounds_collectors": (
        "只有回收员才能绑定收运线路（站点运营所管回收点的线路会自动包含）。",
        "Only collectors work collection rounds (an operator's collection points bring "
        "their rounds with them).",
    ),
    "err.own_account": (
        "不能这样修改自己的账户，请让另一位管理员操作。",
        "Not on your own account: ask another admin.",
    ),
    "err.own_password": (
        "不能重置自己的密码，请在“修改密码”页面修改。",
        "You cannot reset your own password: change it on the 'Change password' page.",
    ),
    "err.last_admin": (
        "{username}是最后一个启用的管理员，不能这样修改。",
        "{username} is the last active admin: not allowed.",
    ),
    "err.account_state": ("账户已经是{state}状态。", "The account is {state} already."),
    "err.state_active": ("启用", "active"),
    "err.state_inactive": ("停用", "inactive"),
    "err.state_enabled": ("启用", "enabled"),
    "err.state_disabled": ("停用", "disabled"),
    "err.same_password": (
        "新密码不能与当前密码相同。",
        "The new password must differ from the current one.",
    ),
    "err.wrong_password": ("密码不对。", "Wrong password."),
    "err.passwords_differ": ("两次输入的新密码不一样。", "The two new passwords differ."),
    "err.unknown_sites": ("找不到这些站点：{names}。", "No such site: {names}."),
    "err.unknown_rounds": ("找不到这些线路：{names}。", "No such round: {names}."),
    "err.unknown_sources": ("找不到这些产生源：{names}。", "No such source: {names}."),
    "err.org_exists": (
        "已有编码为 {code} 的单位。",
        "An organisation with code {code} exists already.",
    ),
    "err.credit_taken": (
        "该统一社会信用代码已属于单位“{org}”。",
        "That credit code is already the code of {org}.",
    ),
    "err.round_exists": ("已有编码为 {code} 的线路。", "A round with code {code} exists already."),
    "err.no_site": ("没有编码为 {code} 的站点。", "No site has the code {code}."),
    "err.round_point": (
        "{site}是{kind}：线路的货物要送往回收点或转运站。",
        "{site} is a {kind}: a round's loads go to a collection point or transfer station.",
    ),
    "err.round_district": (
        "不能选整个区，请选村或乡镇。",
        "Not the whole district: choose villages or townships.",
    ),
    "err.source_outside": (
        "{site}不在线路覆盖的村里。",
        "{site} lies outside the round's villages.",
    ),
    "err.source_elsewhere": (
        "一个产生源只能在一条线路上：{on}。请先把它从那条线路移出。",
        "A source is on one round only: {on}. Take it off that round first.",
    ),
    "err.villages_drop_sources": (
        "线路上的产生源{sites}不在这些村里：请先把它们移出线路，或保留它们所在的村。",
        "The round's sources {sites} lie outside these villages: take them off the round, or "
        "keep their villages.",
    ),
    "err.set_exists": (
        "{year} 年已有系数（{code}），请直接修改其中的数值。",
        "{year} has its coefficient set already ({code}): edit its values.",
    ),
    "err.set_code_exists": (
        "已有编码为 {code} 的系数集。",
        "A coefficient set {code} exists already.",
    ),
    "err.no_set_to_copy": ("没有可复制的系数。", "There is no coefficient set to copy from."),
    "err.value_needs_source": (
        "改了数值，请写明新数值的来源。",
        "A new value needs its source: say where it comes from.",
    ),
    "err.verified_needs_source": (
        "已核实的数值必须写明自己的来源。",
        "A verified value must name its own source.",
    ),
    "err.coefficient_exists": (
        "这套系数已有“{coef}”，请直接修改它。",
        "The set has {coef} already: edit it instead.",
    ),
    "err.target_overlap": (
        "{indicator}已有 {a}–{b} 年的目标，年份不能重叠：请修改那个目标，或从它结束后开始。",
        "{indicator} has a target for {a}–{b} already: edit it, or start after it ends.",
    ),
    "err.years_order": ("截止年份不能早于起始年份。", "The last year cannot be before the first."),
    "noun.region": ("村或乡镇", "village or township"),
    "noun.organisation": ("单位", "organisation"),
    "noun.round": ("收运线路", "collection round"),
    "noun.material": ("物料", "material"),
    "noun.route": ("处理方式", "treatment route"),
    "noun.record": ("记录", "record"),
    "err.upload_kind": (
        "“{value}”不是站点类型：请写产生源、回收点、转运站、处理企业或处置场。",
        "'{value}' is not a kind of site: write source, collection point, transfer station, "
        "processor or disposal site.",
    ),
    "err.upload_no_name": ("没有名为“{value}”的{what}。", "No {what} is called '{value}'."),
    "err.upload_ambiguous": (
        "“{value}”对应多个{what}（{codes}），请写编码。",
        "'{value}' names several of them ({codes}): write the code.",
    ),
    "err.upload_duplicate": (
        "编码 {code} 在第 {row} 行已出现。",
        "{code} is on row {row} already.",
    ),
    "err.upload_kind_fixed": (
        "已有站点的类型不能改（{code} 是{kind}）。",
        "An existing site's kind never changes ({code} is a {kind}).",
    ),
    "err.upload_columns": (
        "文件里有模板之外的列：{columns}。请使用模板的列名。",
        "The file has columns the template does not: {columns}. Use the template's headers.",
    ),
    "err.upload_no_code": ("文件缺少“{column}”这一列。", "The file has no column {column}."),
    "err.upload_encoding": (
        "无法读取这个 CSV：请另存为 UTF-8 或 GBK 编码。",
        "This CSV cannot be read: save it as UTF-8 or GBK.",
    ),
    "err.upload_xlsx": ("无法打开这个 XLSX 文件。", "This XLSX file cannot be opened."),
    "err.upload_empty": ("文件是空的，或缺少列名行。", "The file is empty or has no header row."),
    "err.upload_too_many": ("每次最多上传 {n} 行。", "At most {n} rows per upload."),
    "err.upload_has_errors": (
        "有 {n} 行有错，什么都没有写入。",
        "{n} row(s) have errors: nothing was written.",
    ),
}
