"""The QR signing keys: storage, rotation, revocation, and signing/verifying with them.

Private keys are stored encrypted with the deployment's secret (``WASTEFLOW_SECRET_KEY``, or a
secret generated once into a file beside the SQLite database). Decrypting one costs ~80 ms on
purpose (scrypt), so decrypted keys are cached per process. Public keys are cached for a
couple of seconds: a revocation made by another process takes effect within that time, one
made by this process at once.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlmodel import Session, col

from wasteflow import state
from wasteflow.config import get_settings
from wasteflow.db import unit_of_work
from wasteflow.errors import Conflict, Invalid, NotFound
from wasteflow.models import Account, SigningKey
from wasteflow.permissions import Action, require
from wasteflow.qr import (
    PublicKeyInfo,
    QRError,
    QRPayload,
    Signer,
    decrypt_private_key,
    encrypt_private_key,
    generate_signer,
    public_key_b64,
    sign_payload,
    verify_payload,
)
from wasteflow.services.audit import record_event
from wasteflow.services.cache import TTLCache
from wasteflow.types import utcnow

SECRET_FILE = "wasteflow-secret.key"
_PUBLIC_TTL_S = 2.0


@lru_cache
def deployment_secret() -> str:
    """The secret that encrypts signing keys at rest."""
    settings = get_settings()
    if settings.secret_key:
        return settings.secret_key
    path = _secret_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def _secret_path() -> Path:
    return state_path(SECRET_FILE)


def state_path(name: str) -> Path:
    """Where a file of local state lives: ``state_dir``, else beside the SQLite database,
    else the working directory."""
    settings = get_settings()
    if settings.state_dir:
        return settings.state_dir / name
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / name
    return Path.cwd() / name


def _status(key: SigningKey) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.retired_at is not None:
        return "retired"
    return "active"


# Decrypted signers by kid (decrypting costs a scrypt derivation), and per database the
# public keys and the active key, read again after a short while.
_signers: dict[str, Signer] = {}
state.register(_signers)
_public_cache = TTLCache(ttl_s=_PUBLIC_TTL_S)
_active_cache = TTLCache(ttl_s=_PUBLIC_TTL_S)


def _invalidate() -> None:
    _public_cache.clear()
    _active_cache.clear()


def public_keys(session: Session) -> dict[str, PublicKeyInfo]:
    """Every key's public half and status (what an offline phone downloads)."""

    def load() -> dict[str, PublicKeyInfo]:
        keys = session.execute(sa.select(SigningKey)).scalars().all()
        return {k.kid: PublicKeyInfo(k.kid, k.public_key, _status(k)) for k in keys}

    return _public_cache.get(state.db_key(session.get_bind()), load)


def _new_key(session: Session) -> SigningKey:
    signer = generate_signer()
    row = SigningKey(
        kid=signer.kid,
        public_key=public_key_b64(signer),
        private_key_enc=encrypt_private_key(signer.private_key, deployment_secret()),
    )
    session.add(row)
    session.flush()
    _signers[signer.kid] = signer
    return row


def _active_key(session: Session) -> tuple[str, str] | None:
    """(kid, encrypted private key) of the newest active key; looked up every few seconds,
    not for every manifest signed (see services.cache). Plain values, not a row: the cache is
    shared between sessions."""

    def load() -> tuple[str, str] | None:
        row = session.execute(
            sa.select(col(SigningKey.kid), col(SigningKey.private_key_enc))
            .where(col(SigningKey.retired_at).is_(None), col(SigningKey.revoked_at).is_(None))
            .order_by(col(SigningKey.id).desc())
            .limit(1)
        ).first()
        return (row[0], row[1]) if row else None

    return _active_cache.get(state.db_key(session.get_bind()), load)


