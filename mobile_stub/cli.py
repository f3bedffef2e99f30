"""The ``wasteflow-mobile`` command: the field client from a terminal, in Chinese or English.

Exit codes: 0 done; 1 the server could not be reached or refused a whole request (nothing is
lost: the outbox keeps everything); 2 bad usage, an unreadable file, not logged in; 3 a scan
was kept ``held`` because the server would certainly refuse it (fix it with ``outbox
--retry``, or ``drop``); 4 another ``sync`` of the same state file is running; 5 a receipt (or
correction) of that load is already in the outbox (``--force`` queues another anyway).

Help texts below are keys of :data:`mobile_stub.messages.MESSAGES`; :mod:`mobile_stub.cli_runtime`
puts them in the run's language.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from mobile_stub import cli_runtime
from mobile_stub.client import ApiError, RetryPolicy, Unreachable
from mobile_stub.i18n import LANGS, UserError, has, language, msg, t
from mobile_stub.phone import STATE_ENV, SYNC_LOCK_WAIT_S, Phone, default_state_path
from mobile_stub.scanning import BY_CODE, INVALID, UNVERIFIED, VERIFIED, image_bytes, qr_reason
from mobile_stub.store import STATES, OutboxItem
from mobile_stub.sync import DEFAULT_CHUNK, SyncReport

typer_app = typer.Typer(
    help="h.app",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

StatePath = Annotated[
    Path | None,
    typer.Option("--state", envvar=STATE_ENV, help="h.opt.state", show_default=False),
]
LangOpt = Annotated[str | None, typer.Option("--lang", help="h.opt.lang", show_default=False)]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(t("error", message=message), fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _warn(message: str) -> None:
    typer.secho(message, fg=typer.colors.YELLOW, err=True)


@typer_app.callback()
def main(ctx: typer.Context, state: StatePath = None, lang: LangOpt = None) -> None:
    """Every command works on one state file: the session, caches and the outbox."""
    if lang is not None and lang not in LANGS:
        raise _fail(t("usage.bad_lang", value=lang, choices=", ".join(LANGS)), 2)
    ctx.obj = {"state": state or default_state_path()}


@contextmanager
def _phone(ctx: typer.Context, retry: RetryPolicy | None = None) -> Iterator[Phone]:
    """The phone of this state file; every failure becomes one message and an exit code."""
    phone: Phone | None = None
    try:
        phone = Phone(ctx.obj["state"], retry=retry)
        if phone.recovered is not None:
            for line in phone.recovered.messages():
                _warn(t("warning", message=line.text()))
        yield phone
    except UserError as exc:
        raise _fail(exc.text(), exc.exit_code) from exc
    except ApiError as exc:
        raise _fail(t("api.refused", status=exc.status, detail=exc.detail)) from exc
    except Unreachable as exc:
        raise _fail(t("api.unreachable", detail=str(exc))) from exc
    except sqlite3.Error as exc:
        raise _fail(t("state.error", file=str(ctx.obj["state"]), detail=str(exc))) from exc
    finally:
        if phone is not None:
            phone.close()


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


# --- session --------------------------------------------------------------------------------


@typer_app.command(help="h.login")
def login(
    ctx: typer.Context,
    server_url: Annotated[str, typer.Argument(help="h.arg.server_url")],
    username: Annotated[str, typer.Argument(help="h.arg.username")],
    password: Annotated[
        str | None, typer.Option(envvar="WASTEFLOW_MOBILE_PASSWORD", help="h.opt.password")
    ] = None,
) -> None:
    password = password or typer.prompt(t("prompt.password"), hide_input=True)
    with _phone(ctx, RetryPolicy(attempts=3, base_delay=0.5, deadline=30)) as phone:
        s = phone.login(server_url, username, password)
        who = phone.whoami()
    typer.echo(
        t(
            "login.done",
            server=s.server,
            username=s.username,
            role=msg(f"role.{s.account.get('role')}"),
            keys=who["keys_cached"],
        )
    )


@typer_app.command(help="h.logout")
def logout(ctx: typer.Context) -> None:
    with _phone(ctx) as phone:
        s = phone.session()
        phone.logout()
    typer.echo(t("logout.done", username=s.username, server=s.server))


@typer_app.command(help="h.whoami")
def whoami(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="h.opt.json")] = False
) -> None:
    with _phone(ctx) as phone:
        who = phone.whoami()
    if as_json:
        _echo_json(who)
        return
    sep = "、" if language() == "zh" else ", "
    box = sep.join(
        t("count.state", n=n, state=t(f"state.{s}")) for s, n in who["outbox"].items() if n
    )
    typer.echo(
        t(
            "whoami.text",
            username=who["username"],
            role=msg(f"role.{who['role']}"),
            server=who["server"],
            sites=sep.join(who["sites"]) or "-",
            rounds=sep.join(who["rounds"]) or "-",
            expires=_local(who["token_expires_at"]),
            keys=who["keys_cached"],
            fetched=_local(who["keys_fetched_at"]),
            outbox=box or t("outbox.empty_word"),
        )
    )


@typer_app.command(help="h.refresh")
def refresh(ctx: typer.Context) -> None:
    with _phone(ctx) as phone:
        keys, materials = phone.refresh()
    typer.echo(t("refresh.done", keys=keys, materials=materials))


# --- what an outbox item says ----------------------------------------------------------------


def _local(iso: str | None) -> str:
    """A stored UTC time as this machine's local time, to the minute."""
    if not iso:
        return "-"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


