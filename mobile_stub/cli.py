"""The ``wasteflow-mobile`` command: the field client from a terminal.

Exit codes: 0 done; 1 the server could not be reached or refused a whole request (nothing is
lost: the outbox keeps everything); 2 bad usage or not logged in; 3 a scan was kept ``held``
because the server would certainly refuse it (fix it with ``outbox --retry``, or ``drop``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from mobile_stub.client import ApiError, RetryPolicy, Unreachable
from mobile_stub.phone import STATE_ENV, NotLoggedIn, Phone, default_state_path
from mobile_stub.scanning import ScanError
from mobile_stub.store import STATES, OutboxItem
from mobile_stub.sync import DEFAULT_CHUNK, SyncReport

app = typer.Typer(
    help="wasteflow-mobile: the offline-first field client (scan, queue, sync).",
    no_args_is_help=True,
    add_completion=False,
)

StatePath = Annotated[
    Path | None,
    typer.Option(
        "--state",
        envvar=STATE_ENV,
        help="The SQLite state file (default ~/.wasteflow-mobile.db).",
        show_default=False,
    ),
]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


@app.callback()
def main(ctx: typer.Context, state: StatePath = None) -> None:
    """Every command works on one state file: the session, caches and the outbox."""
    ctx.obj = {"state": state or default_state_path()}


@contextmanager
def _phone(ctx: typer.Context, retry: RetryPolicy | None = None) -> Iterator[Phone]:
    phone = Phone(ctx.obj["state"], retry=retry)
    try:
        yield phone
    except NotLoggedIn as exc:
        raise _fail(str(exc), 2) from exc
    except (ScanError, ValueError, KeyError) as exc:
        raise _fail(str(exc).strip("'\""), 2) from exc
    except ApiError as exc:
        raise _fail(f"the server said {exc}") from exc
    except Unreachable as exc:
        raise _fail(f"server unreachable: {exc}") from exc
    finally:
        phone.close()


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


# --- session --------------------------------------------------------------------------------


@app.command()
def login(
    ctx: typer.Context,
    server_url: Annotated[str, typer.Argument(help="e.g. http://127.0.0.1:8000")],
    username: Annotated[str, typer.Argument()],
    password: Annotated[
        str | None,
        typer.Option(envvar="WASTEFLOW_MOBILE_PASSWORD", help="Asked for when not given."),
    ] = None,
) -> None:
    """Log in (online, once) and cache the signing keys and the materials catalogue."""
    password = password or typer.prompt("password", hide_input=True)
    with _phone(ctx, RetryPolicy(attempts=3, base_delay=0.5, deadline=30)) as phone:
        s = phone.login(server_url, username, password)
        who = phone.whoami()
    typer.echo(
        f"logged in to {s.server} as {s.username} ({s.account.get('role')}); "
        f"{who['keys_cached']} signing key(s) cached"
    )


@app.command()
def logout(ctx: typer.Context) -> None:
    """Forget the token (revoked on the server when reachable); the outbox stays."""
    with _phone(ctx) as phone:
        s = phone.session()
        phone.logout()
    typer.echo(f"logged out {s.username} from {s.server}")


@app.command()
def whoami(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The current session and the outbox of its account (works offline)."""
    with _phone(ctx) as phone:
        who = phone.whoami()
    if as_json:
        _echo_json(who)
        return
    box = ", ".join(f"{n} {s}" for s, n in who["outbox"].items() if n) or "empty"
    typer.echo(
        f"{who['username']} ({who['role']}) on {who['server']}\n"
        f"  sites: {', '.join(who['sites']) or '-'}; rounds: {', '.join(who['rounds']) or '-'}\n"
        f"  token expires {who['token_expires_at']}; {who['keys_cached']} key(s) cached "
        f"at {who['keys_fetched_at']}\n"
        f"  outbox: {box}"
    )


@app.command()
def refresh(ctx: typer.Context) -> None:
    """Fetch the server's public keys and materials catalogue now."""
    with _phone(ctx) as phone:
        keys, materials = phone.refresh()
    typer.echo(f"cached {keys} signing key(s) and {materials} materials")


# --- scanning -------------------------------------------------------------------------------

ImageOpt = Annotated[
    Path | None, typer.Option("--image", help="A photo or image file of the QR code.")
]
PayloadOpt = Annotated[str | None, typer.Option("--payload", help="The QR's text, typed.")]


