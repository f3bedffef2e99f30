"""Signed QR payloads: signing, strict parsing, key rotation, key storage, rendering, decoding."""

from __future__ import annotations

import base64
import html
import io
import pickle
import re
import xml.etree.ElementTree as ET

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from wasteflow.qr import (
    DEFAULT_BASE,
    MAX_PAYLOAD_CHARS,
    MAX_QR_VERSION,
    PublicKeyInfo,
    QRError,
    Signer,
    decrypt_private_key,
    encrypt_private_key,
    generate_signer,
    parse_payload,
    public_key_b64,
    sign_payload,
    verify_payload,
)
from wasteflow.qr_render import (
    PER_PAGE,
    Plaque,
    decode_png,
    qr_version,
    render_plaque_sheet,
    render_png,
    render_svg,
)

SVG_NS = "{http://www.w3.org/2000/svg}"


def _signer(kid: str, seed: int) -> Signer:
    # Fixed seeds: Ed25519 is deterministic, so every run signs the very same payloads.
    return Signer(kid=kid, private_key=Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


def _info(signer: Signer, status: str = "active", kid: str | None = None) -> PublicKeyInfo:
    return PublicKeyInfo(
        kid=kid or signer.kid, public_key_b64=public_key_b64(signer), status=status
    )


ACTIVE = _signer("k7m2q9", 1)
RETIRED = _signer("old2024", 2)
REVOKED = _signer("leak01", 3)
LONG_KID = _signer("abcd1234", 7)  # the longest kid, for the size limits
KEYS = {
    s.kid: _info(s, st_)
    for s, st_ in ((ACTIVE, "active"), (RETIRED, "retired"), (REVOKED, "revoked"))
}

SITE = sign_payload(ACTIVE, "site", "WL-CP-0042")
HANDOVER = sign_payload(ACTIVE, "handover", "HO-20250314-7K3Q9")

idents = st.from_regex(r"[A-Z0-9-]{1,32}", fullmatch=True)
kinds = st.sampled_from(["site", "handover"])


def _reason(excinfo: pytest.ExceptionInfo[QRError]) -> str:
    return excinfo.value.reason


def _refused(text: str, keys=KEYS, **kwargs) -> str:
    with pytest.raises(QRError) as excinfo:
        verify_payload(text, keys, **kwargs)
    assert str(excinfo.value)  # always a sentence for the user
    return _reason(excinfo)


def _swap_sig(text: str, sig: str) -> str:
    return text[: text.index("&s=") + 3] + sig


def _sig(text: str) -> str:
    return text[text.index("&s=") + 3 :]


# -- signing and verifying -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "ident", "letter"),
    [("site", "WL-CP-0042", "S"), ("handover", "HO-20250314-7K3Q9", "H")],
)
def test_sign_verify_round_trip(kind: str, ident: str, letter: str) -> None:
    text = sign_payload(ACTIVE, kind, ident)
    assert re.fullmatch(
        rf"https://wf\.wulong\.example/q/{letter}/{ident}\?k=k7m2q9&s=[A-Za-z0-9_-]{{86}}", text
    )
    payload = verify_payload(text, KEYS, expected_kind=kind)
    assert (payload.kind, payload.ident, payload.kid, payload.text) == (kind, ident, "k7m2q9", text)
    assert payload.base == DEFAULT_BASE and len(payload.signature) == 64
    # A callable key store works the same as a mapping.
    assert verify_payload(text, KEYS.get) == payload


@settings(max_examples=60)
@given(kind=kinds, ident=idents)
def test_round_trip_for_any_code(kind: str, ident: str) -> None:
    payload = verify_payload(sign_payload(ACTIVE, kind, ident), KEYS)
    assert (payload.kind, payload.ident) == (kind, ident)


def test_altered_ident_is_refused() -> None:
    assert _refused(SITE.replace("WL-CP-0042", "WL-CP-0043")) == "bad_signature"


def test_altered_kid_is_refused() -> None:
    # The same public key known under a second kid: only binding kid into the message stops a
    # payload from being re-labelled with it.
    keys = {**KEYS, "k7m2q8": _info(ACTIVE, kid="k7m2q8")}
    assert _refused(SITE.replace("k=k7m2q9", "k=k7m2q8"), keys) == "bad_signature"
    assert _refused(SITE.replace("k=k7m2q9", "k=old2024")) == "bad_signature"


