"""Signed QR payloads for site plaques and handover manifests.

This module is pure: keys and payload text go in, strings and bytes come out. Storing keys and
serving scans are built on top of it (services and API). Rendering (PNG, SVG, the printable
plaque sheet) and decoding live in ``wasteflow.qr_render``, which depends on this module and
not the other way round.

Payload (version 1)::

    {base}/q/{T}/{ident}?k={kid}&s={sig}
    https://wf.wulong.example/q/S/WL-CP-0042?k=k7m2q9&s=<86 base64url chars>

``T`` is ``S`` (site plaque) or ``H`` (handover manifest), ``ident`` the site or handover code
(``[A-Z0-9-]{1,32}``), ``kid`` the signing key's id (``[a-z0-9]{4,8}``) and ``sig`` the Ed25519
signature (base64url, no padding) over ``b"wasteflow-qr/1\\n" + T + "\\n" + ident + "\\n" + kid``.
The fields are separated by a character none of them may contain, so the message is unambiguous;
binding ``T`` and ``kid`` stops a site signature being presented as a handover and a signature
being replayed under another key. ``base`` is deliberately *not* signed: a deployment can move to
another domain without reprinting every plaque. The flip side is that the host of a scanned URL
proves nothing; a client that cares passes ``allowed_bases`` to :func:`verify_payload`.

Every refusal is a :class:`QRError` whose ``reason`` is a stable machine code:

- scanned text: ``malformed``, ``unknown_kind``, ``unknown_key``, ``revoked_key``,
  ``bad_signature``, ``wrong_kind``, ``foreign_base``;
- inputs from the server side: ``bad_ident``, ``bad_kid``, ``bad_key``, ``bad_base``,
  ``too_large``, ``bad_secret``, ``bad_blob``, ``plaque_mismatch``, ``unreadable_image``.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

__all__ = [
    "DEFAULT_BASE",
    "KEY_STATUSES",
    "KINDS",
    "MAX_PAYLOAD_CHARS",
    "MAX_QR_VERSION",
    "KeyLookup",
    "Kind",
    "PublicKeyInfo",
    "QRError",
    "QRPayload",
    "Signer",
    "decrypt_private_key",
    "encrypt_private_key",
    "generate_signer",
    "parse_payload",
    "public_key_b64",
    "sign_payload",
    "verify_payload",
]

DEFAULT_BASE = "https://wf.wulong.example"
KINDS: Mapping[str, str] = {"site": "S", "handover": "H"}
KEY_STATUSES = ("active", "retired", "revoked")
MAX_QR_VERSION = 10
# A sanity bound for parsing; real payloads are ~160 characters with the default base.
MAX_PAYLOAD_CHARS = 300
# Byte-mode capacity of a version 10 symbol at level M. Any text this short fits version <= 10
# whatever its characters, so sign_payload can promise a printable payload without rendering.
_V10_M_BYTES = 213

Kind = Literal["site", "handover"]
_LETTER_TO_KIND: Mapping[str, Kind] = {"S": "site", "H": "handover"}
_DOMAIN_TAG = b"wasteflow-qr/1"
_SIG_BYTES = 64
_SIG_CHARS = 86  # len(base64url(64 bytes)) without padding

_IDENT_RE = re.compile(r"[A-Z0-9-]{1,32}")
_KID_RE = re.compile(r"[a-z0-9]{4,8}")
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")
# No user-info ("https://good@evil"), no percent-escapes, no query or fragment: a base is a
# scheme, a host name with an optional port and an optional plain path prefix. Scheme and host
# are lower case only, so one deployment has one spelling to compare against allowed_bases.
_BASE_RE = re.compile(
    r"https?://[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?(?::[0-9]{1,5})?"
    r"(?:/[A-Za-z0-9._~-]+)*"
)
_KID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


class QRError(ValueError):
    """A payload, key or secret was refused.

    ``reason`` is a short machine code (see the module docstring); ``str()`` is a sentence a
    person can act on.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    def __repr__(self) -> str:
        return f"QRError({self.reason!r}, {str(self)!r})"

    def __reduce__(self) -> tuple[type[QRError], tuple[str, str]]:
        # The default would call QRError(message) and lose the reason across processes.
        return (type(self), (self.reason, str(self)))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes | None:
    """Strict base64url without padding; ``None`` unless ``text`` is the canonical encoding."""
    if not _B64URL_RE.fullmatch(text) or len(text) % 4 == 1:
        return None
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    # The last character may carry unused bits; two spellings of one signature would let the
    # same plaque appear as two different texts, so only the canonical one is accepted.
    return data if _b64url(data) == text else None


