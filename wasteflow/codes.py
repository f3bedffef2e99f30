"""Readable record codes, e.g. ``HO-20250314-7K3Q9``.

Crockford's base32 alphabet (no I, L, O, U) so a code read aloud over a bad phone line, or
copied by hand from a crumpled manifest, is hard to get wrong.
"""

from __future__ import annotations

import secrets
from datetime import date

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SUFFIX_LEN = 5
_SPACE = len(ALPHABET) ** SUFFIX_LEN  # 2**25
# An odd multiplier is a bijection modulo a power of two: sequence numbers map to distinct,
# scattered suffixes, so bulk-loaded codes are unique without a lookup.
_SCRAMBLE = 0x1F3A5C7


def _encode(n: int) -> str:
    out = []
    for _ in range(SUFFIX_LEN):
        n, r = divmod(n, len(ALPHABET))
        out.append(ALPHABET[r])
    return "".join(reversed(out))


def handover_code(day: date, suffix: str) -> str:
    return f"HO-{day:%Y%m%d}-{suffix}"


def random_handover_code(day: date) -> str:
    """A fresh code; the unique index catches the rare clash and the caller draws again."""
    return handover_code(day, _encode(secrets.randbelow(_SPACE)))


def sequential_handover_code(day: date, n: int, salt: int = 0) -> str:
    """The n-th code of a day for bulk loads: distinct for every n < 2**25 on one day."""
    if not 0 <= n < _SPACE:
        raise ValueError("sequence number out of range")
    return handover_code(day, _encode((n * _SCRAMBLE + salt) % _SPACE))
