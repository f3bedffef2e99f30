"""The ``wasteflow`` command: database, reference data, demo, server, accounts, audit."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import make_url

from wasteflow.config import get_settings
from wasteflow.errors import WasteflowError, describe_validation_errors

app = typer.Typer(
    help="wasteflow: recycling and waste-flow tracker.", no_args_is_help=True, add_completion=False
)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _describe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _session():
    from wasteflow.db import new_session

    return new_session()


@app.command()
def migrate() -> None:
    """Create the database schema, or upgrade it to the newest migration."""
    from wasteflow.db import upgrade

    url = get_settings().database_url
    upgrade(url)
    typer.echo(f"schema is up to date on {_describe_url(url)}")


@app.command("load-reference")
def load_reference() -> None:
    """Load (or refresh) regions, materials, routes, coefficients and targets."""
    from wasteflow.services.reference import load_reference as load

    with _session() as session:
        report = load(session=session)
    typer.echo(
        f"reference data loaded: {report.regions} regions, {report.materials} materials, "
        f"{report.routes} routes, {report.coefficients} coefficients, "
        f"{report.targets} targets"
    )


def _demo_span(dataset: dict[str, Any]) -> str:
    """``2025-01-01 – 2026-12-06`` (or the year, for a demo built before spans were kept)."""
    if dataset.get("first_day") and dataset.get("last_day"):
        return f"{dataset['first_day']} – {dataset['last_day']}"
    return f"year {dataset.get('year')}"


def _ensure_demo(reset: bool, seed: int, year: int | None, as_of: datetime | None) -> None:
    from wasteflow.db import upgrade
    from wasteflow.demo import load_demo
    from wasteflow.models import Site
    from wasteflow.services import health
    from wasteflow.services.reference import load_reference as load_ref

    settings = get_settings()
    url = make_url(settings.database_url)
    if reset:
        if url.get_backend_name() != "sqlite" or not url.database:
            raise _fail("--reset only deletes SQLite files; drop a PostgreSQL database yourself")
        for suffix in ("", "-wal", "-shm"):
            Path(url.database + suffix).unlink(missing_ok=True)
    upgrade(settings.database_url)
    with _session() as session:
        dataset = health.dataset(session)
        has_sites = session.query(Site.id).first() is not None
        if dataset is not None and dataset.get("kind") == "demo":
            typer.echo(
                f"demo district already loaded (seed {dataset['seed']}, "
                f"{_demo_span(dataset)}); `wasteflow demo --reset` rebuilds it"
            )
            return
        if has_sites:
            raise _fail(
                "this database holds real sites: the synthetic demo is never mixed "
                "into them. Set WASTEFLOW_DATABASE_URL to another database."
            )
        typer.echo("loading reference data and generating the synthetic demo district…")
        load_ref(session=session)
        report = load_demo(
            session=session, seed=seed, year=year, today=as_of.date() if as_of else None
        )
    typer.echo(
        f"demo loaded in {report.seconds:.1f} s: {report.sites} sites, "
        f"{report.handovers} handovers, {report.declarations} declarations "
        f"(synthetic, seed {seed}, {report.first_day} – {report.last_day})"
    )


def _print_welcome(host: str, port: int) -> None:
    from wasteflow.demo import DEMO_PASSWORD, PLANTED

    base = f"http://{host}:{port}"
    lines = [
        "",
        "wasteflow demo: 武隆区, SYNTHETIC data (合成演示数据, not real records)",
        f"  dashboard (官员看板):    {base}/   (log in as official)",
        f"  API docs (Swagger UI):  {base}/docs",
        f"  health:                 {base}/healthz",
        f"  log in (OAuth2):        POST {base}/api/v1/auth/token",
        "  demo accounts (password for all: " + DEMO_PASSWORD + "):",
        "    admin               admin: sites, accounts, keys",
        "    official            official: every rate and record",
        "    collector.baima     collector on the rounds of 白马镇",
        "    operator.baima      collection points and transfer station of 白马镇",
        "    processor.prfilm    film recycler WL-PR-FILM: confirms intake",
        "  planted anomalies: " + "; ".join(PLANTED.values()),
        "  the README's examples use this address as $WF:",
        f"    export WF={base}",
        "",
    ]
    typer.echo("\n".join(lines))


@app.command()
def demo(
    reset: Annotated[
        bool, typer.Option(help="Delete the SQLite file and rebuild the demo.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic scenario.")] = 2025,
    year: Annotated[
        int | None,
        typer.Option(
            help="Build this year only (up to yesterday if it is the current year). "
            "Default: the last full year and the current year up to yesterday."
        ),
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d"],
            help="Build the demo as if today were this day (YYYY-MM-DD): a demo that does "
            "not move with the calendar.",
        ),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Interface to serve on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to serve on.")] = None,
    serve_: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the server.")] = True,
) -> None:
    """Build the synthetic demo district (once) and serve the API over it."""
    settings = get_settings()
    try:
        _ensure_demo(reset, seed, year, as_of)
    except WasteflowError as exc:
        raise _fail(exc.detail) from exc
    host, port = host or settings.host, port or settings.port
    _print_welcome(host, port)
    if serve_:
        _serve(host, port, workers=1)


def _serve(host: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        "api.main:create_app", factory=True, host=host, port=port, workers=workers, log_level="info"
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL).")] = 1,
) -> None:
    """Serve the API over the configured database (run `wasteflow migrate` first)."""
    settings = get_settings()
    if workers > 1 and make_url(settings.database_url).get_backend_name() == "sqlite":
        # Measured (bench/README.md): two processes queue on SQLite's file lock, and serve
        # fewer scans than one, with a p99 near a second. One process groups its own writes.
        typer.echo(
            "note: on SQLite one worker serves more than several (they queue on the file "
            "lock); use PostgreSQL to scale out with --workers",
            err=True,
        )
    _serve(host or settings.host, port or settings.port, workers)


@app.command("create-account")
def create_account(
    username: Annotated[str, typer.Option()],
    role: Annotated[str, typer.Option(help="collector, site_operator, processor, official, admin")],
    display_name: Annotated[str | None, typer.Option()] = None,
    site: Annotated[list[str] | None, typer.Option(help="Site code it acts for (repeat).")] = None,
    organisation: Annotated[str | None, typer.Option(help="Organisation code.")] = None,
    password: Annotated[
        str | None,
        typer.Option(help="Read from WASTEFLOW_NEW_PASSWORD or asked for when not given."),
    ] = None,
) -> None:
    """Create an account (the CLI bootstraps the first admin)."""
    from pydantic import ValidationError

    from wasteflow.schemas import AccountCreate
    from wasteflow.services.accounts import create_account as create

    password = (
        password
        or os.environ.get("WASTEFLOW_NEW_PASSWORD")
        or typer.prompt("password", hide_input=True, confirmation_prompt=True)
    )
    try:
        # ``role`` is a plain string here: pydantic checks and converts it like the others
        data = AccountCreate.model_validate(
            {
                "username": username,
                "display_name": display_name or username,
                "role": role,
                "password": password,
                "organisation_code": organisation,
                "sites": site or [],
            }
        )
    except ValidationError as exc:
        raise _fail(describe_validation_errors(exc.errors())[0]) from exc
    try:
        with _session() as session:
            account, _ = create(session=session, actor=None, data=data)
    except WasteflowError as exc:
        raise _fail(exc.detail) from exc
    typer.echo(f"created {account.role.value} account {account.username!r} (id {account.id})")


@audit_app.command("verify")
def audit_verify(
    checkpoints: Annotated[
        Path | None,
        typer.Option(
            help="An archived export of the checkpoints (`wasteflow audit export`) to check "
            "the chain against as well: catches checkpoints deleted from the database.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    records: Annotated[
        bool, typer.Option(help="Also check each handover row and the totals against the log.")
    ] = True,
) -> None:
    """Verify the audit log: its hash chain, its signed checkpoints, and the handover rows and
    totals against it. Exit 1 naming what is wrong."""
    import json

    from wasteflow.services import checkpoints as cp
    from wasteflow.services.audit_verify import verify

    archive = None
    try:
        if checkpoints is not None:
            archive = cp.parse_export(json.loads(checkpoints.read_text(encoding="utf-8")))
    except (ValueError, WasteflowError) as exc:
        raise _fail(f"{checkpoints}: {getattr(exc, 'detail', exc)}") from exc
    with _session() as session:
        report = verify(session, archive=archive, records=records)
    marks = report.checkpoints
    lines = []
    if report.first_bad_id is None:
        lines.append(f"hash chain intact: {report.events} events")
    else:
        lines.append(
            f"hash chain broken at event {report.first_bad_id}: {report.reason} "
            f"({report.events} events verified before it)"
        )
    if marks.latest_at is None:
        lines.append("no signed checkpoint yet: run `wasteflow audit checkpoint`")
    else:
        lines.append(
            f"{marks.checked} checkpoint(s) checked; newest {marks.latest_at:%Y-%m-%d %H:%M} UTC "
            f"covers {marks.latest_events} events, {marks.unprotected_events} after it"
        )
    lines += [f"  ✗ {p}" for p in marks.problems]
    if report.records is not None:
        r = report.records
        lines.append(
            f"{r.handovers} handover rows and {r.total_cells} totals cells checked: "
            f"{r.problems} problem(s)"
        )
        lines += [f"  ✗ {f.check} {f.subject}: {f.reason}" for f in r.findings]
        if r.problems > len(r.findings):
            lines.append(f"  … and {r.problems - len(r.findings)} more")
    for line in lines:
        typer.echo(line)
    if not report.ok:
        raise _fail("the audit log does not vouch for this database (see above)")
    typer.echo("audit log intact")


@audit_app.command("checkpoint")
def audit_checkpoint(
    force: Annotated[
        bool, typer.Option(help="Sign even if nothing changed since the last.")
    ] = False,
) -> None:
    """Sign the audit chain's present length and head with the key outside the database."""
    from wasteflow.services.checkpoints import key_path, sign

    with _session() as session:
        cp = sign(session, force=force)
    if cp is None:
        typer.echo("nothing new since the last checkpoint (or no events yet)")
        return
    typer.echo(
        f"checkpoint signed: {cp.events} events, head event {cp.last_event_id} "
        f"({cp.head_hash[:16]}…), key {cp.public_key[:16]}… from {key_path()}"
    )


@audit_app.command("export")
def audit_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Every signed checkpoint as one JSON document, to archive outside the system."""
    import json

    from wasteflow.services.checkpoints import export

    with _session() as session:
        text = json.dumps(export(session), ensure_ascii=False, indent=1)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"wrote {output}")


def main() -> None:  # pragma: no cover - console entry for `python -m wasteflow`
    sys.exit(app())
