"""QR rendering: PNG and SVG symbols, the printable A4 plaque sheet, and decoding.

Pure like ``wasteflow.qr``: payload text in, bytes or strings out. Every symbol uses error
correction level M and is refused (``QRError("too_large")``) above version 10, so that plaques
stay scannable by a mid-range phone at arm's length.
"""

from __future__ import annotations

import html
import io
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M
from qrcode.exceptions import DataOverflowError

from wasteflow.qr import MAX_QR_VERSION, QRError, parse_payload

__all__ = [
    "PER_PAGE",
    "Plaque",
    "decode_png",
    "qr_version",
    "render_plaque_sheet",
    "render_png",
    "render_svg",
]


def _too_large(text: str, version: int | None = None) -> QRError:
    found = f"version {version}" if version else "more than version 40"
    return QRError(
        "too_large",
        f"{len(text)} characters need a QR code of {found}; at most version {MAX_QR_VERSION} "
        "is printed",
    )


def _fitted(text: str, *, box_size: int = 10, border: int = 4) -> qrcode.QRCode:
    """A QRCode with the smallest version that holds ``text``, not yet drawn."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=border)
    qr.add_data(text)
    try:
        # best_fit only counts bits; checking the version before make() spares us building
        # (and mask-scoring) a symbol we are about to refuse.
        version = qr.best_fit()
    except (DataOverflowError, ValueError):  # qrcode 8 raises ValueError past version 40
        raise _too_large(text) from None
    if version > MAX_QR_VERSION:
        raise _too_large(text, version)
    return qr


def qr_version(text: str) -> int:
    """The QR version (1-40) ``text`` needs at error correction level M."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M)
    qr.add_data(text)
    try:
        return int(qr.best_fit())
    except (DataOverflowError, ValueError):  # qrcode 8 raises ValueError past version 40
        raise _too_large(text) from None


def render_png(text: str, *, box_size: int = 8, border: int = 4) -> bytes:
    """A black-on-white PNG of ``text`` (level M, at most version 10).

    ``box_size`` is pixels per module; ``border`` the quiet zone in modules (the standard asks
    for 4). Raises ``QRError("too_large")`` above version 10.
    """
    if not 1 <= box_size <= 64 or not 0 <= border <= 16:
        raise ValueError("box_size must be 1-64 pixels and border 0-16 modules")
    qr = _fitted(text, box_size=box_size, border=border)
    qr.make(fit=False)
    buf = io.BytesIO()
    qr.make_image().save(buf, format="PNG")
    return buf.getvalue()


class _WhiteSvg(qrcode.image.svg.SvgPathImage):
    # Without a background the symbol is transparent and unreadable on a dark screen.
    background = "#ffffff"


def _svg_root(text: str) -> ET.Element:
    qr = _fitted(text)
    qr.make(fit=False)
    root = qr.make_image(image_factory=_WhiteSvg).get_image()
    for path in root.iter("path"):
        # qrcode names every path "qr-path"; on a sheet of many symbols that id would repeat.
        path.attrib.pop("id", None)
    return root