def active_signer(session: Session) -> Signer:
    """The newest active key, creating the first one on first use."""
    active = _active_key(session)
    if active is None:
        with unit_of_work(session):
            row = _new_key(session)
            record_event(
                session,
                account_id=None,
                action="key.create",
                entity="signing_key",
                entity_id=row.kid,
                after={"kid": row.kid, "reason": "first use"},
            )
        _invalidate()
        active = (row.kid, row.private_key_enc)
    kid, encrypted = active
    signer = _signers.get(kid)
    if signer is None:
        try:
            private = decrypt_private_key(encrypted, deployment_secret())
        except QRError as exc:
            raise Conflict(
                f"signing key {kid} cannot be decrypted with this deployment's secret "
                f"({exc}); set WASTEFLOW_SECRET_KEY to the secret it was created with"
            ) from exc
        signer = Signer(kid, private)
        _signers[kid] = signer
    return signer


def sign(session: Session, kind: str, ident: str) -> str:
    """A signed payload for a site plaque (``site``) or a handover manifest (``handover``)."""
    return sign_payload(active_signer(session), kind, ident, base=get_settings().qr_base_url)


def verify(
    session: Session, payload: str, *, expected_kind: str | None, field: str = "payload"
) -> QRPayload:
    """Check a scanned payload; a refusal is a 422 naming ``field`` with the reason."""
    keys = public_keys(session)
    try:
        return verify_payload(
            payload.strip(), lambda kid: _fresh(session, keys, kid), expected_kind=expected_kind
        )
    except QRError as exc:
        raise Invalid(
            f"{field}: {exc} ({exc.reason})", field=field, extra={"reason": exc.reason}
        ) from exc


def _fresh(session: Session, keys: dict[str, PublicKeyInfo], kid: str) -> PublicKeyInfo | None:
    # A kid the cache does not know may have been created a moment ago by another process.
    if kid in keys:
        return keys[kid]
    _invalidate()
    return public_keys(session).get(kid)


def rotate(*, session: Session, actor: Account) -> SigningKey:
    """Retire the active key(s) and create a new one. Old plaques keep verifying."""
    require(actor.role, Action.manage_keys)
    with unit_of_work(session):
        retired = (
            session.execute(
                sa.update(SigningKey)
                .where(col(SigningKey.retired_at).is_(None), col(SigningKey.revoked_at).is_(None))
                .values(retired_at=utcnow())
                .returning(col(SigningKey.kid))
            )
            .scalars()
            .all()
        )
        row = _new_key(session)
        record_event(
            session,
            account_id=actor.id,
            action="key.rotate",
            entity="signing_key",
            entity_id=row.kid,
            before={"active": list(retired)},
            after={"active": row.kid},
        )
    _invalidate()
    return row


def revoke(*, session: Session, actor: Account, kid: str, reason: str) -> SigningKey:
    """Revoke a key: every plaque and manifest it signed is refused from now on."""
    require(actor.role, Action.manage_keys)
    if not reason.strip():
        raise Invalid("reason: say why the key is revoked", field="reason")
    with unit_of_work(session):
        row = session.execute(
            sa.select(SigningKey).where(col(SigningKey.kid) == kid)
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no signing key {kid!r}")
        if row.revoked_at is not None:
            raise Conflict(f"key {kid!r} is already revoked")
        before = _status(row)
        row.revoked_at = utcnow()
        session.add(row)
        record_event(
            session,
            account_id=actor.id,
            action="key.revoke",
            entity="signing_key",
            entity_id=kid,
            before={"status": before},
            after={"status": "revoked", "reason": reason},
        )
    _signers.pop(kid, None)
    _invalidate()
    return row


def key_views(session: Session) -> list[dict[str, str | None]]:
    rows = session.execute(sa.select(SigningKey).order_by(col(SigningKey.id))).scalars().all()
    return [
        {
            "kid": k.kid,
            "algorithm": k.algorithm,
            "public_key": k.public_key,
            "status": _status(k),
            "created_at": k.created_at.isoformat(),
            "retired_at": k.retired_at.isoformat() if k.retired_at else None,
            "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
        }
        for k in rows
    ]
