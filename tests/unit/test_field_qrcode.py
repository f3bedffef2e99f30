"""The field app's QR drawing (api/static/field/qrcode.js over the vendored qrcode-generator),
run in Node and read back by the server's decoder (zxing-cpp): every version the app may draw,
UTF-8 text, and the limit."""

from __future__ import annotations

import io
import json
import random
import shutil
import string
import subprocess
from pathlib import Path

from PIL import Image

from tests.conftest import ensure_debian_packages
from wasteflow.qr_render import decode_png

ENCODER = Path(__file__).resolve().parents[2] / "api/static/field/qrcode.js"
SCRIPT = """
import { capacity, qrMatrix, MAX_VERSION } from %s;
const texts = JSON.parse(process.argv[1]);
const matrices = texts.map((t) => qrMatrix(t).map((r) => r.map((d) => (d ? 1 : 0)).join("")));
const capacities = Array.from({ length: MAX_VERSION }, (_, i) => capacity(i + 1));
console.log(JSON.stringify({ matrices, capacities }));
"""


def encode(texts: list[str]) -> dict[str, list]:  # type: ignore[type-arg]
    ensure_debian_packages(bool(shutil.which("node")), ["nodejs"], "Node.js")
    done = subprocess.run(
        [
            "node",
            "--input-type=module",
            "-e",
            SCRIPT % json.dumps(ENCODER.as_uri()),
            json.dumps(texts),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def png(rows: list[str], quiet: int = 4, scale: int = 4) -> bytes:
    n = len(rows) + 2 * quiet
    img = Image.new("L", (n, n), 255)
    for y, row in enumerate(rows):
        for x, bit in enumerate(row):
            if bit == "1":
                img.putpixel((x + quiet, y + quiet), 0)
    buf = io.BytesIO()
    img.resize((n * scale, n * scale), Image.NEAREST).save(buf, format="PNG")
    return buf.getvalue()


def test_every_version_reads_back_as_it_was_written() -> None:
    rng = random.Random(15)
    alphabet = string.ascii_letters + string.digits + "/:.?&=-_~"
    # Around each version's capacity at level M (byte mode), from 1 to 412 bytes.
    got = encode(["x"])
    lengths = sorted({1, *(c for c in got["capacities"]), *(c + 1 for c in got["capacities"][:-1])})
    texts = ["".join(rng.choice(alphabet) for _ in range(n)) for n in lengths]
    texts.append("废弃物收运 ticket ünïcode")
    out = encode(texts)
    versions = set()
    for text, rows in zip(texts, out["matrices"], strict=True):
        size = len(rows)
        assert (size - 17) % 4 == 0 and all(len(r) == size for r in rows)
        versions.add((size - 17) // 4)
        assert decode_png(png(rows)) == [text], (len(text), size)
    assert versions == set(range(1, 16))
    # The smallest version that holds the text, as the standard's tables say (level M).
    assert out["capacities"][9] == 213 and out["capacities"][14] == 412


def test_a_text_too_long_for_version_15_is_refused() -> None:
    ensure_debian_packages(bool(shutil.which("node")), ["nodejs"], "Node.js")
    done = subprocess.run(
        [
            "node",
            "--input-type=module",
            "-e",
            f"import {{ qrMatrix }} from {json.dumps(ENCODER.as_uri())};qrMatrix('x'.repeat(413));",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "RangeError: 413 bytes do not fit a QR code of version 15" in done.stderr