def _check_kid(kid: str) -> str:
    if not isinstance(kid, str) or not _KID_RE.fullmatch(kid):
        raise QRError("bad_kid", f"key id {kid!r} must be 4 to 8 characters of a-z and 0-9")
    return kid


def _check_base(base: str) -> str:
    base = base.rstrip("/") if isinstance(base, str) else base
    if not isinstance(base, str) or not _BASE_RE.fullmatch(base):
        raise QRError(
            "bad_base",
            f"base URL {base!r} must be http:// or https:// followed by a lower-case host name, "
            "an optional port and an optional path, without query, fragment or user name",
        )
    return base


@dataclass(frozen=True)
class Signer:
    """A signing key: the private half and the id printed in every payload it signs.

    Whether a key may still sign (it is ``active``) is the key store's business: build a
    ``Signer`` only from the active key.
    """

    kid: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        _check_kid(self.kid)
        if not isinstance(self.private_key, Ed25519PrivateKey):
            raise QRError("bad_key", "a Signer needs an Ed25519 private key")

    def __repr__(self) -> str:  # never print key material into logs
        return f"Signer(kid={self.kid!r})"


@dataclass(frozen=True)
class PublicKeyInfo:
    """A verifying key as the key store knows it.

    ``status`` is ``active`` (signs and verifies), ``retired`` (verifies old plaques, signs
    nothing new) or ``revoked`` (verifies nothing).
    """

    kid: str
    public_key_b64: str
    status: str = "active"

    def __post_init__(self) -> None:
        _check_kid(self.kid)
        if self.status not in KEY_STATUSES:
            raise QRError("bad_key", f"key status {self.status!r} is not one of {KEY_STATUSES}")
        _load_public_key(self.public_key_b64)

    @property
    def can_sign(self) -> bool:
        return self.status == "active"

    @property
    def can_verify(self) -> bool:
        return self.status != "revoked"


@lru_cache(maxsize=64)
def _load_public_key(b64: str) -> Ed25519PublicKey:
    raw = _unb64url(b64) if isinstance(b64, str) else None
    if raw is None or len(raw) != 32:
        raise QRError("bad_key", "a public key must be 32 raw bytes in base64url without padding")
    return Ed25519PublicKey.from_public_bytes(raw)


@dataclass(frozen=True)
class QRPayload:
    """A parsed payload. From :func:`parse_payload` it is only well-formed; from
    :func:`verify_payload` it is also authentic."""

    kind: Kind
    ident: str
    kid: str
    signature: bytes
    text: str
    base: str

    @property
    def letter(self) -> str:
        return KINDS[self.kind]


def _message(letter: str, ident: str, kid: str) -> bytes:
    return b"\n".join((_DOMAIN_TAG, letter.encode(), ident.encode(), kid.encode()))


# -- keys ------------------------------------------------------------------------------------


def generate_signer(kid: str | None = None) -> Signer:
    """A fresh Ed25519 key; ``kid`` defaults to 6 random characters of ``[a-z0-9]``."""
    if kid is None:
        kid = "".join(secrets.choice(_KID_ALPHABET) for _ in range(6))
    return Signer(kid=_check_kid(kid), private_key=Ed25519PrivateKey.generate())