class _Words:
    """Material and route names of the servers whose items are shown (cached, offline)."""

    def __init__(self, phone: Phone):
        self.phone = phone
        self.materials: dict[str, dict[str, tuple[str, str]]] = {}

    def material(self, server: str, code: str) -> str:
        if server not in self.materials:
            cached = self.phone.store.materials(server)
            self.materials[server] = {c: (m.name_zh, m.name_en) for c, m in cached.items()}
        zh, _ = self.materials[server].get(code, ("", ""))
        return zh if zh and language() == "zh" else code

    def describe(self, item: OutboxItem) -> str:
        b = item.body
        if item.kind == "handover":
            units = t("describe.units", n=b["units"]) if b.get("units") is not None else ""
            material = self.material(item.server, b["material"])
            return t(
                "describe.handover",
                subject=item.subject,
                kg=b["declared_mass_kg"],
                material=material,
                units=units,
            )
        refused = t("describe.refused", kg=b["refused_mass_kg"]) if b.get("refused_mass_kg") else ""
        route = t("describe.route", route=b["route"]) if b.get("route") else ""
        if item.kind == "correction":
            return t(
                "describe.correction",
                subject=item.subject,
                kg=b["received_mass_kg"],
                refused=refused,
                route=route,
                why=b.get("reason", ""),
            )
        return t(
            "describe.receipt",
            subject=item.subject,
            kg=b["received_mass_kg"],
            refused=refused,
            route=route,
        )


def _check(label: str) -> str:
    if label in (VERIFIED, UNVERIFIED, BY_CODE):
        return t(f"check.{label.replace(' ', '_')}")
    if label.startswith(INVALID):
        return t("check.invalid", why=qr_reason(label.partition(": ")[2]))
    return label


def _reason(item: OutboxItem) -> str:
    """Why an item is held (its problems, in the run's language) or refused (the server's)."""
    if item.problems:
        return "; ".join(p.text() for p in item.problems)
    reason = item.reason or ""
    if item.reason_field and language() == "zh":
        key = f"field.{item.reason_field}"
        label = msg(key).text() if has(key) else item.reason_field
        return f"（{label}）{reason}"
    return reason


def _state(item: OutboxItem) -> str:
    if item.state == "sent":
        result = t(f"result.{item.result}") if has(f"result.{item.result}") else item.result
        return t("line.sent", code=item.code, result=result)
    if item.state in ("refused", "held"):
        return t(f"line.{item.state}", reason=_reason(item))
    if item.last_error:
        return t("line.last_try", state=t(f"state.{item.state}"), error=item.last_error)
    return t(f"state.{item.state}")