def test_signature_moved_to_another_site_is_refused() -> None:
    other = sign_payload(ACTIVE, "site", "WL-CP-0043")
    assert _refused(_swap_sig(SITE, _sig(other))) == "bad_signature"
    assert _refused(_swap_sig(other, _sig(SITE))) == "bad_signature"


def test_site_signature_presented_as_handover_is_refused() -> None:
    site = sign_payload(ACTIVE, "site", "HO-20250314-7K3Q9")  # a site code shaped like a handover
    assert _refused(site.replace("/q/S/", "/q/H/")) == "bad_signature"
    assert _refused(HANDOVER.replace("/q/H/", "/q/S/")) == "bad_signature"


@pytest.mark.parametrize("text", [SITE, HANDOVER])
def test_every_truncation_is_refused(text: str) -> None:
    for length in range(len(text)):
        with pytest.raises(QRError) as excinfo:
            parse_payload(text[:length])
        assert _reason(excinfo) == "malformed", text[:length]


@given(index=st.integers(0, 63), bit=st.integers(0, 7))
def test_flipped_signature_bit_is_refused(index: int, bit: int) -> None:
    sig = bytearray(parse_payload(SITE).signature)
    sig[index] ^= 1 << bit
    forged = _swap_sig(SITE, base64.urlsafe_b64encode(sig).rstrip(b"=").decode())
    assert _refused(forged) == "bad_signature"


def test_unknown_kid_is_refused() -> None:
    stranger = generate_signer("zz99")
    text = sign_payload(stranger, "site", "WL-CP-0042")
    assert _refused(text) == "unknown_key"
    assert _refused(text, lambda kid: None) == "unknown_key"
    # A store that answers with another kid's key is treated as not knowing the kid.
    assert _refused(text, lambda kid: KEYS["k7m2q9"]) == "unknown_key"


def test_revoked_key_verifies_nothing() -> None:
    assert _refused(sign_payload(REVOKED, "site", "WL-CP-0042")) == "revoked_key"
    assert not KEYS["leak01"].can_verify and not KEYS["leak01"].can_sign


def test_retired_key_still_verifies_but_may_not_sign() -> None:
    old = sign_payload(RETIRED, "site", "WL-CP-0042")
    assert verify_payload(old, KEYS, "site").kid == "old2024"
    assert KEYS["old2024"].can_verify and not KEYS["old2024"].can_sign
    assert KEYS["k7m2q9"].can_sign


def test_expected_kind_mismatch_is_refused() -> None:
    assert _refused(SITE, expected_kind="handover") == "wrong_kind"
    assert _refused(HANDOVER, expected_kind="site") == "wrong_kind"
    with pytest.raises(ValueError):
        verify_payload(SITE, KEYS, expected_kind="plaque")


def test_other_base_urls_verify_and_can_be_pinned() -> None:
    for base in ("http://10.0.0.5:8080", "https://hs.cq.gov.cn/wasteflow/", "https://a.b/Wf_1"):
        text = sign_payload(ACTIVE, "site", "WL-CP-0042", base=base)
        assert verify_payload(text, KEYS).base == base.rstrip("/")
    # Not signed, so moving domains keeps old plaques valid ...
    moved = SITE.replace(DEFAULT_BASE, "https://wf.wulong.gov.cn")
    assert verify_payload(moved, KEYS).ident == "WL-CP-0042"
    # ... and a service that cares pins the bases it serves.
    allowed = [DEFAULT_BASE + "/", "https://wf.wulong.gov.cn"]
    assert verify_payload(moved, KEYS, allowed_bases=allowed).base == "https://wf.wulong.gov.cn"
    evil = SITE.replace(DEFAULT_BASE, "https://wf-wulong.example.net")
    assert _refused(evil, allowed_bases=allowed) == "foreign_base"


_GOOD_SIG = _sig(SITE)
_NONCANONICAL = _GOOD_SIG[:-1] + chr(ord(_GOOD_SIG[-1]) + 1)  # sets an unused trailing bit


