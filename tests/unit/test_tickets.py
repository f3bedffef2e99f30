"""Load tickets: one spelling per ticket, signatures over exactly what is printed, and a size
that fits the QR a phone shows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from wasteflow.qr import QRError, public_key_b64
from wasteflow.qr_render import decode_png, qr_version, render_png
from wasteflow.tickets import DeviceKeyInfo, new_device_id, parse_ticket, sign_ticket, verify_ticket

KEY = Ed25519PrivateKey.generate()
DEVICE = new_device_id()
INFO = DeviceKeyInfo(DEVICE, public_key_b64(KEY))
WHEN = datetime(2026, 11, 24, 8, 30, 5, tzinfo=UTC)


def ticket(**over: object) -> str:
    fields: dict[str, object] = {
        "key": "7d04848a-0f4b-464a-8f89-3ce49722626a",
        "from_site": "WL-HH-500156101001-1",
        "to_site": "WL-CP-500156101001",
        "material": "film.agri",
        "mass_kg": "18.400",
        "device_time": WHEN,
    }
    return sign_ticket(KEY, DEVICE, **(fields | over))  # type: ignore[arg-type]


def test_a_ticket_says_its_load_and_verifies_with_its_device_key() -> None:
    text = ticket()
    t = verify_ticket(text, INFO)
    assert (t.from_site, t.to_site, t.material) == (
        "WL-HH-500156101001-1",
        "WL-CP-500156101001",
        "film.agri",
    )
    assert t.mass_kg == Decimal("18.4") and "/18.4/" in text  # one spelling: no trailing zeros
    assert t.key == "7d04848a-0f4b-464a-8f89-3ce49722626a" and t.device_time == WHEN
    assert t.units is None and t.ident == f"{DEVICE}:{text.split('/q/T/')[1].split('/')[0]}"
    # The demo's codes fit a version 10 QR at level M, like a plaque.
    assert len(text) <= 213 and qr_version(text) <= 10
    assert decode_png(render_png(text)) == [text]


def test_units_are_a_seventh_field() -> None:
    t = verify_ticket(ticket(material="appliance.tv", mass_kg=60, units=2), INFO)
    assert t.units == 2 and t.mass_kg == 60


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda s: s.replace("/18.4/", "/18.5/"), "bad_signature"),
        (lambda s: s.replace("/18.4/", "/18.40/"), "malformed"),
        (lambda s: s.replace("/film.agri/", "/straw.maize/"), "bad_signature"),
        (lambda s: s.replace("WL-CP-500156101001", "WL-CP-500156101002"), "bad_signature"),
        (lambda s: s.replace("/q/T/", "/q/S/"), "malformed"),
        (lambda s: s[:-1], "malformed"),
        (lambda s: s + "&x=1", "malformed"),
        (lambda s: s.replace("?d=", "?k="), "malformed"),
        (lambda s: s.replace(f"d={DEVICE}", "d=ABCDEF"), "malformed"),
        (lambda s: s.replace(" ", "") + " ", "malformed"),
    ],
)
def test_an_altered_ticket_is_refused_with_its_reason(change: object, reason: str) -> None:
    with pytest.raises(QRError) as err:
        verify_ticket(change(ticket()), INFO)  # type: ignore[operator]
    assert err.value.reason == reason


def test_an_unknown_or_revoked_device_is_refused() -> None:
    text = ticket()
    with pytest.raises(QRError) as err:
        verify_ticket(text, None)
    assert err.value.reason == "unknown_device"
    with pytest.raises(QRError) as err:
        verify_ticket(text, DeviceKeyInfo(DEVICE, INFO.public_key_b64, revoked=True))
    assert err.value.reason == "revoked_device"
    other = Ed25519PrivateKey.generate()
    with pytest.raises(QRError) as err:
        verify_ticket(text, DeviceKeyInfo(DEVICE, public_key_b64(other)))
    assert err.value.reason == "bad_signature"


@given(
    grams=st.integers(min_value=1, max_value=10**9),
    seconds=st.integers(min_value=1, max_value=4_000_000_000),
    units=st.none() | st.integers(min_value=1, max_value=999_999),
)
def test_every_ticket_reads_back_as_signed(grams: int, seconds: int, units: int | None) -> None:
    key = str(uuid.uuid4())
    kg = Decimal(grams) / 1000
    when = datetime.fromtimestamp(seconds, UTC)
    text = ticket(key=key, mass_kg=kg, device_time=when, units=units)
    t = verify_ticket(text, INFO)
    assert (t.key, t.mass_kg, t.device_time, t.units) == (key, kg, when, units)
    assert parse_ticket(text).text == text
