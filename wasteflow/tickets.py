"""Signed load tickets: the QR a phone shows for a load it recorded, before the server has it.

A load recorded with no signal has no manifest yet (the server signs manifests, and has not
seen the load). So the phone that recorded it shows a *ticket* instead: what identifies the
load, signed with that phone's own Ed25519 key, whose public half the server registered at
login (``services.devices``). The receiving site scans it, confirms offline, and the server
links that receipt to the load whichever of the two phones syncs first.

This module is pure, like :mod:`wasteflow.qr`, and spells tickets in the plaques' style::

    {base}/q/T/{key}/{from}/{to}/{material}/{mass}/{time}[/{units}]?d={device}&s={sig}
    https://wf.wulong.example/q/T/3q2-7wXx…/WL-HH-500156101001-1/WL-CP-500156101001/
        film.agri/18.4/tbc9k2?d=k7m2q9&s=<86 base64url chars>

- ``key``: the load's idempotency key, a UUID, as the base64url of its 16 bytes (22 chars);
  with the account that owns the device, it names the handover the load becomes;
- ``from``, ``to``: site codes; ``material``: a material code;
- ``mass``: the declared kg, at most 3 decimals, written without trailing zeros;
- ``time``: the phone's clock when the load was recorded, whole Unix seconds in base 36;
- ``units``: for loads counted in units, their number;
- ``device``: the registered device's id; ``sig``: Ed25519 (base64url, no padding) over
  ``b"wasteflow-ticket/1"`` and the device id and every path field, one per line.

Every field has exactly one spelling (the parser refuses any other), so one ticket has one
text and its signature covers exactly what is printed. As for plaques, ``base`` is not signed.
With the default base and the demo's codes a ticket is about 212 characters: a version 10 QR
at level M, read from a phone's screen at arm's length.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from wasteflow.qr import DEFAULT_BASE, QRError, _b64url, _check_base, _unb64url

__all__ = [
    "MAX_TICKET_CHARS",
    "DeviceKeyInfo",
    "Ticket",
    "new_device_id",
    "parse_ticket",
    "sign_ticket",
    "verify_ticket",
]

# A sanity bound: the longest codes the schema allows make about 330 characters.
MAX_TICKET_CHARS = 420
_DOMAIN_TAG = b"wasteflow-ticket/1"
_SIG_CHARS = 86
_DEVICE_RE = re.compile(r"[a-z0-9]{6}")
_SITE_RE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,31}")
_MATERIAL_RE = re.compile(r"[a-z0-9][a-z0-9._]{0,47}")
_MASS_RE = re.compile(r"(0|[1-9][0-9]{0,11})(\.[0-9]{0,2}[1-9])?")
_TIME_RE = re.compile(r"[1-9a-z][0-9a-z]{0,7}")
_UNITS_RE = re.compile(r"[1-9][0-9]{0,5}")
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class DeviceKeyInfo:
    """A registered device as the verifier needs it: its key, and whether it was revoked."""

    device_id: str
    public_key_b64: str
    revoked: bool = False


@dataclass(frozen=True)
class Ticket:
    """A parsed ticket: from :func:`parse_ticket` well-formed, from :func:`verify_ticket` also
    signed by the device it names."""

    device_id: str
    key: str  # the idempotency key, as the phone sent it (a lower-case UUID)
    from_site: str
    to_site: str
    material: str
    mass_kg: Decimal
    device_time: datetime
    units: int | None
    signature: bytes
    text: str
    base: str

    @property
    def ident(self) -> str:
        """The ticket's identity (one load of one device): device id and key."""
        return f"{self.device_id}:{_key_field(self.key)}"


def new_device_id() -> str:
    """A fresh device id: 6 random characters of ``[a-z0-9]``."""
    return "".join(secrets.choice(_B36) for _ in range(6))