@pytest.mark.parametrize(
    "text",
    [
        "",
        "WL-CP-0042",
        SITE.replace("https://", "ftp://"),
        SITE.replace("https://", "javascript://"),
        SITE.replace("https://", "https://user@"),
        SITE.replace("/q/", "/x/"),
        SITE.replace("/q/S/", "/q/S/X/"),
        SITE.replace("/q/S/", "/q/s/"),
        SITE.replace("/q/S/", "/q/SS/"),
        SITE.replace("WL-CP-0042", "wl-cp-0042"),
        SITE.replace("WL-CP-0042", "WL_CP_0042"),
        SITE.replace("WL-CP-0042", "WL%2DCP"),
        SITE.replace("WL-CP-0042", "W" * 33),
        SITE.replace("WL-CP-0042", "ＷＬ-CP-0042"),  # full-width letters
        SITE.replace("?k=k7m2q9&", "?"),
        SITE[: SITE.index("&s=")],
        SITE.replace("?k=k7m2q9&s=", "?s=") + "&k=k7m2q9",
        SITE + "&x=1",
        SITE + "#frag",
        SITE + "\n",
        " " + SITE,
        SITE.replace("k=k7m2q9", "k=K7M2Q9"),
        SITE.replace("k=k7m2q9", "k=abc"),
        SITE.replace("k=k7m2q9", "k=abcdefghi"),
        _swap_sig(SITE, _GOOD_SIG[:-2] + "+/"),
        _swap_sig(SITE, _GOOD_SIG + "=="),
        _swap_sig(SITE, _GOOD_SIG + "AAAA"),
        _swap_sig(SITE, _NONCANONICAL),
        SITE.replace(DEFAULT_BASE, "https://" + "a" * 200 + ".example"),
        SITE.replace(DEFAULT_BASE, DEFAULT_BASE.upper()),
    ],
)
def test_malformed_payloads_are_refused(text: str) -> None:
    with pytest.raises(QRError) as excinfo:
        parse_payload(text)
    assert _reason(excinfo) == "malformed"
    assert str(excinfo.value).startswith("not a wasteflow QR code: ")
    assert len(text) <= MAX_PAYLOAD_CHARS or "characters" in str(excinfo.value)


def test_unknown_kind_letter_is_its_own_reason() -> None:
    assert _refused(SITE.replace("/q/S/", "/q/X/")) == "unknown_kind"


def test_errors_keep_their_reason_when_pickled() -> None:
    error = pickle.loads(pickle.dumps(QRError("bad_signature", "the signature does not match")))
    assert (error.reason, str(error)) == ("bad_signature", "the signature does not match")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=MAX_PAYLOAD_CHARS + 20))
@example(SITE[:-1])
def test_parser_raises_nothing_but_qrerror(text: str) -> None:
    try:
        parse_payload(text)
    except QRError as exc:
        assert exc.reason in {"malformed", "unknown_kind"}


@settings(max_examples=300)
@given(data=st.data(), text=st.sampled_from([SITE, HANDOVER]))
def test_one_changed_character_never_verifies_as_something_else(data, text: str) -> None:
    index = data.draw(st.integers(0, len(text) - 1))
    char = data.draw(st.characters(codec="ascii").filter(lambda c: c != text[index]))
    mutated = text[:index] + char + text[index + 1 :]
    original = parse_payload(text)
    try:
        payload = verify_payload(mutated, KEYS)
    except QRError:
        return
    # Only the unsigned base URL may change and still verify; what it denotes may not.
    assert index < len(DEFAULT_BASE)
    assert (payload.kind, payload.ident, payload.kid) == (
        original.kind,
        original.ident,
        original.kid,
    )


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"kind": "plaque", "ident": "WL-CP-0042"}, "unknown_kind"),
        ({"kind": "site", "ident": "wl-cp-0042"}, "bad_ident"),
        ({"kind": "site", "ident": ""}, "bad_ident"),
        ({"kind": "site", "ident": "A" * 33}, "bad_ident"),
        ({"kind": "site", "ident": "A", "base": "ftp://x.example"}, "bad_base"),
        ({"kind": "site", "ident": "A", "base": "https://x.example/?a=1"}, "bad_base"),
        ({"kind": "site", "ident": "A", "base": "HTTPS://WF.EXAMPLE"}, "bad_base"),
        (
            {"kind": "site", "ident": "A" * 32, "base": "https://" + "a" * 61 + ".example"},
            "too_large",
        ),
    ],
)
def test_sign_refuses_bad_input(kwargs: dict[str, str], reason: str) -> None:
    with pytest.raises(QRError) as excinfo:
        sign_payload(LONG_KID, **kwargs)
    assert _reason(excinfo) == reason