def _report_queued(item: OutboxItem) -> None:
    what = _describe(item)
    if item.state == "held":
        typer.secho(f"held #{item.id}: {what}", fg=typer.colors.YELLOW)
        typer.secho(f"  not sent until fixed: {item.reason}", fg=typer.colors.YELLOW, err=True)
        typer.echo(
            f"  fix it with `wasteflow-mobile outbox --retry {item.id} ...` "
            f"or give it up with `wasteflow-mobile drop {item.id}`",
            err=True,
        )
        raise typer.Exit(3)
    typer.echo(f"queued #{item.id} (key {item.idempotency_key}): {what} [{item.scan_check}]")
    if item.note:
        typer.echo(f"  {item.note}", err=True)


@app.command()
def scan(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help="Code of the receiving site.")],
    material: Annotated[str, typer.Option(help="Material code, e.g. film.agri.")],
    kg: Annotated[str, typer.Option("--kg", help="Mass in kg, at most 3 decimals.")],
    image: ImageOpt = None,
    payload: PayloadOpt = None,
    units: Annotated[int | None, typer.Option(help="Number of items (appliances).")] = None,
    estimated: Annotated[bool, typer.Option(help="The mass was estimated, not weighed.")] = False,
    time: Annotated[
        str | None, typer.Option("--time", help="Device time, ISO 8601 (default: now).")
    ] = None,
    lat: Annotated[float | None, typer.Option()] = None,
    lon: Annotated[float | None, typer.Option()] = None,
    returns: Annotated[
        str | None, typer.Option(help="Code of the refused load this sends back.")
    ] = None,
) -> None:
    """Scan a site's plaque and queue the handover (works offline)."""
    with _phone(ctx) as phone:
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
    _report_queued(item)


@app.command()
def receive(
    ctx: typer.Context,
    received_kg: Annotated[str, typer.Option("--received-kg", help="Weighed mass, kg.")],
    image: ImageOpt = None,
    payload: PayloadOpt = None,
    refused_kg: Annotated[str | None, typer.Option("--refused-kg")] = None,
    reason: Annotated[str | None, typer.Option(help="Why mass was refused.")] = None,
    route: Annotated[str | None, typer.Option(help="Treatment route (processors).")] = None,
    received_units: Annotated[int | None, typer.Option("--received-units")] = None,
) -> None:
    """Scan a load's manifest and queue the confirmation of its intake (works offline)."""
    with _phone(ctx) as phone:
        item = phone.scan_receipt(
            payload=payload,
            image=image,
            received_kg=received_kg,
            refused_kg=refused_kg,
            reason=reason,
            route=route,
            received_units=received_units,
        )
    _report_queued(item)


# --- outbox ---------------------------------------------------------------------------------


def _describe(item: OutboxItem) -> str:
    b = item.body
    if item.kind == "handover":
        units = f" ({b['units']} units)" if b.get("units") is not None else ""
        return f"{item.subject}, {b['declared_mass_kg']} kg {b['material']}{units}"
    refused = f", refused {b['refused_mass_kg']} kg" if b.get("refused_mass_kg") else ""
    return f"receipt of {item.subject}: {b['received_mass_kg']} kg{refused}"


def _line(item: OutboxItem) -> str:
    state = item.state
    if state == "sent":
        state = f"sent {item.code} ({item.result})"
    elif state in ("refused", "held"):
        state = f"{state}: {item.reason}"
    elif item.last_error:
        state = f"{state} (last try: {item.last_error})"
    return f"#{item.id:<5} {item.created_at}  {_describe(item)}  [{item.scan_check}]  {state}"


@app.command()
def outbox(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    state: Annotated[
        list[str] | None,
        typer.Option("--only", help=f"Only items in this state (repeat): {STATES}."),
    ] = None,
    everyone: Annotated[
        bool, typer.Option("--all", help="Items of every account in this file.")
    ] = False,
    retry: Annotated[
        int | None, typer.Option(help="Queue this held or refused item again (fixed with:)")
    ] = None,
    kg: Annotated[str | None, typer.Option("--kg")] = None,
    units: Annotated[int | None, typer.Option()] = None,
    to: Annotated[str | None, typer.Option("--to")] = None,
    material: Annotated[str | None, typer.Option()] = None,
    time: Annotated[str | None, typer.Option("--time")] = None,
    received_kg: Annotated[str | None, typer.Option("--received-kg")] = None,
    refused_kg: Annotated[str | None, typer.Option("--refused-kg")] = None,
    reason: Annotated[str | None, typer.Option()] = None,
    route: Annotated[str | None, typer.Option()] = None,
) -> None:
    """List queued, sent and refused items; or requeue one with --retry ID (and fixes)."""
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
            )
            typer.echo(f"requeued #{item.id} (key {item.idempotency_key}): {_describe(item)}")
            return
        for s in state or []:
            if s not in STATES:
                raise ValueError(f"--only {s!r}: one of {', '.join(STATES)}")
        items = phone.outbox(states=state, everyone=everyone)
    if as_json:
        _echo_json([i.as_dict() for i in items])
        return
    for item in items:
        typer.echo(_line(item))
    if not items:
        typer.echo("the outbox is empty")