def _line(words: _Words, item: OutboxItem) -> str:
    return (
        f"#{item.id:<5} {_local(item.created_at)}  {words.describe(item)}  "
        f"[{_check(item.scan_check)}]  {_state(item)}"
    )


def _report_queued(phone: Phone, item: OutboxItem) -> None:
    what = _Words(phone).describe(item)
    if item.state == "held":
        typer.secho(t("queued.held", id=item.id, what=what), fg=typer.colors.YELLOW)
        _warn(t("queued.held_why", reason=_reason(item)))
        typer.echo(t("queued.held_fix", id=item.id), err=True)
        raise typer.Exit(3)
    typer.echo(
        t(
            "queued.done",
            id=item.id,
            key=item.idempotency_key,
            what=what,
            check=_check(item.scan_check),
        )
    )
    if item.scan_check == UNVERIFIED:
        typer.echo("  " + t("note.unverified"), err=True)


# --- scanning -------------------------------------------------------------------------------

ImageOpt = Annotated[Path | None, typer.Option("--image", help="h.opt.image")]
PayloadOpt = Annotated[str | None, typer.Option("--payload", help="h.opt.payload")]


@typer_app.command(help="h.scan")
def scan(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help="h.opt.to")],
    material: Annotated[str, typer.Option(help="h.opt.material")],
    kg: Annotated[str, typer.Option("--kg", help="h.opt.kg")],
    image: ImageOpt = None,
    payload: PayloadOpt = None,
    units: Annotated[int | None, typer.Option(help="h.opt.units")] = None,
    estimated: Annotated[bool, typer.Option(help="h.opt.estimated")] = False,
    time: Annotated[str | None, typer.Option("--time", help="h.opt.time")] = None,
    lat: Annotated[float | None, typer.Option(help="h.opt.lat")] = None,
    lon: Annotated[float | None, typer.Option(help="h.opt.lon")] = None,
    returns: Annotated[str | None, typer.Option(help="h.opt.returns")] = None,
) -> None:
    with _phone(ctx) as phone:
        if image is not None:
            image_bytes(image)  # a missing or unreadable file is said before anything else
        item = phone.scan_handover(
            to_site=to,
            material=material,
            kg=kg,
            payload=payload,
            image=image,
            units=units,
            estimated=estimated,
            device_time=time,
            lat=lat,
            lon=lon,
            returns=returns,
        )
        _report_queued(phone, item)


@typer_app.command(help="h.receive")
def receive(
    ctx: typer.Context,
    received_kg: Annotated[str, typer.Option("--received-kg", help="h.opt.received_kg")],
    image: ImageOpt = None,
    payload: PayloadOpt = None,
    refused_kg: Annotated[str | None, typer.Option("--refused-kg", help="h.opt.refused_kg")] = None,
    reason: Annotated[str | None, typer.Option(help="h.opt.reason")] = None,
    route: Annotated[str | None, typer.Option(help="h.opt.route")] = None,
    received_units: Annotated[
        int | None, typer.Option("--received-units", help="h.opt.received_units")
    ] = None,
    correct: Annotated[
        str | None, typer.Option("--correct", metavar="REASON", help="h.opt.correct")
    ] = None,
    code: Annotated[str | None, typer.Option("--code", help="h.opt.code")] = None,
    force: Annotated[bool, typer.Option("--force", help="h.opt.force")] = False,
) -> None:
    with _phone(ctx) as phone:
        if image is not None:
            image_bytes(image)
        if correct is None and code is not None:
            raise UserError("receive.code_needs_correct")
        intake: dict[str, Any] = {
            "received_kg": received_kg,
            "payload": payload,
            "image": image,
            "refused_kg": refused_kg,
            "reason": reason,
            "route": route,
            "received_units": received_units,
            "force": force,
        }
        if correct is not None:
            item = phone.correct_receipt(why=correct, code=code, **intake)
        else:
            item = phone.scan_receipt(**intake)
        _report_queued(phone, item)