def public_key_b64(key: Signer | Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw 32-byte public key in base64url without padding (43 characters)."""
    if isinstance(key, Signer):
        key = key.private_key
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise QRError("bad_key", "expected a Signer or an Ed25519 key")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _b64url(raw)


_BLOB_TAG = "wfk1"
_SCRYPT_R, _SCRYPT_P = 8, 1


def _derive(secret: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=2**log2_n, r=r, p=p)
    return kdf.derive(secret.encode("utf-8"))


def encrypt_private_key(private_key: Ed25519PrivateKey, secret: str, *, log2_n: int = 15) -> str:
    """Encrypt a private key for storage at rest; the result is ASCII (about 130 characters).

    The key encryption key comes from ``secret`` through scrypt (``n = 2**log2_n``, r=8, p=1,
    random 16-byte salt) because ``secret`` may be an operator-chosen string rather than random
    bytes; the key is sealed with AES-256-GCM. Format:
    ``wfk1$scrypt$<log2_n>$<r>$<p>$<salt>$<nonce>$<ciphertext>``, base64url fields; the header
    is authenticated too. Deriving costs ~0.1 s by design: decrypt once and keep the key.
    """
    if not isinstance(private_key, Ed25519PrivateKey):
        raise QRError("bad_key", "only Ed25519 private keys are encrypted here")
    if not secret:
        raise QRError("bad_secret", "the secret used to encrypt signing keys is empty")
    if not 10 <= log2_n <= 20:
        raise ValueError("log2_n must be between 10 and 20")
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    header = f"{_BLOB_TAG}$scrypt${log2_n}${_SCRYPT_R}${_SCRYPT_P}${_b64url(salt)}"
    raw = private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    sealed = AESGCM(_derive(secret, salt, log2_n, _SCRYPT_R, _SCRYPT_P)).encrypt(
        nonce, raw, header.encode("ascii")
    )
    return f"{header}${_b64url(nonce)}${_b64url(sealed)}"


def decrypt_private_key(blob: str, secret: str) -> Ed25519PrivateKey:
    """Open a blob made by :func:`encrypt_private_key`.

    Raises ``QRError("bad_blob")`` when the text is not such a blob and ``QRError("bad_secret")``
    when the secret is wrong or the blob was altered (AES-GCM cannot tell the two apart).
    """
    parts = blob.split("$") if isinstance(blob, str) else []
    if len(parts) != 8 or parts[0] != _BLOB_TAG or parts[1] != "scrypt":
        raise QRError("bad_blob", "not an encrypted signing key (expected wfk1$scrypt$...)")
    try:
        log2_n, r, p = (int(x) for x in parts[2:5])
    except ValueError:
        raise QRError("bad_blob", "the key blob's scrypt parameters are not numbers") from None
    # Bounded so that an altered blob cannot make us allocate gigabytes before failing.
    if not (10 <= log2_n <= 20 and 1 <= r <= 16 and 1 <= p <= 4):
        raise QRError("bad_blob", "the key blob's scrypt parameters are out of range")
    salt, nonce, sealed = (_unb64url(x) for x in parts[5:8])
    if salt is None or nonce is None or sealed is None or len(nonce) != 12:
        raise QRError("bad_blob", "the key blob's salt, nonce or ciphertext is not base64url")
    header = "$".join(parts[:6]).encode("ascii")
    try:
        raw = AESGCM(_derive(secret, salt, log2_n, r, p)).decrypt(nonce, sealed, header)
    except InvalidTag:
        raise QRError(
            "bad_secret",
            "cannot decrypt the signing key: the secret is wrong or the stored key was altered",
        ) from None
    if len(raw) != 32:
        raise QRError("bad_blob", "the decrypted key is not a 32-byte Ed25519 key")
    return Ed25519PrivateKey.from_private_bytes(raw)


# -- payloads --------------------------------------------------------------------------------


def sign_payload(signer: Signer, kind: str, ident: str, base: str = DEFAULT_BASE) -> str:
    """The signed payload text for a site plaque (``kind="site"``) or handover manifest.

    Raises ``QRError`` with ``unknown_kind``, ``bad_ident``, ``bad_base``, or ``too_large`` when
    the base URL is so long that the payload would not fit a QR of version 10 at level M.
    """
    if kind not in KINDS:
        raise QRError("unknown_kind", f"kind {kind!r} must be one of {sorted(KINDS)}")
    if not isinstance(ident, str) or not _IDENT_RE.fullmatch(ident):
        raise QRError("bad_ident", f"code {ident!r} must be 1 to 32 characters of A-Z, 0-9 and '-'")
    base = _check_base(base)
    letter = KINDS[kind]
    signature = signer.private_key.sign(_message(letter, ident, signer.kid))
    text = f"{base}/q/{letter}/{ident}?k={signer.kid}&s={_b64url(signature)}"
    if len(text) > _V10_M_BYTES:
        raise QRError(
            "too_large",
            f"the payload is {len(text)} characters, more than the {_V10_M_BYTES} that fit a "
            f"version {MAX_QR_VERSION} QR code; shorten the base URL {base!r}",
        )
    return text


def _malformed(why: str) -> QRError:
    return QRError("malformed", f"not a wasteflow QR code: {why}")


def parse_payload(text: str) -> QRPayload:
    """Split a payload into its parts, checking its grammar but not its signature.

    Raises ``QRError("malformed")`` (or ``"unknown_kind"`` for a well-formed payload of a kind
    this version does not know) with a message that says which part is wrong. Surrounding
    whitespace is refused too; a caller fed by a keyboard-wedge scanner strips it first.
    """
    if not isinstance(text, str):
        raise _malformed("the payload must be text")
    if len(text) > MAX_PAYLOAD_CHARS:
        raise _malformed(f"{len(text)} characters, more than {MAX_PAYLOAD_CHARS}")
    if not text.isascii() or not text.isprintable() or " " in text:
        raise _malformed("it contains spaces, control or non-ASCII characters")
    path, sep, query = text.partition("?")
    if not sep:
        raise _malformed("the key id and signature (?k=...&s=...) are missing")
    head, _, tail = path.rpartition("/q/")
    if not head:
        raise _malformed("the path must end in /q/<S|H>/<code>")
    if not _BASE_RE.fullmatch(head):
        raise _malformed(f"the address {head!r} is not a plain http(s) URL")
    letter, slash, ident = tail.partition("/")
    if not slash:
        raise _malformed("the path must end in /q/<S|H>/<code>")
    if letter not in _LETTER_TO_KIND:
        if re.fullmatch(r"[A-Z]", letter):
            raise QRError(
                "unknown_kind",
                f"QR kind {letter!r} is not known (S = site plaque, H = handover manifest); "
                "the code may come from a newer version of wasteflow",
            )
        raise _malformed(f"kind {letter!r} must be S (site) or H (handover)")
    if not _IDENT_RE.fullmatch(ident):
        raise _malformed(f"code {ident!r} must be 1 to 32 characters of A-Z, 0-9 and '-'")
    params = query.split("&")
    if len(params) != 2 or not params[0].startswith("k=") or not params[1].startswith("s="):
        raise _malformed("the query must be exactly ?k=<key id>&s=<signature>")
    kid, sig_text = params[0][2:], params[1][2:]
    if not _KID_RE.fullmatch(kid):
        raise _malformed(f"key id {kid!r} must be 4 to 8 characters of a-z and 0-9")
    if len(sig_text) != _SIG_CHARS:
        raise _malformed(
            f"the signature has {len(sig_text)} characters instead of {_SIG_CHARS}; "
            "the code may be damaged or cut off"
        )
    signature = _unb64url(sig_text)
    if signature is None or len(signature) != _SIG_BYTES:
        raise _malformed("the signature is not canonical base64url")
    return QRPayload(
        kind=_LETTER_TO_KIND[letter],
        ident=ident,
        kid=kid,
        signature=signature,
        text=text,
        base=head,
    )


KeyLookup = Callable[[str], PublicKeyInfo | None] | Mapping[str, PublicKeyInfo]


def verify_payload(
    text: str,
    keys: KeyLookup,
    expected_kind: str | None = None,
    *,
    allowed_bases: Collection[str] | None = None,
) -> QRPayload:
    """Parse ``text`` and check its signature with the key it names.

    ``keys`` maps a kid to its :class:`PublicKeyInfo` (a mapping, or a function returning
    ``None`` for an unknown kid). Retired keys verify; revoked keys do not. Raises ``QRError``
    with ``malformed``/``unknown_kind`` (see :func:`parse_payload`), ``foreign_base`` (the base
    is not in ``allowed_bases``, when given), ``unknown_key``, ``revoked_key``,
    ``bad_signature`` or ``wrong_kind`` (authentic, but not the ``expected_kind``). An
    ``expected_kind`` other than ``site``, ``handover`` or ``None`` is a programming error
    (plain ``ValueError``).
    """
    if expected_kind is not None and expected_kind not in KINDS:
        raise ValueError(f"expected_kind must be one of {sorted(KINDS)} or None")
    payload = parse_payload(text)
    if allowed_bases is not None and payload.base not in {b.rstrip("/") for b in allowed_bases}:
        raise QRError("foreign_base", f"this QR code points to {payload.base}, not to this service")
    info = keys.get(payload.kid) if isinstance(keys, Mapping) else keys(payload.kid)
    # A lookup that hands back another kid's key is a bug in the caller; treat it as unknown.
    if info is None or info.kid != payload.kid:
        raise QRError(
            "unknown_key",
            f"signing key {payload.kid!r} is not known here; the code was not issued by this "
            "service or its key was deleted",
        )
    if not info.can_verify:
        raise QRError(
            "revoked_key",
            f"signing key {payload.kid!r} has been revoked; this code must be reissued",
        )
    try:
        _load_public_key(info.public_key_b64).verify(
            payload.signature, _message(payload.letter, payload.ident, payload.kid)
        )
    except InvalidSignature:
        raise QRError(
            "bad_signature",
            "the signature does not match: the code was altered, forged or copied from another "
            "site or handover",
        ) from None
    if expected_kind is not None and payload.kind != expected_kind:
        raise QRError(
            "wrong_kind",
            f"this is a {payload.kind} code ({payload.ident}), but a {expected_kind} code was "
            "expected here",
        )
    return payload
