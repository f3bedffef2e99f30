"""The field client as a Python object: what the CLI, the simulator and the tests drive.

A :class:`Phone` owns one state file (:mod:`mobile_stub.store`) and talks to the server of its
current session over HTTP (:mod:`mobile_stub.client`). Scanning never needs the network; only
``login``, ``refresh`` and ``sync`` do.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from mobile_stub.client import Api, ApiError, RetryPolicy, Unreachable, normalise_server
from mobile_stub.scanning import (
    INVALID,
    UNVERIFIED,
    VERIFIED,
    Scan,
    check_payload,
    handover_problems,
    json_kg,
    parse_kg,
    public_keys,
    read_image,
    receipt_problems,
)
from mobile_stub.store import OutboxItem, Session, Store, now_iso
from mobile_stub.sync import DEFAULT_CHUNK, SyncReport, sync_outbox

STATE_ENV = "WASTEFLOW_MOBILE_STATE"
DEFAULT_STATE = "~/.wasteflow-mobile.db"
# Public keys and materials older than this are refreshed before a sync.
REFRESH_AFTER_S = 15 * 60
_ONE_TRY = RetryPolicy(attempts=1)

Image = str | Path | bytes


class NotLoggedIn(Exception):
    """No session in the state file: log in once, while online."""


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
            raise ValueError(
                f"time {value!r} is not ISO 8601 (e.g. 2025-06-01T09:30:00+08:00)"
            ) from None
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
        self.store = Store(state if state is not None else default_state_path())
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
            raise NotLoggedIn("not logged in: run `wasteflow-mobile login SERVER_URL USERNAME`")
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
        """Fetch the signing keys and the materials catalogue; returns their numbers.

        Then re-checks pending scans that were unverified offline against the new keys.
        """
        api, server = self.api(), self.session().server
        keys = api.request("GET", "/qr/keys", retry=retry).json()
        materials = api.request("GET", "/materials", retry=retry).json()
        self.store.replace_keys(server, keys)
        self.store.replace_materials(server, materials)
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

    def read(self, *, payload: str | None, image: Image | None, kind: str) -> Scan:
        """Decode (if an image) and check a QR offline against the cached keys."""
        if (payload is None) == (image is None):
            raise ValueError("give either a payload or an image, not both or neither")
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
            raise ValueError("give both --lat and --lon, or neither")
        scan = self.read(payload=payload, image=image, kind="site")
        body: dict[str, Any] = {
            "source_plaque": scan.payload,
            "to_site": to_site.strip(),
            "material": material.strip(),
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
    ) -> OutboxItem:
        """Queue the confirmation of a load from its scanned manifest (same rules as a scan)."""
        s = self.session()
        scan = self.read(payload=payload, image=image, kind="handover")
        body: dict[str, Any] = {
            "manifest": scan.payload,
            "received_mass_kg": json_kg(parse_kg(received_kg)),
        }
        if refused_kg is not None:
            body["refused_mass_kg"] = json_kg(parse_kg(refused_kg))
        if reason is not None:
            body["refusal_reason"] = reason
        if route is not None:
            body["route"] = route
        if received_units is not None:
            body["received_units"] = received_units
        return self._enqueue("receipt", s, body, scan.ident or "?", scan, receipt_problems(body))

    def _enqueue(
        self,
        kind: str,
        s: Session,
        body: dict[str, Any],
        subject: str,
        scan: Scan,
        problems: list[str],
    ) -> OutboxItem:
        check = scan.check if scan.check != INVALID else f"{INVALID}: {scan.reason}"
        if scan.check == INVALID:
            problems = [f"QR code: {scan.message}", *problems]
        return self.store.enqueue(
            kind=kind,
            server=s.server,
            username=s.username,
            body=body,
            subject=subject,
            scan_check=check,
            held_reason="; ".join(problems) or None,
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
    ) -> OutboxItem:
        """Queue a held or refused item again, optionally fixed (a fixed item gets a new key).

        With no change, the item is sent as it was (for a refusal that depended on the server:
        an account or site since fixed by an administrator, or a plaque held offline that the
        user wants the server to judge). A fix is checked offline like a new scan first;
        ValueError if it would still be refused.
        """
        item = self.store.get(item_id)
        handover_fix = {
            "declared_mass_kg": None if kg is None else json_kg(parse_kg(kg)),
            "units": units,
            "to_site": to_site,
            "material": material,
            "device_time": None
            if device_time is None
            else parse_device_time(device_time).isoformat(timespec="seconds"),
        }
        receipt_fix = {
            "received_mass_kg": None if received_kg is None else json_kg(parse_kg(received_kg)),
            "refused_mass_kg": None if refused_kg is None else json_kg(parse_kg(refused_kg)),
            "refusal_reason": reason,
            "route": route,
        }
        mine, other = (
            (handover_fix, receipt_fix) if item.kind == "handover" else (receipt_fix, handover_fix)
        )
        if any(v is not None for v in other.values()):
            raise ValueError(f"item {item_id} is a {item.kind}: those options do not apply to it")
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
            raise ValueError(f"item {item_id} would still be refused: {'; '.join(problems)}")
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
    ) -> SyncReport:
        """Send the outbox of the current account (see :func:`mobile_stub.sync.sync_outbox`).

        ``refresh``: fetch keys and materials first (None: when older than 15 minutes). A
        refresh that fails does not stop the sync: sending matters more.
        """
        s = self.session()
        if refresh or (refresh is None and self._stale(s.server)):
            with contextlib.suppress(ApiError, Unreachable):
                self.refresh(retry=_ONE_TRY)
        return sync_outbox(
            self.store, self.api(), username=s.username, chunk=chunk, progress=progress
        )