def test_longest_base_that_signs_still_fits_version_10() -> None:
    # 76 characters of base is the most sign_payload accepts with a 32-character code.
    text = sign_payload(LONG_KID, "site", "A" * 32, base="https://" + "a" * 60 + ".example")
    assert len(text) == 213 and qr_version(text) <= MAX_QR_VERSION
    assert decode_png(render_png(text)) == [text]


def test_keys_and_key_ids_are_checked() -> None:
    kids = {generate_signer().kid for _ in range(20)}
    assert len(kids) == 20 and all(re.fullmatch(r"[a-z0-9]{6}", k) for k in kids)
    for bad in ("abc", "ABCD", "abcdefghi", "ab-cd"):
        with pytest.raises(QRError) as excinfo:
            generate_signer(bad)
        assert _reason(excinfo) == "bad_kid"
    with pytest.raises(QRError) as excinfo:
        PublicKeyInfo(kid="abcd", public_key_b64="AAAA", status="active")
    assert _reason(excinfo) == "bad_key"
    with pytest.raises(QRError) as excinfo:
        PublicKeyInfo(kid="abcd", public_key_b64=public_key_b64(ACTIVE), status="lost")
    assert _reason(excinfo) == "bad_key"
    assert len(public_key_b64(ACTIVE)) == 43
    assert public_key_b64(ACTIVE) == public_key_b64(ACTIVE.private_key.public_key())
    assert "private" not in repr(ACTIVE)


# -- private keys at rest --------------------------------------------------------------------


def test_private_key_encryption_round_trip() -> None:
    signer = generate_signer()
    blob = encrypt_private_key(signer.private_key, "correct horse 电池 staple")
    assert blob.isascii() and blob.startswith("wfk1$scrypt$15$") and len(blob) < 512
    key = decrypt_private_key(blob, "correct horse 电池 staple")
    assert public_key_b64(key) == public_key_b64(signer)
    # A fresh salt and nonce every time: the same key never encrypts to the same text.
    assert encrypt_private_key(signer.private_key, "s", log2_n=10) != encrypt_private_key(
        signer.private_key, "s", log2_n=10
    )


def test_wrong_secret_or_altered_blob_is_refused() -> None:
    blob = encrypt_private_key(ACTIVE.private_key, "right", log2_n=10)
    parts = blob.split("$")
    flipped = parts[7][:-2] + ("A" if parts[7][-2] != "A" else "B") + parts[7][-1]
    altered = "$".join([*parts[:7], flipped])
    cases = {
        "bad_secret": [(blob, "wrong"), (blob, ""), (altered, "right")],
        "bad_blob": [
            ("nonsense", "right"),
            (blob.replace("wfk1", "wfk2"), "right"),
            (blob.replace("$10$", "$30$", 1), "right"),
            (blob.replace("$10$", "$x$", 1), "right"),
            ("$".join([*parts[:6], "!!", parts[7]]), "right"),
        ],
    }
    for reason, attempts in cases.items():
        for text, secret in attempts:
            with pytest.raises(QRError) as excinfo:
                decrypt_private_key(text, secret)
            assert _reason(excinfo) == reason, (text, secret)
    with pytest.raises(QRError) as excinfo:
        encrypt_private_key(ACTIVE.private_key, "")
    assert _reason(excinfo) == "bad_secret"


# -- rendering and decoding ------------------------------------------------------------------


def test_longest_payload_fits_version_10_at_level_m() -> None:
    longest = []
    for kind in ("site", "handover"):
        for n in range(25):  # different codes give different signatures, hence bit patterns
            ident = f"{n:02d}" + "Z-" * 15
            longest.append(sign_payload(LONG_KID, kind, ident))
    assert {len(t) for t in longest} == {162}
    assert max(qr_version(t) for t in longest) <= MAX_QR_VERSION
    # With the default base even pure byte mode needs only version 9 (180 bytes at level M).
    assert max(qr_version(t) for t in longest) == 9


def test_png_decodes_to_the_payload_and_verifies() -> None:
    for text in (SITE, HANDOVER):
        png = render_png(text)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        (decoded,) = decode_png(png)
        assert decoded == text
        assert verify_payload(decoded, KEYS).text == text
    small = render_png(SITE, box_size=3, border=4)
    with Image.open(io.BytesIO(small)) as img:
        assert img.size == ((4 * qr_version(SITE) + 17 + 8) * 3,) * 2
    assert decode_png(small) == [SITE]


