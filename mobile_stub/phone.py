"""The field client as a Python object: what the CLI, the simulator and the tests drive.

A :class:`Phone` owns one state file (:mod:`mobile_stub.store`) and talks to the server of its
current session over HTTP (:mod:`mobile_stub.client`). Scanning never needs the network; only
``login``, ``refresh`` and ``sync`` do.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from mobile_stub.client import Api, ApiError, RetryPolicy, Unreachable, normalise_server
from mobile_stub.i18n import Msg, Msgs, UserError, msg
from mobile_stub.locking import exclusive
from mobile_stub.recovery import Recovery, open_store
from mobile_stub.scanning import (
    BY_CODE,
    INVALID,
    UNVERIFIED,
    VERIFIED,
    Scan,
    check_payload,
    handover_problems,
    json_kg,
    parse_kg,
    public_keys,
    qr_reason,
    read_image,
    receipt_problems,
    resolve,
)
from mobile_stub.store import OutboxItem, Session, now_iso
from mobile_stub.sync import DEFAULT_CHUNK, SyncReport, sync_outbox

STATE_ENV = "WASTEFLOW_MOBILE_STATE"
DEFAULT_STATE = "~/.wasteflow-mobile.db"
# Public keys and materials older than this are refreshed before a sync.
REFRESH_AFTER_S = 15 * 60
# How long a second sync of one state file waits for the first before giving up.
SYNC_LOCK_WAIT_S = 5.0
_ONE_TRY = RetryPolicy(attempts=1)
HANDOVER_CODE = re.compile(r"^HO-\d{8}-[0-9A-HJKMNP-TV-Z]{5}$")

Image = str | Path | bytes


class NotLoggedIn(UserError):
    """No session in the state file: log in once, while online."""

    def __init__(self) -> None:
        super().__init__("session.none")


class AlreadyQueued(UserError):
    """This outbox already holds a receipt (or a correction) of the same load."""

    exit_code = 5

    def __init__(self, key: str, item: OutboxItem):
        super().__init__(
            key,
            id=item.id,
            code=item.subject,
            state=msg(f"state.{item.state}"),
            sent_as=item.code or "",
            reason=item.reason or "",
        )
        self.item = item


def default_state_path() -> Path:
    """``$WASTEFLOW_MOBILE_STATE``, else ``~/.wasteflow-mobile.db``."""
    return Path(os.environ.get(STATE_ENV) or DEFAULT_STATE).expanduser()


def parse_device_time(value: datetime | str | None) -> datetime:
    """The phone's clock (now) or a given time; a time without offset is local time."""
    if value is None:
        return datetime.now().astimezone()
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise UserError("time.not_iso", value=value) from None
    return value if value.tzinfo is not None else value.astimezone()


