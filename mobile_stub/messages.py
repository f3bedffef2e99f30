"""Every word ``wasteflow-mobile`` shows: key → (Chinese, English).

Parameters are ``str.format`` fields, the same in both columns (a test checks it). Keys:
``h.*`` help texts; ``help.*`` the help page's own words; ``usage.*`` command-line mistakes;
``state.*``/``result.*``/``check.*``/``role.*``/``kind.*`` single words; ``field.*`` the API's
field names as shown next to a server's reason; ``why.*`` why a file could not be used;
``qr.*`` why a QR code was not accepted; ``problem.*`` why a scan is held; the rest are
sentences. Where the English must stay as it was (scripts and tests read it), it does.
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # --- the help pages --------------------------------------------------------------------
    "h.app": (
        "wasteflow-mobile：离线优先的现场客户端（扫码、入发件箱、同步）。",
        "wasteflow-mobile: the offline-first field client (scan, queue, sync).",
    ),
    "h.opt.state": (
        "状态文件（SQLite），默认 ~/.wasteflow-mobile.db。",
        "The SQLite state file (default ~/.wasteflow-mobile.db).",
    ),
    "h.opt.lang": (
        "界面语言：zh 或 en（默认按系统语言）。",
        "Language: zh or en (default: from the locale).",
    ),
    "h.login": (
        "登录（联网一次），并缓存签名公钥、物料目录和处理方式。",
        "Log in (online, once) and cache the signing keys, materials and treatment routes.",
    ),
    "h.arg.server_url": ("服务器地址，例如 http://127.0.0.1:8000", "e.g. http://127.0.0.1:8000"),
    "h.arg.username": ("账号", "Account name."),
    "h.opt.password": ("密码（不给就提示输入）。", "Asked for when not given."),
    "h.logout": (
        "退出登录（能联网时在服务器上作废令牌）；发件箱保留。",
        "Forget the token (revoked on the server when reachable); the outbox stays.",
    ),
    "h.whoami": (
        "当前登录和发件箱概况（离线可用）。",
        "The current session and the outbox of its account (works offline).",
    ),
    "h.opt.json": ("输出 JSON。", "Machine-readable output."),
    "h.refresh": (
        "立即获取服务器的公钥、物料目录和处理方式。",
        "Fetch the server's public keys, materials and treatment routes now.",
    ),
    "h.scan": (
        "扫描站点牌子，把这一车交接放进发件箱（离线可用）。",
        "Scan a site's plaque and queue the handover (works offline).",
    ),
    "h.opt.to": ("接收站点代码。", "Code of the receiving site."),
    "h.opt.material": (
        "物料：代码（film.agri）或中文名（废旧农膜、农膜）。",
        "Material: its code (film.agri) or its name (废旧农膜, farm film).",
    ),
    "h.opt.kg": ("重量（千克），最多 3 位小数。", "Mass in kg, at most 3 decimals."),
    "h.opt.image": ("二维码的照片或图片文件。", "A photo or image file of the QR code."),
    "h.opt.payload": ("二维码的文字（手工输入）。", "The QR's text, typed."),
    "h.opt.units": ("件数（家电）。", "Number of items (appliances)."),
    "h.opt.estimated": ("重量是估计的，不是称的。", "The mass was estimated, not weighed."),
    "h.opt.time": (
        "设备时间，ISO 8601（默认：现在）。",
        "Device time, ISO 8601 (default: now).",
    ),
    "h.opt.lat": ("纬度。", "Latitude."),
    "h.opt.lon": ("经度。", "Longitude."),
    "h.opt.returns": ("这车退回的被拒收那车的代码。", "Code of the refused load this sends back."),
    "h.receive": (
        "扫描随车单，确认收货（离线可用）；--correct 更正已确认的收货。",
        "Scan a load's manifest and queue the confirmation of its intake (works offline); "
        "--correct corrects a confirmed one.",
    ),
    "h.opt.received_kg": ("实收重量（千克）。", "Weighed mass, kg."),
    "h.opt.refused_kg": ("拒收重量（千克）。", "Refused mass, kg."),
    "h.opt.reason": ("拒收原因。", "Why mass was refused."),
    "h.opt.route": (
        "处理方式（处理企业）：代码或中文名（recycling、再生利用）。",
        "Treatment route (processors): its code or name (recycling, 再生利用).",
    ),
    "h.opt.received_units": ("实收件数。", "Number of items received."),
    "h.opt.correct": (
        "更正这车已确认的收货，并说明原因（至少 3 个字）；给出更正后的完整收货。",
        "Correct the confirmed receipt of this load, saying why (3 characters or more); give "
        "the whole intake as it should have been.",
    ),
    "h.opt.code": (
        "用运单代码（HO-…）指定要更正的那车，代替扫描随车单。",
        "Name the load to correct by its code (HO-…) instead of scanning its manifest.",
    ),
    "h.opt.force": (
        "发件箱里已有这车的收货也照样再放一条。",
        "Queue it even though this outbox already has a receipt of that load.",
    ),
    "h.outbox": (
        "列出等待、已发送、被拒绝的记录；或用 --retry ID 修改后重发一条。",
        "List queued, sent and refused items; or requeue one with --retry ID (and fixes).",
    ),
    "h.opt.only": (
        "只列这种状态的（可重复）：held、queued、sending、sent、refused、dropped。",
        "Only items in this state (repeat): held, queued, sending, sent, refused, dropped.",
    ),
    "h.opt.all": ("列出这个文件里所有账号的记录。", "Items of every account in this file."),
    "h.opt.retry": (
        "把这条暂不发送或被拒绝的记录重新放回队列（可同时修改）。",
        "Queue this held or refused item again (fixed with the options below).",
    ),
    "h.opt.fix": ("与 --retry 一起用：改正的值。", "With --retry: the corrected value."),
    "h.opt.fix_correct": (
        "与 --retry 一起用：收货更正的新原因。",
        "With --retry: a receipt correction's new reason.",
    ),
    "h.drop": (
        "放弃一条暂不发送、等待或被拒绝的记录（仍留在列表里，不会发送）。",
        "Give up a held, queued or refused item (it stays listed as dropped, never sent).",
    ),
    "h.arg.id": ("发件箱记录编号。", "The outbox item's number."),
    "h.sync": (
        "发送发件箱：先成批发交接，再发收货和更正；失败自动退避重试。",
        "Send the outbox: batches of handovers, then receipts and corrections; retried with "
        "backoff.",
    ),
    "h.opt.chunk": ("每批条数（1–5000）。", "Items per batch request (1-5000)."),
    "h.opt.attempts": ("每个请求最多尝试几次。", "Tries per request."),
    "h.opt.base_delay": ("第一次退避等待（秒）。", "First backoff wait, s."),
    "h.opt.max_delay": ("最长退避等待（秒）。", "Longest backoff wait, s."),
    "h.opt.deadline": ("一个请求最多花多少秒。", "Give a request up after, s."),
    "h.opt.wait": (
        "另一个同步在运行时最多等几秒。",
        "How long to wait for another sync of this state file, s.",
    ),
    "h.opt.quiet": ("不显示进度。", "No progress lines."),
    "h.simulate": (
        "在演示服务器上模拟回收员、站点和处理企业的工作日。",
        "Play collectors', operators' and processors' days against a demo server.",
    ),
    "h.arg.demo_server": ("装有演示区的服务器。", "A server with the demo district."),
    "h.opt.seed": ("随机种子。", "Random seed."),
    "h.opt.collectors": ("模拟几个回收员（按种子挑选）。", "Collectors to play (a seeded pick)."),
    "h.opt.collector": ("模拟这个回收员账号（可重复）。", "Play this collector account (repeat)."),
    "h.opt.days": ("模拟几天（到今天为止）。", "Days to play, ending today."),
    "h.opt.scans_per_day": ("每个回收员每天扫几次。", "Scans per collector per day."),
    "h.opt.offline_probability": (
        "每次扫描后开始一段无信号的概率。",
        "Chance a scan starts a stretch without signal.",
    ),
    "h.opt.lost_response_probability": (
        "服务器已记录、但回复丢失的概率。",
        "Chance a response is lost after the server committed.",
    ),
    "h.opt.concurrency": ("并行线程数（手机数）。", "Threads (phones in parallel)."),
    "h.opt.admin": ("用来列出其他账号的管理员账号。", "Account that lists the others."),
    "h.opt.sim_password": ("所有账号的密码。", "Password of every account."),
    "h.opt.admin_password": (
        "管理员密码（不同时给出）。",
        "The admin's password, when not the same.",
    ),
    "h.opt.workdir": (
        "把各手机的状态文件留在这个目录（默认临时目录）。",
        "Keep the phones' state files here (default: temp).",
    ),
    "help.usage": ("用法：", "Usage: "),
    "help.colon": ("：", ":"),
    "help.heading.options": ("选项", "Options"),
    "help.heading.arguments": ("参数", "Arguments"),
    "help.heading.commands": ("命令", "Commands"),
    "help.help_option": ("显示本帮助并退出。", "Show this message and exit."),
    "help.extra.default": ("默认：{value}", "default: {value}"),
    "help.extra.required": ("必填", "required"),
    "help.extra.env_var": ("环境变量：{value}", "env var: {value}"),
    # --- usage mistakes ----------------------------------------------------------------------
    "error": ("错误：{message}", "error: {message}"),
    "warning": ("注意：{message}", "warning: {message}"),
    "aborted": ("已取消。", "aborted"),
    "usage.hint": ("用 `{command}` 查看用法。", "See `{command}`."),
    "usage.missing": ("缺少 {name}。", "missing {name}"),
    "usage.no_such_option": ("没有选项 {name}。", "no such option: {name}"),
    "usage.no_such_option_close": (
        "没有选项 {name}；是不是：{close}？",
        "no such option: {name} (did you mean {close}?)",
    ),
    "usage.needs_value": ("{name} 后面要给一个值。", "{name} needs a value"),
    "usage.want_integer": ("{name} 要一个整数。", "{name} must be a whole number"),
    "usage.want_float": ("{name} 要一个数字。", "{name} must be a number"),
    "usage.bad_value": ("{name} 的值不对：{detail}", "invalid value for {name}: {detail}"),
    "usage.no_such_command": (
        "没有命令“{name}”；可用的命令：{commands}。",
        "no such command {name!r}; the commands are: {commands}",
    ),
    "usage.no_such_command_close": (
        "没有命令“{name}”；是不是 {close}？",
        "no such command {name!r} (did you mean {close}?)",
    ),
    "usage.extra_argument": ("多余的参数：{detail}", "unexpected extra argument: {detail}"),
    "usage.other": ("{detail}", "{detail}"),
    "usage.bad_lang": (
        "--lang 只能是 {choices}，不是 {value}。",
        "--lang {value}: one of {choices}",
    ),
    "usage.chunk": ("--chunk 要在 1 到 5000 之间。", "--chunk must be between 1 and 5000 items"),
    "prompt.password": ("密码", "password"),
    "list.sep": ("；", "; "),
    # --- files -------------------------------------------------------------------------------
    "image.unreadable": ("无法读取图片 {file}：{why}。", "cannot read the image {file}: {why}"),
    "image.no_qr": (
        "图片 {file} 里没有找到二维码；请靠近一点、对准焦距再拍一次。",
        "no QR code found in the image {file}; take the photo again, closer and sharper",
    ),
    "image.several_qr": (
        "图片 {file} 里有 {n} 个不同的二维码；请只拍一个。",
        "{n} different QR codes in the image {file}; photograph only one",
    ),
    "why.no_file": ("文件不存在", "no such file"),
    "why.is_dir": ("这是一个目录，不是文件", "it is a directory, not a file"),
    "why.no_permission": ("没有读取权限", "permission denied"),
    "why.empty": ("文件是空的", "the file is empty"),
    "why.too_large": ("文件太大，不像一张照片", "the file is too large to be a photo"),
    "why.not_image": ("不是图片，或图片已损坏", "not an image, or a damaged one"),
    "why.os": ("{detail}", "{detail}"),
    "file.error": ("无法使用 {file}：{detail}。", "cannot use {file}: {detail}"),
    "state.cannot_open": (
        "无法打开状态文件 {file}：{why}。",
        "cannot open the state file {file}: {why}",
    ),
    "state.foreign": (
        "{file} 是别的程序的数据库，不是 wasteflow-mobile 的状态文件；请用 --state 指定别的文件。",
        "{file} is another program's database, not a wasteflow-mobile state file; give "
        "another one with --state",
    ),
    "state.newer": (
        "状态文件 {file} 来自更新版本的 wasteflow-mobile（格式 {version}）；请升级本程序。",
        "the state file {file} was written by a newer wasteflow-mobile (format {version}); "
        "upgrade this one",
    ),
    "state.error": ("状态文件 {file} 出错：{detail}", "the state file {file} failed: {detail}"),
    "state.corrupt": (
        "状态文件 {file} 已损坏（{detail}）。原文件原样保留为 {kept}，已新建状态文件。",
        "the state file {file} is damaged ({detail}). It was kept, untouched, as {kept}, "
        "and a fresh state file was started.",
    ),
    "state.salvaged": (
        "从旧文件找回发件箱 {items} 条（其中 {unsent} 条尚未到服务器），幂等键不变，不会重复记录。",
        "{items} outbox item(s) were recovered from it ({unsent} not yet on the server), "
        "with their idempotency keys: nothing will be recorded twice.",
    ),
    "state.salvaged_part": (
        "旧文件的发件箱只读出一部分：找回 {items} 条，其余仍在 {kept} 里，没有放进新文件。",
        "only part of its outbox could be read: {items} item(s) recovered; the rest are "
        "still in {kept} only.",
    ),
    "state.salvaged_none": (
        "旧文件的发件箱读不出来：其中的记录不在新文件里。请保留 {kept}，并告诉管理员。",
        "its outbox could not be read: the items in it are not in the new file. Keep {kept} "
        "and tell your administrator.",
    ),
    "state.login_again": (
        "请重新登录：wasteflow-mobile login 服务器地址 账号",
        "log in again: wasteflow-mobile login SERVER_URL USERNAME",
    ),
    # --- session -----------------------------------------------------------------------------
    "session.none": (
        "尚未登录：请先运行 `wasteflow-mobile login 服务器地址 账号`",
        "not logged in: run `wasteflow-mobile login SERVER_URL USERNAME`",
    ),
    "login.done": (
        "已登录 {server}，账号 {username}（{role}）；已缓存 {keys} 个签名公钥",
        "logged in to {server} as {username} ({role}); {keys} signing key(s) cached",
    ),
    "logout.done": ("已退出 {username}（{server}）", "logged out {username} from {server}"),
    "whoami.text": (
        "{username}（{role}），服务器 {server}\n"
        "  站点：{sites}；收运线路：{rounds}\n"
        "  登录有效期至 {expires}；已缓存 {keys} 个公钥（{fetched} 获取）\n"
        "  发件箱：{outbox}",
        "{username} ({role}) on {server}\n"
        "  sites: {sites}; rounds: {rounds}\n"
        "  token expires {expires}; {keys} key(s) cached at {fetched}\n"
        "  outbox: {outbox}",
    ),
    "count.state": ("{state} {n} 条", "{n} {state}"),
    "outbox.empty_word": ("空", "empty"),
    "refresh.done": (
        "已缓存 {keys} 个签名公钥和 {materials} 种物料",
        "cached {keys} signing key(s) and {materials} materials",
    ),
    "role.collector": ("回收员", "collector"),
    "role.site_operator": ("站点运营", "site_operator"),
    "role.processor": ("处理企业", "processor"),
    "role.official": ("官员", "official"),
    "role.admin": ("管理员", "admin"),
    "role.None": ("?", "?"),
    "api.refused": ("服务器拒绝：{status} {detail}", "the server said {status}: {detail}"),
    "api.unreachable": ("连不上服务器：{detail}", "server unreachable: {detail}"),
    # --- scanning ----------------------------------------------------------------------------
    "scan.image_or_payload": (
        "请给出 --image 或 --payload 中的一个（不能都给，也不能都不给）。",
        "give either --image or --payload, not both or neither",
    ),
    "scan.lat_lon": (
        "--lat 和 --lon 要一起给，或者都不给。",
        "give both --lat and --lon, or neither",
    ),
    "kg.not_number": ("{value!r} 不是一个千克数。", "{value!r} is not a number of kilograms"),
    "time.not_iso": (
        "时间 {value!r} 不是 ISO 8601 格式（例如 2025-06-01T09:30:00+08:00）。",
        "time {value!r} is not ISO 8601 (e.g. 2025-06-01T09:30:00+08:00)",
    ),
    "material.unknown": (
        "没有叫“{value}”的物料（{option}）。可选：{choices}",
        "no material {value!r} ({option}). Choose one of: {choices}",
    ),
    "material.ambiguous": (
        "“{value}”对应多种物料（{option}），请说清楚：{choices}",
        "{value!r} matches several materials ({option}); say which: {choices}",
    ),
    "route.unknown": (
        "没有叫“{value}”的处理方式（{option}）。可选：{choices}",
        "no treatment route {value!r} ({option}). Choose one of: {choices}",
    ),
    "route.ambiguous": (
        "“{value}”对应多种处理方式（{option}），请说清楚：{choices}",
        "{value!r} matches several treatment routes ({option}); say which: {choices}",
    ),
    "check.verified": ("已验证", "verified"),
    "check.unverified_offline": ("离线未验证", "unverified offline"),
    "check.by_code": ("按代码", "by code"),
    "check.invalid": ("无效：{why}", "invalid: {why}"),
    "note.unverified": (
        "这个牌子的签名公钥本机还没有（可能刚更换）：记录照常发送，由服务器核验。",
        "this plaque's signing key is not known on this phone yet (rotated since the last "
        "sync?): the scan is queued and the server checks it.",
    ),
    "qr.malformed": ("不是本系统的二维码", "not a wasteflow QR code"),
    "qr.unknown_kind": ("不认识的二维码类型", "a QR code of an unknown kind"),
    "qr.unknown_key": ("签名公钥未知", "signed by a key not known here"),
    "qr.revoked_key": (
        "签名公钥已作废，需要重新发码",
        "signed by a revoked key; it must be reissued",
    ),
    "qr.bad_signature": (
        "签名不符：二维码被改动、伪造或从别处复制",
        "the signature does not match: altered, forged or copied from elsewhere",
    ),
    "qr.wrong_kind": (
        "类型不对（例如把随车单当成了站点牌子）",
        "the wrong kind of code (a manifest where a plaque was expected, or the reverse)",
    ),
    "qr.foreign_base": ("来自别的服务", "issued by another service"),
    "qr.other": ("无法接受（{reason}）", "not accepted ({reason})"),
    # --- why a scan is held ------------------------------------------------------------------
    "problem.kg_min": ("{field}：必须大于 0", "{field}: must be greater than 0"),
    "problem.kg_min_zero": ("{field}：不能小于 0", "{field}: must be greater than or equal to 0"),
    "problem.decimals": (
        "{field}：最多 3 位小数（1 克），输入的是 {kg}",
        "{field}: at most 3 decimals (1 g), got {kg}",
    ),
    "problem.units_min": ("件数：至少 1 件", "units: must be at least 1"),
    "problem.load_cap": (
        "申报重量：{kg} kg 超过{name}每车上限 {cap} kg",
        "declared_mass_kg: {kg} kg is above the cap of {cap} kg for any load of {name}",
    ),
    "problem.units_missing": (
        "件数：{name}要同时记件数（--units）",
        "units: {name} is counted in units as well as kg (--units)",
    ),
    "problem.units_extra": ("件数：{name}不按件计", "units: {name} is not counted in units"),
    "problem.refused_over": (
        "拒收重量：不能大于实收重量",
        "refused_mass_kg: cannot exceed received_mass_kg",
    ),
    "problem.reason_missing": (
        "拒收原因：有拒收就要说明原因（--reason）",
        "refusal_reason: say why mass was refused (--reason)",
    ),
    "problem.reason_extra": ("拒收原因：没有拒收任何重量", "refusal_reason: nothing was refused"),
    "problem.reason_short": ("拒收原因：至少 3 个字", "refusal_reason: at least 3 characters"),
    "problem.qr": ("二维码：{why}", "QR code: {why}"),
    "field.declared_mass_kg": ("申报重量", "declared_mass_kg"),
    "field.received_mass_kg": ("实收重量", "received_mass_kg"),
    "field.refused_mass_kg": ("拒收重量", "refused_mass_kg"),
    "field.refusal_reason": ("拒收原因", "refusal_reason"),
    "field.source_plaque": ("站点牌子", "source_plaque"),
    "field.manifest": ("随车单", "manifest"),
    "field.to_site": ("接收站点", "to_site"),
    "field.material": ("物料", "material"),
    "field.units": ("件数", "units"),
    "field.received_units": ("实收件数", "received_units"),
    "field.device_time": ("设备时间", "device_time"),
    "field.route": ("处理方式", "route"),
    "field.reason": ("更正原因", "reason"),
    "field.returns": ("退回", "returns"),
    "field.lat": ("纬度", "lat"),
    "field.lon": ("经度", "lon"),
    "field.Idempotency-Key": ("幂等键", "Idempotency-Key"),
    # --- receipts and corrections ------------------------------------------------------------
    "receipt.already_queued": (
        "这车（{code}）的收货已在发件箱里等待发送（#{id}），没有再放一条；确要再放请加 --force。",
        "the receipt of {code} already waits in the outbox (#{id}); not queued again "
        "(--force queues another)",
    ),
    "receipt.already_sending": (
        "这车（{code}）的收货正在发送（#{id}），没有再放一条；确要再放请加 --force。",
        "the receipt of {code} is being sent (#{id}); not queued again (--force queues another)",
    ),
    "receipt.already_held": (
        "这车（{code}）的收货已在发件箱里，暂不发送（#{id}）：请用 `wasteflow-mobile outbox "
        "--retry {id}` 修改，或加 --force 再放一条。",
        "the receipt of {code} is already in the outbox, held (#{id}): fix it with "
        "`wasteflow-mobile outbox --retry {id}`, or --force to queue another",
    ),
    "receipt.already_sent": (
        "这车（{code}）已经确认收货（#{id}，{sent_as}），没有再放一条。要改请用 "
        "`wasteflow-mobile receive --correct 原因 …`。",
        "{code} was already confirmed from this outbox (#{id}, {sent_as}); not queued again. "
        "To change it: `wasteflow-mobile receive --correct REASON ...`",
    ),
    "receipt.already_refused": (
        "这车（{code}）的收货已被服务器拒绝（#{id}：{reason}），没有再放一条：请用 "
        "`wasteflow-mobile outbox --retry {id}` 修改后重发，或加 --force。",
        "the receipt of {code} was refused by the server (#{id}: {reason}); not queued again: "
        "fix it with `wasteflow-mobile outbox --retry {id}`, or --force",
    ),
    "correct.reason_short": (
        "--correct 后面要写更正原因，至少 3 个字。",
        "--correct needs the reason for the correction, 3 characters or more",
    ),
    "correct.one_load": (
        "请用 --code，或者 --image/--payload 指定那车，不要同时用。",
        "name the load by --code or by --image/--payload, not both",
    ),
    "correct.no_code": (
        "读不出随车单上的运单代码；请用 --code HO-… 指定。",
        "the manifest's handover code cannot be read; give it with --code HO-...",
    ),
    "correct.bad_code": (
        "{code} 不是运单代码（形如 HO-20250601-7K3Q9）。",
        "{code} is not a handover code (like HO-20250601-7K3Q9)",
    ),
    "correct.already_waiting": (
        "{code} 已有一条更正在等待发送（#{id}）；请先同步，再更正一次（或加 --force）。",
        "a correction of {code} already waits to be sent (#{id}); sync first, then correct "
        "again (or --force)",
    ),
    "receive.code_needs_correct": (
        "--code 只用于更正（--correct 原因）；确认收货请扫描随车单。",
        "--code is for corrections (--correct REASON); to confirm a load, scan its manifest",
    ),
    # --- the outbox --------------------------------------------------------------------------
    "state.held": ("暂不发送", "held"),
    "state.queued": ("等待发送", "queued"),
    "state.sending": ("正在发送", "sending"),
    "state.sent": ("已发送", "sent"),
    "state.refused": ("被拒绝", "refused"),
    "state.dropped": ("已放弃", "dropped"),
    "result.created": ("新记录", "created"),
    "result.duplicate": ("服务器已有", "duplicate"),
    "result.confirmed": ("已确认", "confirmed"),
    "result.corrected": ("已更正", "corrected"),
    "kind.handover": ("交接", "handover"),
    "kind.receipt": ("收货", "receipt"),
    "kind.correction": ("收货更正", "correction"),
    "describe.handover": (
        "{subject}，{kg} kg {material}{units}",
        "{subject}, {kg} kg {material}{units}",
    ),
    "describe.units": ("（{n} 件）", " ({n} units)"),
    "describe.receipt": (
        "收货 {subject}：{kg} kg{refused}{route}",
        "receipt of {subject}: {kg} kg{refused}{route}",
    ),
    "describe.correction": (
        "更正收货 {subject}：{kg} kg{refused}{route}（原因：{why}）",
        "correction of {subject}: {kg} kg{refused}{route} (because: {why})",
    ),
    "describe.refused": ("，拒收 {kg} kg", ", refused {kg} kg"),
    "describe.route": ("，{route}", ", {route}"),
    "line.sent": ("已发送 {code}（{result}）", "sent {code} ({result})"),
    "line.refused": ("被拒绝：{reason}", "refused: {reason}"),
    "line.held": ("暂不发送：{reason}", "held: {reason}"),
    "line.last_try": ("{state}（上次：{error}）", "{state} (last try: {error})"),
    "queued.done": (
        "已放进发件箱 #{id}（幂等键 {key}）：{what} [{check}]",
        "queued #{id} (key {key}): {what} [{check}]",
    ),
    "queued.held": ("暂不发送 #{id}：{what}", "held #{id}: {what}"),
    "queued.held_why": ("  改正之前不会发送：{reason}", "  not sent until fixed: {reason}"),
    "queued.held_fix": (
        "  用 `wasteflow-mobile outbox --retry {id} …` 改正，或用 "
        "`wasteflow-mobile drop {id}` 放弃",
        "  fix it with `wasteflow-mobile outbox --retry {id} ...` or give it up with "
        "`wasteflow-mobile drop {id}`",
    ),
    "requeued": (
        "已重新放回队列 #{id}（幂等键 {key}）：{what}",
        "requeued #{id} (key {key}): {what}",
    ),
    "dropped": ("已放弃 #{id}：{what}", "dropped #{id}: {what}"),
    "outbox.empty": ("发件箱是空的", "the outbox is empty"),
    "outbox.bad_state": (
        "--only {value!r}：只能是 {choices}",
        "--only {value!r}: one of {choices}",
    ),
    "outbox.no_item": ("发件箱里没有 #{id}", "no outbox item #{id}"),
    "outbox.cannot_retry": (
        "#{id} 的状态是“{state}”；只有暂不发送或被拒绝的记录可以重发",
        "item {id} is {state}; only held or refused items can be retried",
    ),
    "outbox.cannot_drop": (
        "#{id} 的状态是“{state}”；只有暂不发送、等待或被拒绝的记录可以放弃"
        "（正在发送的可能已到服务器）",
        "item {id} is {state}; only held, queued or refused items can be dropped (a sending "
        "item may already be on the server)",
    ),
    "retry.wrong_options": (
        "#{id} 是{kind}：这些选项对它不适用",
        "item {id} is a {kind}: those options do not apply to it",
    ),
    "retry.still_refused": (
        "#{id} 改后仍会被拒绝：{problems}",
        "item {id} would still be refused: {problems}",
    ),
    # --- sync --------------------------------------------------------------------------------
    "sync.progress": ("  进度 {done} / {total}", "  {done} / {total}"),
    "sync.sent": (
        "交接已发送 {sent}（新 {created}，服务器已有 {duplicates}）",
        "sent {sent} ({created} new, {duplicates} already there)",
    ),
    "sync.refused": (
        "被拒绝 {n}（见 `wasteflow-mobile outbox`）",
        "refused {n} (see `wasteflow-mobile outbox`)",
    ),
    "sync.receipts": ("收货已确认 {n}，被拒绝 {refused}", "receipts {n}, refused {refused}"),
    "sync.corrections": (
        "收货更正 {n}，被拒绝 {refused}",
        "corrections {n}, refused {refused}",
    ),
    "sync.waiting": ("等待 {n}", "{n} waiting"),
    "sync.held": ("暂不发送 {n}（待改正）", "{n} held until fixed"),
    "sync.busy": (
        "另一个同步正在运行（进程 {pid}，状态文件 {file}）；没有发送。请等它结束后再试。",
        "another sync is running on {file} (process {pid}); nothing was sent. Try again when "
        "it has finished.",
    ),
    "stop.unreachable": (
        "连不上服务器（{detail}）；记录留在发件箱，下次同步再发",
        "server unreachable ({detail}); the items stay in the outbox and will be resent",
    ),
    "stop.login": (
        "服务器不接受登录（{detail}）；请用 `wasteflow-mobile login` 重新登录，记录留在发件箱",
        "the server refused the login ({detail}); log in again with `wasteflow-mobile login`, "
        "the items stay in the outbox",
    ),
    "stop.refused": (
        "服务器拒绝了整个请求：{detail}；记录留在发件箱",
        "the server refused the whole request: {detail}; the items stay in the outbox",
    ),
    "stop.not_batch": (
        "服务器的回复不是批量结果（{detail}）；记录留在发件箱",
        "the server's answer was not a batch result ({detail}); the items stay in the outbox",
    ),
    "stop.missing": (
        "批量回复少了 {n} 条的结果；它们留在发件箱",
        "the batch answer lacked {n} item(s); they stay in the outbox",
    ),
}