def test_too_large_payloads_are_not_rendered() -> None:
    text = "https://x.example/" + "a" * 220  # version 11 at level M
    assert qr_version(text) > MAX_QR_VERSION
    for render in (render_png, render_svg):
        with pytest.raises(QRError) as excinfo:
            render(text)
        assert _reason(excinfo) == "too_large"
    with pytest.raises(QRError) as excinfo:
        qr_version("x" * 3000)
    assert _reason(excinfo) == "too_large"


def test_decode_png_of_non_images() -> None:
    with pytest.raises(QRError) as excinfo:
        decode_png(b"not an image")
    assert _reason(excinfo) == "unreadable_image"
    buf = io.BytesIO()
    Image.new("L", (100, 100), 255).save(buf, format="PNG")
    assert decode_png(buf.getvalue()) == []


def test_svg_is_a_standalone_document_that_scans() -> None:
    svg = render_svg(SITE)
    assert svg.startswith("<?xml")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    paths = root.findall(f"{SVG_NS}path")
    assert len(paths) == 1 and "id" not in paths[0].attrib
    # Rasterise the path's squares and decode them: the SVG really holds the payload.
    view_box, d = root.get("viewBox"), paths[0].get("d")
    assert view_box is not None and d is not None
    view = float(view_box.split()[2])
    scale = 6
    img = Image.new("L", (int(view * scale),) * 2, 255)
    draw = ImageDraw.Draw(img)
    number = r"(\d+(?:\.\d+)?)"
    squares = re.findall(rf"M{number},{number}H{number}V{number}H{number}z", d)
    assert squares
    for x0, y0, x1, y1, _ in squares:
        box = [float(v) * scale for v in (x0, y0, x1, y1)]
        draw.rectangle([box[0], box[1], box[2] - 1, box[3] - 1], fill=0)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    assert decode_png(buf.getvalue()) == [SITE]


def test_plaque_sheet_is_printable_and_escaped() -> None:
    plaques = [
        Plaque(
            payload=sign_payload(ACTIVE, "site", f"WL-CP-{n:04d}"),
            site_name=f"火炉镇 <回收点> & “{n}”号",
            site_code=f"WL-CP-{n:04d}",
            township="火炉镇" if n % 2 else "白马镇's",
        )
        for n in range(PER_PAGE + 1)
    ]
    sheet = render_plaque_sheet(plaques, title="武隆区 <测试> 批次")
    assert sheet.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in sheet
    assert re.search(r"@page\s*\{\s*size:\s*A4", sheet)
    assert "page-break-after: always" in sheet
    assert sheet.count("<svg") == len(plaques) == PER_PAGE + 1
    assert sheet.count('<section class="sheet">') == 2 and "第 2 / 2 页" in sheet
    assert "武隆区 &lt;测试&gt; 批次" in sheet and "<测试>" not in sheet
    for plaque in plaques:
        assert f'<div class="name">{html.escape(plaque.site_name)}</div>' in sheet
        assert f'<div class="code">{plaque.site_code}</div>' in sheet
        assert f'<div class="township">{html.escape(plaque.township)}</div>' in sheet
    assert "<回收点>" not in sheet and "白马镇's" not in sheet
    assert not re.search(r"""(src|href)\s*=|url\(|@import""", sheet)  # self-contained
    assert 'id="qr-path"' not in sheet
    english = render_plaque_sheet(plaques[:1], lang="en")
    assert '<html lang="en">' in english and "Page 1 of 1" in english


def test_plaque_sheet_refuses_a_qr_under_the_wrong_site() -> None:
    wrong = [
        Plaque(SITE, "江口镇回收点", "WL-CP-0043", "江口镇"),
        Plaque(sign_payload(ACTIVE, "handover", "WL-CP-0042"), "江口镇回收点", "WL-CP-0042"),
    ]
    for plaque in wrong:
        with pytest.raises(QRError) as excinfo:
            render_plaque_sheet([plaque])
        assert _reason(excinfo) == "plaque_mismatch"
    with pytest.raises(QRError) as excinfo:
        render_plaque_sheet([Plaque("garbage", "x", "X")])
    assert _reason(excinfo) == "malformed"