@app.command()
def drop(ctx: typer.Context, item_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Give up a held, queued or refused item (it stays listed as dropped, never sent)."""
    with _phone(ctx) as phone:
        item = phone.drop(item_id)
    typer.echo(f"dropped #{item.id}: {_describe(item)}")


# --- sync -----------------------------------------------------------------------------------


def _summary(report: SyncReport) -> str:
    parts = [f"sent {report.sent} ({report.created} new, {report.duplicates} already there)"]
    if report.refused:
        parts.append(f"refused {report.refused} (see `wasteflow-mobile outbox`)")
    if report.receipts or report.receipts_refused:
        parts.append(f"receipts {report.receipts}, refused {report.receipts_refused}")
    parts.append(f"{report.pending} waiting")
    if report.held:
        parts.append(f"{report.held} held until fixed")
    return "; ".join(parts)


@app.command()
def sync(
    ctx: typer.Context,
    chunk: Annotated[int, typer.Option(help="Items per batch request (1-5000).")] = DEFAULT_CHUNK,
    attempts: Annotated[int, typer.Option(help="Tries per request.")] = 6,
    base_delay: Annotated[float, typer.Option(help="First backoff wait, s.")] = 0.5,
    max_delay: Annotated[float, typer.Option(help="Longest backoff wait, s.")] = 20.0,
    deadline: Annotated[float, typer.Option(help="Give a request up after, s.")] = 120.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress lines.")] = False,
) -> None:
    """Send the outbox: batches of handovers, then receipts; retried with backoff."""
    policy = RetryPolicy(
        attempts=attempts, base_delay=base_delay, max_delay=max_delay, deadline=deadline
    )

    def progress(r: SyncReport) -> None:
        if not quiet and not as_json:
            typer.echo(f"  batch {r.batches}: {r.sent} sent, {r.refused} refused", err=True)

    with _phone(ctx, policy) as phone:
        report = phone.sync(chunk=chunk, progress=progress)
    if as_json:
        _echo_json(report.as_dict())
    else:
        typer.echo(_summary(report))
    if report.stopped:
        raise _fail(report.stopped)


# --- simulate -------------------------------------------------------------------------------


@app.command()
def simulate(
    server_url: Annotated[str, typer.Argument(help="A server with the demo district.")],
    seed: Annotated[int, typer.Option()] = 2025,
    collectors: Annotated[int, typer.Option(help="Collectors to play (a seeded pick).")] = 3,
    collector: Annotated[
        list[str] | None, typer.Option(help="Play this collector account (repeat).")
    ] = None,
    days: Annotated[int, typer.Option(help="Days to play, ending today.")] = 1,
    scans_per_day: Annotated[int, typer.Option(help="Scans per collector per day.")] = 20,
    offline_probability: Annotated[
        float, typer.Option(help="Chance a scan starts a stretch without signal.")
    ] = 0.3,
    lost_response_probability: Annotated[
        float, typer.Option(help="Chance a response is lost after the server committed.")
    ] = 0.02,
    concurrency: Annotated[int, typer.Option(help="Threads (phones in parallel).")] = 4,
    chunk: Annotated[int, typer.Option(help="Items per batch request.")] = DEFAULT_CHUNK,
    admin: Annotated[str, typer.Option(help="Account that lists the others.")] = "admin",
    password: Annotated[
        str, typer.Option(envvar="WASTEFLOW_MOBILE_PASSWORD", help="Password of every account.")
    ] = "wulong-demo-2025",
    admin_password: Annotated[
        str | None, typer.Option(help="The admin's password, when not the same.")
    ] = None,
    workdir: Annotated[
        Path | None, typer.Option(help="Keep the phones' state files here (default: temp).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Play collectors', operators' and processors' days against a demo server."""
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
    except (ApiError, Unreachable, ValueError) as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        _echo_json(summary.as_dict())
    else:
        typer.echo(summary.text())


def _log(message: str) -> None:
    typer.echo(message, err=True)