def _base36(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _B36[r] + out
        if not n:
            return out


def _key_field(key: str) -> str:
    return _b64url(uuid.UUID(key).bytes)


def _mass_text(kg: Decimal) -> str:
    text = format(kg.quantize(Decimal("0.001")), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _message(device_id: str, fields: list[str]) -> bytes:
    return b"\n".join([_DOMAIN_TAG, device_id.encode(), *(f.encode() for f in fields)])


def _bad(why: str) -> QRError:
    return QRError("malformed", f"not a wasteflow load ticket: {why}")


def sign_ticket(
    private_key: Ed25519PrivateKey,
    device_id: str,
    *,
    key: str,
    from_site: str,
    to_site: str,
    material: str,
    mass_kg: Decimal | float | str,
    device_time: datetime,
    units: int | None = None,
    base: str = DEFAULT_BASE,
) -> str:
    """A ticket's text (what the field app makes in the page; here for tests and tools)."""
    if not _DEVICE_RE.fullmatch(device_id):
        raise QRError("bad_device", f"device id {device_id!r} must be 6 characters of a-z, 0-9")
    fields = [
        _key_field(key),
        from_site,
        to_site,
        material,
        _mass_text(Decimal(str(mass_kg))),
        _base36(int(device_time.timestamp())),
    ]
    if units is not None:
        fields.append(str(units))
    base = _check_base(base)
    signature = private_key.sign(_message(device_id, fields))
    text = f"{base}/q/T/{'/'.join(fields)}?d={device_id}&s={_b64url(signature)}"
    parse_ticket(text)  # every field in its one spelling, or a QRError now
    return text


def parse_ticket(text: str) -> Ticket:
    """Split a ticket into its fields, checking its grammar but not its signature.

    Raises ``QRError("malformed")`` naming the part that is wrong.
    """
    if not isinstance(text, str):
        raise _bad("the ticket must be text")
    if len(text) > MAX_TICKET_CHARS:
        raise _bad(f"{len(text)} characters, more than {MAX_TICKET_CHARS}")
    if not text.isascii() or not text.isprintable() or " " in text:
        raise _bad("it contains spaces, control or non-ASCII characters")
    path, sep, query = text.partition("?")
    head, marker, tail = path.rpartition("/q/T/")
    if not sep or not marker:
        raise _bad("the path must be /q/T/<fields>?d=<device>&s=<signature>")
    try:
        base = _check_base(head)
    except QRError:
        raise _bad(f"the address {head!r} is not a plain http(s) URL") from None
    fields = tail.split("/")
    if len(fields) not in (6, 7):
        raise _bad(f"{len(fields)} fields instead of 6 or 7")
    key_text, from_site, to_site, material, mass, time = fields[:6]
    raw_key = _unb64url(key_text)
    if raw_key is None or len(raw_key) != 16 or len(key_text) != 22:
        raise _bad("the load's key is not a UUID in base64url")
    for name, value, pattern in (
        ("source site", from_site, _SITE_RE),
        ("destination", to_site, _SITE_RE),
        ("material", material, _MATERIAL_RE),
        ("mass", mass, _MASS_RE),
        ("time", time, _TIME_RE),
    ):
        if not pattern.fullmatch(value):
            raise _bad(f"the {name} {value!r} is not written as a ticket writes it")
    mass_kg = Decimal(mass)
    if mass_kg <= 0:
        raise _bad("the mass must be more than 0")
    units = None
    if len(fields) == 7:
        if not _UNITS_RE.fullmatch(fields[6]):
            raise _bad(f"the units {fields[6]!r} are not a whole number above 0")
        units = int(fields[6])
    params = query.split("&")
    if len(params) != 2 or not params[0].startswith("d=") or not params[1].startswith("s="):
        raise _bad("the query must be exactly ?d=<device>&s=<signature>")
    device_id, sig_text = params[0][2:], params[1][2:]
    if not _DEVICE_RE.fullmatch(device_id):
        raise _bad(f"device id {device_id!r} must be 6 characters of a-z and 0-9")
    signature = _unb64url(sig_text) if len(sig_text) == _SIG_CHARS else None
    if signature is None or len(signature) != 64:
        raise _bad("the signature is not 64 bytes of canonical base64url; the code may be cut off")
    seconds = int(time, 36)
    try:
        device_time = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise _bad(f"the time {time!r} is out of range") from None
    return Ticket(
        device_id=device_id,
        key=str(uuid.UUID(bytes=raw_key)),
        from_site=from_site,
        to_site=to_site,
        material=material,
        mass_kg=mass_kg,
        device_time=device_time,
        units=units,
        signature=signature,
        text=text,
        base=base,
    )


def verify_ticket(text: str, device: DeviceKeyInfo | None) -> Ticket:
    """Parse ``text`` and check its signature with the key of the device it names.

    ``device`` is what the registry knows of that device (``None``: nothing). Raises
    ``QRError`` with ``malformed``, ``unknown_device``, ``revoked_device`` or
    ``bad_signature``.
    """
    ticket = parse_ticket(text)
    if device is None or device.device_id != ticket.device_id:
        raise QRError(
            "unknown_device",
            f"device {ticket.device_id!r} is not registered here; the ticket was not made by "
            "a phone logged in to this service",
        )
    if device.revoked:
        raise QRError(
            "revoked_device",
            f"device {ticket.device_id!r} was revoked by an administrator; its tickets are "
            "refused: confirm the load by its manifest or code",
        )
    raw = _unb64url(device.public_key_b64)
    if raw is None or len(raw) != 32:
        raise QRError("bad_key", f"device {ticket.device_id!r} has no valid public key")
    fields = text.partition("?")[0].rpartition("/q/T/")[2].split("/")
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(
            ticket.signature, _message(ticket.device_id, fields)
        )
    except InvalidSignature:
        raise QRError(
            "bad_signature",
            "the ticket's signature does not match: it was altered or forged",
        ) from None
    return ticket
