"""Reading a QR (image or typed payload), checking it offline, and local checks of a body.

Offline checks use only the pure helpers of ``wasteflow.qr`` / ``wasteflow.qr_render`` and the
public keys cached from the server. They tell the collector at once when a plaque is damaged or
forged; they never replace the server's checks, which have the last word.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from mobile_stub.store import CachedMaterial
from wasteflow.qr import PublicKeyInfo, QRError, parse_payload, verify_payload
from wasteflow.qr_render import decode_png

# scan_check values stored on an outbox row
VERIFIED = "verified"
UNVERIFIED = "unverified offline"  # the key id is not in the cache: the server decides
INVALID = "invalid"


class ScanError(ValueError):
    """An image held no readable QR code, or several different ones."""


@dataclass(frozen=True)
class Scan:
    """A payload and what the offline check made of it."""

    payload: str
    kind: str | None  # site or handover, when the payload parses
    ident: str | None  # the site or handover code it names
    kid: str | None
    check: str  # VERIFIED, UNVERIFIED or INVALID
    reason: str | None = None  # QRError reason code when not verified
    message: str | None = None  # a sentence for the user


def read_image(image: str | Path | bytes) -> str:
    """The one QR payload in an image (PNG or any format Pillow reads), decoded by zxing-cpp."""
    data = image if isinstance(image, bytes) else Path(image).expanduser().read_bytes()
    try:
        texts = list(dict.fromkeys(decode_png(data)))
    except QRError as exc:
        raise ScanError(str(exc)) from exc
    if not texts:
        raise ScanError("no QR code found in the image; take the photo again, closer and sharper")
    if len(texts) > 1:
        raise ScanError(f"{len(texts)} different QR codes in the image; photograph only one")
    return texts[0]


def public_keys(rows: Iterable[Mapping[str, str]]) -> dict[str, PublicKeyInfo]:
    """Cached key rows (``kid``, ``public_key``, ``status``) as ``verify_payload`` wants them."""
    out = {}
    for r in rows:
        try:
            out[r["kid"]] = PublicKeyInfo(r["kid"], r["public_key"], r["status"])
        except QRError:
            continue  # a key this version cannot read: as if unknown, the server decides
    return out


def check_payload(text: str, keys: Mapping[str, PublicKeyInfo], expected_kind: str) -> Scan:
    """Verify a scanned payload offline against the cached public keys.

    An unknown key id (a key rotated since the last sync) is not an error: the scan is
    ``unverified offline`` and the server checks it. Anything else that fails (malformed,
    altered, forged, revoked key, a manifest where a plaque was expected) is ``invalid``.
    """
    # Keyboard-wedge scanners add a newline; the grammar refuses surrounding spaces.
    text = text.strip()
    try:
        parsed = verify_payload(text, keys, expected_kind)
    except QRError as exc:
        kind = ident = kid = None
        try:
            p = parse_payload(text)
            kind, ident, kid = p.kind, p.ident, p.kid
        except QRError:
            pass
        check = UNVERIFIED if exc.reason == "unknown_key" else INVALID
        return Scan(text, kind, ident, kid, check, exc.reason, str(exc))
    return Scan(text, parsed.kind, parsed.ident, parsed.kid, VERIFIED)


def parse_kg(value: str | float | Decimal) -> Decimal:
    """A mass as typed; ``ValueError`` when it is not a number at all."""
    try:
        kg = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number of kilograms") from None
    if not kg.is_finite():
        raise ValueError(f"{value!r} is not a number of kilograms")
    return kg


def json_kg(kg: Decimal) -> int | float | str:
    """A mass for the JSON body: a number when it round-trips exactly, else the text.

    Every mass with at most 15 significant digits round-trips through a float's repr, so in
    practice this is a number; the fallback keeps an odd input exact for the server to judge.
    Whole numbers stay whole (``40``, not ``40.0``), as typed.
    """
    if kg == kg.to_integral_value() and abs(kg) < 10**15:
        return int(kg)
    as_float = float(kg)
    return as_float if Decimal(repr(as_float)) == kg else str(kg)


def _mass_problems(name: str, kg: Decimal, *, allow_zero: bool = False) -> list[str]:
    problems = []
    if kg < 0 or (kg == 0 and not allow_zero):
        problems.append(f"{name}: must be greater than {'or equal to ' if allow_zero else ''}0")
    exponent = kg.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -3:
        problems.append(f"{name}: at most 3 decimals (1 g), got {kg}")
    return problems


def handover_problems(
    *, kg: Decimal, material: str, units: int | None, materials: Mapping[str, CachedMaterial]
) -> list[str]:
    """What the server will certainly refuse, checked offline (empty: nothing found).

    The per-handover plausibility cap is left to the server: it applies to sources only, and
    offline we do not know what kind of site a plaque belongs to.
    """
    problems = _mass_problems("declared_mass_kg", kg)
    if units is not None and units < 1:
        problems.append("units: must be at least 1")
    m = materials.get(material)
    if materials and m is None:
        problems.append(f"material: unknown material code {material!r}")
    if m is not None:
        if kg > Decimal(str(m.max_load_kg)):
            problems.append(
                f"declared_mass_kg: {kg} kg is above the cap of {m.max_load_kg:g} kg for any "
                f"load of {m.name_zh}"
            )
        if m.counts_units and units is None:
            problems.append(f"units: {material} is counted in units as well as kg (--units)")
        if not m.counts_units and units is not None:
            problems.append(f"units: {material} is not counted in units")
    return problems


def receipt_problems(body: Mapping[str, Any]) -> list[str]:
    """Offline checks of a receipt: masses, and a reason exactly when mass is refused."""
    received = Decimal(str(body["received_mass_kg"]))
    refused = Decimal(str(body.get("refused_mass_kg", 0)))
    problems = _mass_problems("received_mass_kg", received)
    problems += _mass_problems("refused_mass_kg", refused, allow_zero=True)
    if refused > received:
        problems.append("refused_mass_kg: cannot exceed received_mass_kg")
    reason = body.get("refusal_reason")
    if refused > 0 and not reason:
        problems.append("refusal_reason: say why mass was refused (--reason)")
    if refused == 0 and reason:
        problems.append("refusal_reason: nothing was refused")
    if reason is not None and len(reason.strip()) < 3:
        problems.append("refusal_reason: at least 3 characters")
    return problems
