"""Reading a QR (image or typed payload), checking it offline, and local checks of a body.

Offline checks use only the pure helpers of ``wasteflow.qr`` / ``wasteflow.qr_render`` and the
public keys cached from the server. They tell the collector at once when a plaque is damaged or
forged; they never replace the server's checks, which have the last word.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from mobile_stub.i18n import Msg, Names, UserError, msg
from mobile_stub.store import CachedMaterial
from wasteflow.qr import PublicKeyInfo, QRError, parse_payload, verify_payload
from wasteflow.qr_render import decode_png

# A phone photo is a few MB; anything much larger is not a photo of a plaque.
MAX_IMAGE_BYTES = 50 * 1024 * 1024
# QRError reasons whose explanation the message table has (others: "qr.other").
QR_REASONS = (
    "malformed",
    "unknown_kind",
    "unknown_key",
    "revoked_key",
    "bad_signature",
    "wrong_kind",
    "foreign_base",
)

# scan_check values stored on an outbox row
VERIFIED = "verified"
UNVERIFIED = "unverified offline"  # the key id is not in the cache: the server decides
INVALID = "invalid"
BY_CODE = "by code"  # a correction that names the load by its code: nothing was scanned


class ScanError(UserError):
    """An image could not be read, held no readable QR code, or several different ones."""


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


def qr_reason(reason: str | None) -> Msg:
    """Why a QR code was not accepted, in words."""
    return msg(f"qr.{reason}" if reason in QR_REASONS else "qr.other", reason=reason or "?")


def _why_unreadable(exc: OSError) -> Msg:
    known = {
        errno.ENOENT: "why.no_file",
        errno.EISDIR: "why.is_dir",
        errno.EACCES: "why.no_permission",
        errno.EPERM: "why.no_permission",
    }
    key = known.get(exc.errno or 0)
    return msg(key) if key else msg("why.os", detail=exc.strerror or str(exc))


def image_bytes(image: str | Path) -> bytes:
    """The bytes of an image file; ScanError naming the file and the reason when it cannot be
    read (missing, a directory, no permission, empty, too large)."""
    path = Path(image).expanduser()
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
        if size > MAX_IMAGE_BYTES:
            raise ScanError("image.unreadable", file=str(image), why=msg("why.too_large"))
        data = path.read_bytes()
    except OSError as exc:
        raise ScanError("image.unreadable", file=str(image), why=_why_unreadable(exc)) from None
    if not data:
        raise ScanError("image.unreadable", file=str(image), why=msg("why.empty"))
    return data


def read_image(image: str | Path | bytes) -> str:
    """The one QR payload in an image (PNG or any format Pillow reads), decoded by zxing-cpp."""
    name = "<bytes>" if isinstance(image, bytes) else str(image)
    data = image if isinstance(image, bytes) else image_bytes(image)
    try:
        texts = list(dict.fromkeys(decode_png(data)))
    except QRError as exc:
        raise ScanError("image.unreadable", file=name, why=msg("why.not_image")) from exc
    except Exception as exc:  # Pillow's DecompressionBombError and the like
        raise ScanError("image.unreadable", file=name, why=msg("why.os", detail=str(exc))) from exc
    if not texts:
        raise ScanError("image.no_qr", file=name)
    if len(texts) > 1:
        raise ScanError("image.several_qr", file=name, n=len(texts))
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
        raise UserError("kg.not_number", value=str(value)) from None
    if not kg.is_finite():
        raise UserError("kg.not_number", value=str(value))
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


def _mass_problems(name: str, kg: Decimal, *, allow_zero: bool = False) -> list[Msg]:
    problems = []
    field = msg(f"field.{name}")
    if kg < 0 or (kg == 0 and not allow_zero):
        problems.append(msg("problem.kg_min_zero" if allow_zero else "problem.kg_min", field=field))
    exponent = kg.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -3:
        problems.append(msg("problem.decimals", field=field, kg=str(kg)))
    return problems


def handover_problems(
    *, kg: Decimal, material: str, units: int | None, materials: Mapping[str, CachedMaterial]
) -> list[Msg]:
    """What the server will certainly refuse, checked offline (empty: nothing found).

    The per-handover plausibility cap is left to the server: it applies to sources only, and
    offline we do not know what kind of site a plaque belongs to. The material is known to be
    in the catalogue (:func:`resolve`) when the catalogue is cached.
    """
    problems = _mass_problems("declared_mass_kg", kg)
    if units is not None and units < 1:
        problems.append(msg("problem.units_min"))
    m = materials.get(material)
    if m is not None:
        name = Names.of([(m.code, m.name_zh, m.name_en)])
        if kg > Decimal(str(m.max_load_kg)):
            problems.append(
                msg("problem.load_cap", kg=str(kg), cap=f"{m.max_load_kg:g}", name=name)
            )
        if m.counts_units and units is None:
            problems.append(msg("problem.units_missing", name=name))
        if not m.counts_units and units is not None:
            problems.append(msg("problem.units_extra", name=name))
    return problems


def receipt_problems(body: Mapping[str, Any]) -> list[Msg]:
    """Offline checks of a receipt: masses, and a reason exactly when mass is refused."""
    received = Decimal(str(body["received_mass_kg"]))
    refused = Decimal(str(body.get("refused_mass_kg", 0)))
    problems = _mass_problems("received_mass_kg", received)
    problems += _mass_problems("refused_mass_kg", refused, allow_zero=True)
    if refused > received:
        problems.append(msg("problem.refused_over"))
    reason = body.get("refusal_reason")
    if refused > 0 and not reason:
        problems.append(msg("problem.reason_missing"))
    if refused == 0 and reason:
        problems.append(msg("problem.reason_extra"))
    if reason is not None and len(reason.strip()) < 3:
        problems.append(msg("problem.reason_short"))
    return problems


# --- catalogue words ---------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.casefold())


def resolve(text: str, catalogue: Mapping[str, tuple[str, str]], what: str, option: str) -> str:
    """The code a user means by ``text``: a code or a Chinese or English name, or part of
    one that only one entry matches (characters of a Chinese name, beginnings of the words of
    a code or an English name: ``农膜``, ``paper``). ``catalogue`` maps code → (name_zh,
    name_en); when it is empty (never fetched) the text is taken as a code, for the server.

    UserError ``{what}.ambiguous`` or ``{what}.unknown``, listing the choices, otherwise.
    """
    text = text.strip()
    if not catalogue or text in catalogue:
        return text
    folded, typed = text.casefold(), _words(text)

    def exact(code: str) -> bool:
        zh, en = catalogue[code]
        return folded in (code.casefold(), zh.casefold(), en.casefold())

    def partial(code: str) -> bool:
        zh, en = catalogue[code]
        if folded in zh.casefold():
            return True
        return any(
            typed and all(any(w.startswith(t) for w in _words(name)) for t in typed)
            for name in (code, en)
        )

    for test in (exact, partial):
        matches = [c for c in catalogue if test(c)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            entries = Names.of((c, *catalogue[c]) for c in matches)
            raise UserError(f"{what}.ambiguous", value=text, option=option, choices=entries)
    entries = Names.of((c, *catalogue[c]) for c in catalogue)
    raise UserError(f"{what}.unknown", value=text, option=option, choices=entries)