class Phone:
    """One phone: a state file, the session stored in it, and HTTP to that session's server."""

    def __init__(
        self,
        state: str | Path | None = None,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        path = Path(state).expanduser() if state is not None else default_state_path()
        # A damaged file is kept aside and a fresh one started: ``recovered`` says so.
        self.recovered: Recovery | None
        self.store, self.recovered = open_store(path)
        self.retry_policy = retry or RetryPolicy()
        self.timeout = timeout
        self.transport = transport
        self.rng = rng or random.Random()
        self.sleep = sleep
        self._api: Api | None = None
        self.requests = 0  # HTTP requests made (the simulator reports a rate)

    def close(self) -> None:
        if self._api is not None:
            self.requests += self._api.requests
            self._api.close()
            self._api = None
        self.store.close()

    def __enter__(self) -> Phone:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- session ----------------------------------------------------------------------------

    def session(self) -> Session:
        """The current session; NotLoggedIn when there is none."""
        s = self.store.current_session()
        if s is None:
            raise NotLoggedIn()
        return s

    def _new_api(self, server: str, token: str | None) -> Api:
        return Api(
            server,
            token=token,
            retry=self.retry_policy,
            timeout=self.timeout,
            transport=self.transport,
            rng=self.rng,
            sleep=self.sleep,
        )

    def api(self) -> Api:
        """HTTP for the current session (one connection pool, reused)."""
        s = self.session()
        if self._api is None or self._api.server != s.server or self._api.token != s.token:
            if self._api is not None:
                self.requests += self._api.requests
                self._api.close()
            self._api = self._new_api(s.server, s.token)
        return self._api

    def login(self, server: str, username: str, password: str) -> Session:
        """Exchange a password for a token, store it, and cache keys and materials."""
        server = normalise_server(server)
        with self._new_api(server, None) as api:
            body = api.login(username, password)
            self.requests += api.requests
        self.store.save_session(
            server, username, body["access_token"], body.get("expires_at"), body["account"]
        )
        self.refresh()
        return self.session()

    def logout(self) -> None:
        """Revoke the token on the server when reachable, and forget it here."""
        s = self.session()
        # The token is forgotten here either way; unrevoked, it expires on its own.
        with contextlib.suppress(ApiError, Unreachable):
            self.api().request("POST", "/auth/logout", retry=_ONE_TRY)
        self.store.forget_session(s.server, s.username)

    def whoami(self) -> dict[str, Any]:
        """The stored session and the state of this account's outbox (no network)."""
        s = self.session()
        return {
            "server": s.server,
            "username": s.username,
            "role": s.account.get("role"),
            "display_name": s.account.get("display_name"),
            "sites": s.account.get("sites", []),
            "rounds": s.account.get("rounds", []),
            "token_expires_at": s.expires_at,
            "logged_in_at": s.logged_in_at,
            "keys_cached": len(self.store.keys(s.server)),
            "keys_fetched_at": self.store.get_meta(f"keys_fetched:{s.server}"),
            "outbox": self.store.counts(server=s.server, username=s.username),
            "state_file": str(self.store.path),
        }

    # -- reference caches -------------------------------------------------------------------

    def refresh(self, retry: RetryPolicy | None = None) -> tuple[int, int]:
        """Fetch the signing keys, the materials catalogue and the treatment routes; returns
        the numbers of keys and materials.

        Then re-checks pending scans that were unverified offline against the new keys.
        """
        api, server = self.api(), self.session().server
        keys = api.request("GET", "/qr/keys", retry=retry).json()
        materials = api.request("GET", "/materials", retry=retry).json()
        routes = api.request("GET", "/routes", retry=retry).json()
        self.store.replace_keys(server, keys)
        self.store.replace_materials(server, materials)
        self.store.replace_routes(server, routes)
        self._recheck_unverified(server)
        return len(keys), len(materials)

    def _recheck_unverified(self, server: str) -> None:
        keys = public_keys(self.store.keys(server))
        for item in self.store.items(states=("held", "queued", "sending"), server=server):
            if item.scan_check != UNVERIFIED:
                continue
            payload = item.body.get("source_plaque") or item.body.get("manifest", "")
            kind = "site" if item.kind == "handover" else "handover"
            scan = check_payload(payload, keys, kind)
            if scan.check != UNVERIFIED:
                # Only the label changes: the item was queued and the server decides.
                label = VERIFIED if scan.check == VERIFIED else f"{INVALID}: {scan.reason}"
                self.store.set_scan_check(item.id, label)

    def _stale(self, server: str) -> bool:
        at = self.store.get_meta(f"keys_fetched:{server}")
        if at is None:
            return True
        age = datetime.now().astimezone() - datetime.fromisoformat(at)
        return age.total_seconds() > REFRESH_AFTER_S

    # -- scanning ---------------------------------------------------------------------------

    def material(self, text: str, server: str | None = None) -> str:
        """The material code meant by ``text`` (a code, or a Chinese or English name)."""
        cached = self.store.materials(server or self.session().server)
        catalogue = {c: (m.name_zh, m.name_en) for c, m in cached.items()}
        return resolve(text, catalogue, "material", "--material")

    def route(self, text: str, server: str | None = None) -> str:
        """The treatment route code meant by ``text`` (a code or a name)."""
        cached = self.store.routes(server or self.session().server)
        catalogue = {c: (r.name_zh, r.name_en) for c, r in cached.items()}
        return resolve(text, catalogue, "route", "--route")

    def read(self, *, payload: str | None, image: Image | None, kind: str) -> Scan:
        """Decode (if an image) and check a QR offline against the cached keys."""
        if (payload is None) == (image is None):
            raise UserError("scan.image_or_payload")
        text = read_image(image) if image is not None else payload
        assert text is not None
        return check_payload(text, public_keys(self.store.keys(self.session().server)), kind)

    def scan_handover(
        self,
        *,
        to_site: str,
        material: str,
        kg: str | float | Decimal,
        payload: str | None = None,
        image: Image | None = None,
        units: int | None = None,
        estimated: bool = False,
        device_time: datetime | str | None = None,
        lat: float | None = None,
        lon: float | None = None,
        returns: str | None = None,
    ) -> OutboxItem:
        """Queue a handover from a scanned plaque; committed before anything is sent.

        What the server would certainly refuse (a mass of 0 or with 4 decimals, a forged
        plaque, units missing for an appliance...) is kept as ``held`` with the reason, to be
        fixed with :meth:`retry` or dropped: a scan is never lost. A plaque signed by a key
        this phone does not know yet is queued as ``unverified offline``. Raises ValueError
        only for inputs that are not a scan at all (no number, a time that does not parse).
        """
        s = self.session()
        mass = parse_kg(kg)
        if (lat is None) != (lon is None):
            raise UserError("scan.lat_lon")
        material = self.material(material, s.server)
        scan = self.read(payload=payload, image=image, kind="site")
        body: dict[str, Any] = {
            "source_plaque": scan.payload,
            "to_site": to_site.strip(),
            "material": material,
            "declared_mass_kg": json_kg(mass),
            "mass_method": "estimated" if estimated else "weighed",
            "device_time": parse_device_time(device_time).isoformat(timespec="seconds"),
        }
        if units is not None:
            body["units"] = units
        if lat is not None:
            body["lat"], body["lon"] = lat, lon
        if returns:
            body["returns"] = returns
        problems = handover_problems(
            kg=mass,
            material=body["material"],
            units=units,
            materials=self.store.materials(s.server),
        )
        return self._enqueue(
            "handover", s, body, f"{scan.ident or '?'} → {body['to_site']}", scan, problems
        )

    def scan_receipt(
        self,
        *,
        received_kg: str | float | Decimal,
        payload: str | None = None,
        image: Image | None = None,
        refused_kg: str | float | Decimal | None = None,
        reason: str | None = None,
        route: str | None = None,
        received_units: int | None = None,
        force: bool = False,
    ) -> OutboxItem:
        """Queue the confirmation of a load from its scanned manifest (same rules as a scan).

        A load is confirmed once: when this outbox already has a receipt of it (waiting, sent,
        held or refused), AlreadyQueued says which, and nothing is queued unless ``force``.
        """
        s = self.session()
        scan = self.read(payload=payload, image=image, kind="handover")
        body = self._intake(s, received_kg, refused_kg, reason, route, received_units)
        body = {"manifest": scan.payload} | body
        if not force and scan.ident is not None:
            earlier = self.store.items(
                kind="receipt", subject=scan.ident, server=s.server, username=s.username
            )
            for item in reversed(earlier):
                if item.state != "dropped":
                    raise AlreadyQueued(f"receipt.already_{item.state}", item)
        return self._enqueue("receipt", s, body, scan.ident or "?", scan, receipt_problems(body))

    def correct_receipt(
        self,
        *,
        why: str,
        received_kg: str | float | Decimal,
        payload: str | None = None,
        image: Image | None = None,
        code: str | None = None,
        refused_kg: str | float | Decimal | None = None,
        reason: str | None = None,
        route: str | None = None,
        received_units: int | None = None,
        force: bool = False,
    ) -> OutboxItem:
        """Queue the correction of a confirmed receipt, with ``why`` (sent after receipts).

        The load is named by its manifest (``payload``/``image``) or ``code``. The correction
        is the whole intake as it should have been: what is not given (route, refused mass and
        its reason, units) is taken from this outbox's latest receipt or correction of the
        load. A load corrected from this phone before is corrected on its newest record (the
        server answers each correction with a new code). A correction of it that waits to be
        sent raises AlreadyQueued unless ``force``.
        """
        s = self.session()
        if len((why or "").strip()) < 3:
            raise UserError("correct.reason_short")
        scan: Scan | None = None
        if code is not None and (payload is not None or image is not None):
            raise UserError("correct.one_load")
        if code is None:
            scan = self.read(payload=payload, image=image, kind="handover")
            if scan.ident is None:
                raise UserError("correct.no_code")
            code = scan.ident
        code = code.strip().upper()
        if not HANDOVER_CODE.match(code):
            raise UserError("correct.bad_code", code=code)
        receipts = self.store.items(
            kind="receipt", subject=code, states=["sent"], server=s.server, username=s.username
        )
        last = receipts[-1] if receipts else None
        while True:  # along this phone's own corrections of the load, to its newest record
            later = self.store.items(
                kind="correction", subject=code, server=s.server, username=s.username
            )
            waiting = [i for i in later if i.state in ("held", "queued", "sending")]
            if waiting and not force:
                raise AlreadyQueued("correct.already_waiting", waiting[-1])
            done = [i for i in later if i.state == "sent" and i.code]
            if not done:
                break
            last, code = done[-1], str(done[-1].code)
        prior = last.body if last is not None else {}
        if refused_kg is None:
            refused_kg = prior.get("refused_mass_kg")
            reason = reason if reason is not None else prior.get("refusal_reason")
        elif reason is None and parse_kg(refused_kg) > 0:
            reason = prior.get("refusal_reason")
        body = self._intake(
            s,
            received_kg,
            refused_kg,
            reason,
            route if route is not None else prior.get("route"),
            received_units if received_units is not None else prior.get("received_units"),
        )
        body["reason"] = why.strip()
        if scan is None:
            scan = Scan(code, "handover", code, None, BY_CODE)
        return self._enqueue("correction", s, body, code, scan, receipt_problems(body))

    def _intake(
        self,
        s: Session,
        received_kg: str | float | Decimal,
        refused_kg: str | float | Decimal | None,
        reason: str | None,
        route: str | None,
        received_units: int | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"received_mass_kg": json_kg(parse_kg(received_kg))}
        if refused_kg is not None:
            body["refused_mass_kg"] = json_kg(parse_kg(refused_kg))
        if reason is not None:
            body["refusal_reason"] = reason
        if route is not None:
            body["route"] = self.route(route, s.server)
        if received_units is not None:
            body["received_units"] = received_units
        return body

    def _enqueue(
        self,
        kind: str,
        s: Session,
        body: dict[str, Any],
        subject: str,
        scan: Scan,
        problems: list[Msg],
    ) -> OutboxItem:
        check = scan.check if scan.check != INVALID else f"{INVALID}: {scan.reason}"
        if scan.check == INVALID:
            problems = [msg("problem.qr", why=qr_reason(scan.reason)), *problems]
        return self.store.enqueue(
            kind=kind,
            server=s.server,
            username=s.username,
            body=body,
            subject=subject,
            scan_check=check,
            held=problems,
            note=scan.message if scan.check == UNVERIFIED else None,
        )

    # -- outbox -----------------------------------------------------------------------------

    def outbox(self, states: list[str] | None = None, everyone: bool = False) -> list[OutboxItem]:
        """Items of the current account (or of every account with ``everyone``)."""
        if everyone:
            return self.store.items(states=states)
        s = self.session()
        return self.store.items(states=states, server=s.server, username=s.username)

    def retry(
        self,
        item_id: int,
        *,
        kg: str | float | Decimal | None = None,
        units: int | None = None,
        to_site: str | None = None,
        material: str | None = None,
        device_time: datetime | str | None = None,
        received_kg: str | float | Decimal | None = None,
        refused_kg: str | float | Decimal | None = None,
        reason: str | None = None,
        route: str | None = None,
        why: str | None = None,
    ) -> OutboxItem:
        """Queue a held or refused item again, optionally fixed (a fixed item gets a new key).

        With no change, the item is sent as it was (for a refusal that depended on the server:
        an account or site since fixed by an administrator, or a plaque held offline that the
        user wants the server to judge). A fix is checked offline like a new scan first;
        UserError if it would still be refused. ``why``: a correction's reason.
        """
        item = self.store.get(item_id)
        handover_fix = {
            "declared_mass_kg": None if kg is None else json_kg(parse_kg(kg)),
            "units": units,
            "to_site": to_site,
            "material": None if material is None else self.material(material, item.server),
            "device_time": None
            if device_time is None
            else parse_device_time(device_time).isoformat(timespec="seconds"),
        }
        receipt_fix = {
            "received_mass_kg": None if received_kg is None else json_kg(parse_kg(received_kg)),
            "refused_mass_kg": None if refused_kg is None else json_kg(parse_kg(refused_kg)),
            "refusal_reason": reason,
            "route": None if route is None else self.route(route, item.server),
        }
        if item.kind == "correction":
            if why is not None and len(why.strip()) < 3:
                raise UserError("correct.reason_short")
            receipt_fix["reason"] = None if why is None else why.strip()
        mine, other = (
            (handover_fix, receipt_fix) if item.kind == "handover" else (receipt_fix, handover_fix)
        )
        if any(v is not None for v in other.values()) or (
            why is not None and item.kind != "correction"
        ):
            raise UserError("retry.wrong_options", id=item_id, kind=msg(f"kind.{item.kind}"))
        changes = {k: v for k, v in mine.items() if v is not None}
        if not changes:
            # As it was: the user overrides a local hold, or the cause was on the server side.
            return self.store.requeue(item_id)
        body = item.body | changes
        if item.kind == "handover":
            problems = handover_problems(
                kg=parse_kg(body["declared_mass_kg"]),
                material=body["material"],
                units=body.get("units"),
                materials=self.store.materials(item.server),
            )
        else:
            problems = receipt_problems(body)
        if problems:
            # The item keeps its state and reason: nothing is half-fixed.
            raise UserError("retry.still_refused", id=item_id, problems=Msgs(problems))
        return self.store.requeue(item_id, body=body, note=f"fixed and requeued at {now_iso()}")

    def drop(self, item_id: int) -> OutboxItem:
        """Give up an item for good (it stays listed as dropped)."""
        return self.store.drop(item_id)

    # -- sync -------------------------------------------------------------------------------

    def sync(
        self,
        *,
        chunk: int = DEFAULT_CHUNK,
        refresh: bool | None = None,
        progress: Callable[[SyncReport], None] | None = None,
        lock_wait: float = SYNC_LOCK_WAIT_S,
    ) -> SyncReport:
        """Send the outbox of the current account (see :func:`mobile_stub.sync.sync_outbox`).

        ``refresh``: fetch keys and materials first (None: when older than 15 minutes). A
        refresh that fails does not stop the sync: sending matters more. One sync of a state
        file at a time (:func:`mobile_stub.locking.exclusive`): another one waits up to
        ``lock_wait`` seconds, then raises :class:`mobile_stub.locking.Busy`.
        """
        s = self.session()
        with exclusive(self.store.path, lock_wait):
            if refresh or (refresh is None and self._stale(s.server)):
                with contextlib.suppress(ApiError, Unreachable):
                    self.refresh(retry=_ONE_TRY)
            return sync_outbox(
                self.store, self.api(), username=s.username, chunk=chunk, progress=progress
            )