def render_svg(text: str) -> str:
    """A standalone SVG document of ``text``: one ``<path>``, 1 mm per module, white ground."""
    body = ET.tostring(_svg_root(text), encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _inline_svg(text: str, label: str) -> str:
    root = _svg_root(text)
    # The sheet's CSS sizes the symbol; the viewBox keeps it square and sharp at any size.
    root.attrib.pop("width", None)
    root.attrib.pop("height", None)
    root.set("role", "img")
    root.set("aria-label", label)
    return ET.tostring(root, encoding="unicode")


@dataclass(frozen=True)
class Plaque:
    """One cell of a plaque sheet: a signed site payload and the text printed under it."""

    payload: str
    site_name: str
    site_code: str
    township: str = ""


_LABELS = {
    "zh": {"html": "zh-CN", "title": "武隆区 站点二维码牌", "page": "第 {i} / {n} 页"},
    "en": {"html": "en", "title": "Wulong District site QR plaques", "page": "Page {i} of {n}"},
}

_COLUMNS, _ROWS = 3, 4
PER_PAGE = _COLUMNS * _ROWS

# Sizes in mm for A4 (210 x 297) with 10 mm margins: 190 x 277 for a 6 mm header and 4 rows.
_CSS = """
@page { size: A4; margin: 10mm; }
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; }
body {
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
    "SimHei", sans-serif;
  color: #000;
  -webkit-print-color-adjust: exact; print-color-adjust: exact;
}
.sheet {
  width: 190mm; height: 277mm; overflow: hidden;
  display: grid; grid-template-columns: repeat(3, 1fr);
  grid-template-rows: 7mm repeat(4, minmax(0, 1fr));
  break-after: page; page-break-after: always;
}
.sheet:last-of-type { break-after: auto; page-break-after: auto; }
.head {
  grid-column: 1 / -1; display: flex; justify-content: space-between; align-items: baseline;
  font-size: 9pt; border-bottom: 0.3mm solid #000;
}
.cell {
  display: flex; flex-direction: column; align-items: center; justify-content: center;
  padding: 2mm; border: 0.2mm dashed #888; overflow: hidden; text-align: center;
  break-inside: avoid; page-break-inside: avoid;
}
.cell svg { width: 46mm; height: 46mm; flex: none; display: block; }
.name { margin-top: 1mm; font-size: 11pt; font-weight: 700; line-height: 1.2;
  overflow-wrap: anywhere; max-height: 2.4em; overflow: hidden; }
.code { font-family: "DejaVu Sans Mono", "Consolas", monospace; font-size: 10pt; }
.township { font-size: 9pt; }
@media screen {
  body { background: #ddd; }
  .sheet { box-sizing: content-box; padding: 10mm; margin: 6mm auto; background: #fff; }
}
"""


def render_plaque_sheet(
    plaques: Sequence[Plaque], *, title: str | None = None, lang: str = "zh"
) -> str:
    """A self-contained printable HTML page of site plaques, 3 x 4 per A4 sheet.

    Each cell holds the QR as inline SVG with the site's name, code and township under it; all
    text is HTML-escaped and no external asset is referenced. ``lang`` (``zh`` or ``en``) picks
    the page language and the default title. Every payload must be a well-formed *site*
    payload for the plaque's ``site_code`` (signatures are not checked: this module holds no
    keys), otherwise ``QRError("plaque_mismatch")``: a plaque printed under the wrong name would
    send every scan to the wrong site.
    """
    if lang not in _LABELS:
        raise ValueError(f"lang must be one of {sorted(_LABELS)}")
    labels = _LABELS[lang]
    for plaque in plaques:
        parsed = parse_payload(plaque.payload)
        if parsed.kind != "site" or parsed.ident != plaque.site_code:
            raise QRError(
                "plaque_mismatch",
                f"the QR for {plaque.site_code!r} encodes {parsed.kind} {parsed.ident!r}",
            )
    esc = html.escape
    title_text = labels["title"] if title is None else title
    pages = [plaques[i : i + PER_PAGE] for i in range(0, len(plaques), PER_PAGE)]
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{labels["html"]}">',
        '<head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title_text)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
    ]
    for number, page in enumerate(pages, start=1):
        page_label = labels["page"].format(i=number, n=len(pages))
        out.append('<section class="sheet">')
        out.append(
            f'<header class="head"><span>{esc(title_text)}</span>'
            f"<span>{esc(page_label)}</span></header>"
        )
        for plaque in page:
            out.append(
                '<div class="cell">'
                + _inline_svg(plaque.payload, f"QR {plaque.site_code}")
                + f'<div class="name">{esc(plaque.site_name)}</div>'
                + f'<div class="code">{esc(plaque.site_code)}</div>'
                + f'<div class="township">{esc(plaque.township)}</div>'
                + "</div>"
            )
        out.append("</section>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def decode_png(data: bytes) -> list[str]:
    """The texts of the QR codes found in an image (PNG, or any format Pillow reads).

    Tuned for speed: QR only, no inverted (light-on-dark) pass and no extra 90° pass, which QR
    does not need since its finder patterns are found at any angle; ~0.5 ms for a rendered
    plaque against ~4 ms with zxing-cpp's defaults. Downscaling stays on: phone photos are
    large. Raises ``QRError("unreadable_image")`` when the bytes are
    not an image.
    """
    # Imported here: only tests and the field client decode, the server never needs zxing-cpp.
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            gray = img.convert("L")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise QRError("unreadable_image", f"the image cannot be read: {exc}") from None
    found = zxingcpp.read_barcodes(
        gray,
        formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
        try_rotate=False,
        try_invert=False,
    )
    return [barcode.text for barcode in found]