# --- outbox ---------------------------------------------------------------------------------


@typer_app.command(help="h.outbox")
def outbox(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="h.opt.json")] = False,
    state: Annotated[list[str] | None, typer.Option("--only", help="h.opt.only")] = None,
    everyone: Annotated[bool, typer.Option("--all", help="h.opt.all")] = False,
    retry: Annotated[int | None, typer.Option(metavar="ID", help="h.opt.retry")] = None,
    kg: Annotated[str | None, typer.Option("--kg", help="h.opt.fix")] = None,
    units: Annotated[int | None, typer.Option(help="h.opt.fix")] = None,
    to: Annotated[str | None, typer.Option("--to", help="h.opt.fix")] = None,
    material: Annotated[str | None, typer.Option(help="h.opt.fix")] = None,
    time: Annotated[str | None, typer.Option("--time", help="h.opt.fix")] = None,
    received_kg: Annotated[str | None, typer.Option("--received-kg", help="h.opt.fix")] = None,
    refused_kg: Annotated[str | None, typer.Option("--refused-kg", help="h.opt.fix")] = None,
    reason: Annotated[str | None, typer.Option(help="h.opt.fix")] = None,
    route: Annotated[str | None, typer.Option(help="h.opt.fix")] = None,
    correct: Annotated[
        str | None, typer.Option("--correct", metavar="REASON", help="h.opt.fix_correct")
    ] = None,
) -> None:
    with _phone(ctx) as phone:
        if retry is not None:
            item = phone.retry(
                retry,
                kg=kg,
                units=units,
                to_site=to,
                material=material,
                device_time=time,
                received_kg=received_kg,
                refused_kg=refused_kg,
                reason=reason,
                route=route,
                why=correct,
            )
            what = _Words(phone).describe(item)
            typer.echo(t("requeued", id=item.id, key=item.idempotency_key, what=what))
            return
        for s in state or []:
            if s not in STATES:
                raise UserError("outbox.bad_state", value=s, choices=", ".join(STATES))
        items = phone.outbox(states=state, everyone=everyone)
        if as_json:
            _echo_json([i.as_dict() for i in items])
            return
        words = _Words(phone)
        for item in items:
            typer.echo(_line(words, item))
    if not items:
        typer.echo(t("outbox.empty"))


@typer_app.command(help="h.drop")
def drop(
    ctx: typer.Context, item_id: Annotated[int, typer.Argument(metavar="ID", help="h.arg.id")]
) -> None:
    with _phone(ctx) as phone:
        item = phone.drop(item_id)
        typer.echo(t("dropped", id=item.id, what=_Words(phone).describe(item)))


# --- sync -----------------------------------------------------------------------------------


def _summary(report: SyncReport) -> str:
    parts = [t("sync.sent", sent=report.sent, created=report.created, duplicates=report.duplicates)]
    if report.refused:
        parts.append(t("sync.refused", n=report.refused))
    if report.receipts or report.receipts_refused:
        parts.append(t("sync.receipts", n=report.receipts, refused=report.receipts_refused))
    if report.corrections or report.corrections_refused:
        parts.append(
            t("sync.corrections", n=report.corrections, refused=report.corrections_refused)
        )
    parts.append(t("sync.waiting", n=report.pending))
    if report.held:
        parts.append(t("sync.held", n=report.held))
    return t("list.sep").join(parts)


@typer_app.command(help="h.sync")
def sync(
    ctx: typer.Context,
    chunk: Annotated[int, typer.Option(help="h.opt.chunk")] = DEFAULT_CHUNK,
    attempts: Annotated[int, typer.Option(help="h.opt.attempts")] = 6,
    base_delay: Annotated[float, typer.Option(help="h.opt.base_delay")] = 0.5,
    max_delay: Annotated[float, typer.Option(help="h.opt.max_delay")] = 20.0,
    deadline: Annotated[float, typer.Option(help="h.opt.deadline")] = 120.0,
    wait: Annotated[float, typer.Option(help="h.opt.wait")] = SYNC_LOCK_WAIT_S,
    as_json: Annotated[bool, typer.Option("--json", help="h.opt.json")] = False,
    quiet: Annotated[bool, typer.Option(help="h.opt.quiet")] = False,
) -> None:
    policy = RetryPolicy(
        attempts=attempts, base_delay=base_delay, max_delay=max_delay, deadline=deadline
    )

    def progress(r: SyncReport) -> None:
        if not quiet and not as_json:
            typer.echo(t("sync.progress", done=r.done, total=r.total), err=True)

    if not 1 <= chunk <= 5000:
        raise _fail(t("usage.chunk"), 2)
    with _phone(ctx, policy) as phone:
        report = phone.sync(chunk=chunk, progress=progress, lock_wait=wait)
    if as_json:
        _echo_json(report.as_dict())
    else:
        typer.echo(_summary(report))
    if report.stopped:
        why = report.stopped_msg.text() if report.stopped_msg else report.stopped
        raise _fail(why)


# --- simulate -------------------------------------------------------------------------------


@typer_app.command(help="h.simulate")
def simulate(
    server_url: Annotated[str, typer.Argument(help="h.arg.demo_server")],
    seed: Annotated[int, typer.Option(help="h.opt.seed")] = 2025,
    collectors: Annotated[int, typer.Option(help="h.opt.collectors")] = 3,
    collector: Annotated[list[str] | None, typer.Option(help="h.opt.collector")] = None,
    days: Annotated[int, typer.Option(help="h.opt.days")] = 1,
    scans_per_day: Annotated[int, typer.Option(help="h.opt.scans_per_day")] = 20,
    offline_probability: Annotated[float, typer.Option(help="h.opt.offline_probability")] = 0.3,
    lost_response_probability: Annotated[
        float, typer.Option(help="h.opt.lost_response_probability")
    ] = 0.02,
    concurrency: Annotated[int, typer.Option(help="h.opt.concurrency")] = 4,
    chunk: Annotated[int, typer.Option(help="h.opt.chunk")] = DEFAULT_CHUNK,
    admin: Annotated[str, typer.Option(help="h.opt.admin")] = "admin",
    password: Annotated[
        str, typer.Option(envvar="WASTEFLOW_MOBILE_PASSWORD", help="h.opt.sim_password")
    ] = "wulong-demo-2025",
    admin_password: Annotated[str | None, typer.Option(help="h.opt.admin_password")] = None,
    workdir: Annotated[Path | None, typer.Option(help="h.opt.workdir")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="h.opt.json")] = False,
) -> None:
    from mobile_stub.simulate import SimulationConfig, run_simulation

    config = SimulationConfig(
        server=server_url,
        seed=seed,
        collectors=collectors,
        days=days,
        scans_per_day=scans_per_day,
        offline_probability=offline_probability,
        lost_response_probability=lost_response_probability,
        concurrency=concurrency,
        chunk=chunk,
        admin=admin,
        password=password,
        admin_password=admin_password,
        workdir=workdir,
        only=collector or None,
    )
    try:
        summary = run_simulation(config, log=None if as_json else _log)
    except UserError as exc:
        raise _fail(exc.text(), exc.exit_code) from exc
    except (ApiError, Unreachable, ValueError) as exc:
        raise _fail(str(exc)) from exc
    except OSError as exc:
        raise _fail(t("file.error", file=exc.filename, detail=exc.strerror or str(exc)), 2) from exc
    if as_json:
        _echo_json(summary.as_dict())
    else:
        typer.echo(summary.text())


def _log(message: str) -> None:
    typer.echo(message, err=True)


class _Main:
    """What ``wasteflow-mobile`` runs (the console script points at ``app``)."""

    def __call__(self, argv: Sequence[str] | None = None) -> None:
        sys.exit(cli_runtime.run(typer_app, argv))


app = _Main()
