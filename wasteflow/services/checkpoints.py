"""Signed checkpoints of the audit chain.

The hash chain catches an event edited or removed from the middle, but not the last events
deleted, nor every hash after an edit recomputed: the chain that is left is internally
consistent. A checkpoint records the chain's length and head hash at a moment, signed with an
Ed25519 key that is *not* in the database (a file beside the SQLite database or in
``state_dir``, or ``WASTEFLOW_AUDIT_KEY_FILE``). The verifier walks the chain and, at each
checkpoint's head, compares the count and the hash: a cut or recomputed chain no longer
matches what was signed.

Checkpoints are written on demand (``wasteflow audit checkpoint``, ``POST
/api/v1/audit/checkpoints``), by the server every ``audit_checkpoint_every_s`` while the chain
grows, and after the demo is loaded. They are exported as one JSON document that an official
archives outside the system; verifying against that archive also catches checkpoints deleted
from the database. Whoever holds the key file can sign anything: keep it away from database
administrators (that is the point of not storing it in the database).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlmodel import Session, col

from wasteflow.config import get_settings
from wasteflow.db import unit_of_work
from wasteflow.errors import Invalid
from wasteflow.models import AuditCheckpoint, AuditEvent
from wasteflow.services.audit import chain_lock
from wasteflow.services.keys import state_path
from wasteflow.types import utcnow

KEY_FILE = "wasteflow-audit.key"
EXPORT_FORMAT = "wasteflow-audit-checkpoints/1"
_PURPOSE = b"wasteflow audit checkpoint v1\n"


def key_path() -> Path:
    return get_settings().audit_key_file or state_path(KEY_FILE)


def _load_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise Invalid(f"{path}: not an Ed25519 private key", field="audit_key_file")
    return key


def signing_key() -> Ed25519PrivateKey:
    """The checkpoint key, made on first use (mode 0600) where none exists."""
    path = key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker made it meanwhile
            return _load_key(path)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
    return _load_key(path)


def own_public_key() -> str | None:
    """Hex of this installation's checkpoint key, or None if it has none yet."""
    path = key_path()
    if not path.exists():
        return None
    return _public_hex(_load_key(path).public_key())


def _public_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def _message(events: int, last_event_id: int, head_hash: str, at: datetime) -> bytes:
    body = {
        "at": at.isoformat(timespec="microseconds"),
        "events": events,
        "head_hash": head_hash,
        "last_event_id": last_event_id,
    }
    return _PURPOSE + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Mark:
    """A checkpoint as the verifier reads it, from the database or from an archive."""

    at: datetime
    events: int
    last_event_id: int
    head_hash: str
    public_key: str
    signature: str
    origin: str  # "database #12" or "archive"

    def signed(self) -> bool:
        try:
            key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(self.public_key))
            message = _message(self.events, self.last_event_id, self.head_hash, self.at)
            key.verify(bytes.fromhex(self.signature), message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(timespec="microseconds"),
            "events": self.events,
            "last_event_id": self.last_event_id,
            "head_hash": self.head_hash,
            "public_key": self.public_key,
            "signature": self.signature,
        }


def _mark(cp: AuditCheckpoint) -> Mark:
    assert cp.id is not None
    return Mark(
        cp.at,
        cp.events,
        cp.last_event_id,
        cp.head_hash,
        cp.public_key,
        cp.signature,
        f"database #{cp.id}",
    )


def latest(session: Session) -> AuditCheckpoint | None:
    return session.execute(
        sa.select(AuditCheckpoint).order_by(col(AuditCheckpoint.id).desc()).limit(1)
    ).scalar_one_or_none()


def write_checkpoint(session: Session, *, force: bool = False) -> AuditCheckpoint | None:
    """Sign the chain's present length and head; the caller commits.

    Returns None when the chain has not grown since the last checkpoint (unless ``force``),
    so a periodic writer adds nothing while nothing happens.
    """
    chain_lock(session)
    head = session.execute(
        sa.select(col(AuditEvent.id), col(AuditEvent.hash))
        .order_by(col(AuditEvent.id).desc())
        .limit(1)
    ).first()
    if head is None:
        return None
    last_id, head_hash = int(head[0]), str(head[1])
    previous = latest(session)
    if previous is not None and previous.last_event_id == last_id and not force:
        return None
    # Count from the previous checkpoint on: a long chain is not counted whole each time.
    since = previous.last_event_id if previous is not None else 0
    added = session.execute(
        sa.select(sa.func.count()).where(col(AuditEvent.id) > since, col(AuditEvent.id) <= last_id)
    ).scalar_one()
    events = (previous.events if previous is not None else 0) + int(added)
    key = signing_key()
    at = utcnow()
    cp = AuditCheckpoint(
        at=at,
        events=events,
        last_event_id=last_id,
        head_hash=head_hash,
        public_key=_public_hex(key.public_key()),
        signature=key.sign(_message(events, last_id, head_hash, at)).hex(),
    )
    session.add(cp)
    session.flush()
    return cp


def sign(session: Session, *, force: bool = False) -> AuditCheckpoint | None:
    """:func:`write_checkpoint` as its own transaction (committed), for callers outside one."""
    with unit_of_work(session):
        cp = write_checkpoint(session, force=force)
    if cp is not None:
        session.refresh(cp)
    return cp


def stored_marks(session: Session) -> list[Mark]:
    rows = session.execute(sa.select(AuditCheckpoint).order_by(col(AuditCheckpoint.id))).scalars()
    return [_mark(cp) for cp in rows]


def export(session: Session) -> dict[str, Any]:
    """Every checkpoint, as the document an official archives outside the system."""
    marks = stored_marks(session)
    return {
        "format": EXPORT_FORMAT,
        "exported_at": utcnow().isoformat(timespec="seconds"),
        "public_keys": sorted({m.public_key for m in marks}),
        "checkpoints": [m.as_dict() for m in marks],
    }


def parse_export(document: Mapping[str, Any]) -> list[Mark]:
    """Checkpoints from an archived export; a document of another shape is refused."""
    if document.get("format") != EXPORT_FORMAT:
        raise Invalid(f"checkpoints: not a {EXPORT_FORMAT} document", field="checkpoints")
    marks = []
    try:
        for item in document["checkpoints"]:
            marks.append(
                Mark(
                    datetime.fromisoformat(item["at"]),
                    int(item["events"]),
                    int(item["last_event_id"]),
                    str(item["head_hash"]),
                    str(item["public_key"]),
                    str(item["signature"]),
                    "archive",
                )
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise Invalid(
            f"checkpoints: a checkpoint is malformed ({exc})", field="checkpoints"
        ) from exc
    return marks


def check_marks(
    marks: Iterable[Mark], seen: Mapping[int, tuple[int, str]], trusted: set[str]
) -> list[str]:
    """What is wrong with the chain at each checkpoint. ``seen`` maps each checkpoint's head
    event id to (how many events the walk had counted up to it, its hash)."""
    problems = []
    for m in marks:
        where = f"checkpoint of {m.at:%Y-%m-%d %H:%M:%S} UTC ({m.origin})"
        if not m.signed():
            problems.append(f"{where}: its signature does not match its contents")
            continue
        if m.public_key not in trusted:
            problems.append(f"{where}: signed by a key this installation does not hold")
            continue
        found = seen.get(m.last_event_id)
        if found is None:
            problems.append(
                f"{where}: event {m.last_event_id} it signed is gone (the log was cut short)"
            )
            continue
        count, head = found
        if head != m.head_hash:
            problems.append(
                f"{where}: event {m.last_event_id}'s hash differs from the one signed "
                "(the chain was rewritten)"
            )
        elif count != m.events:
            problems.append(
                f"{where}: {count} events up to event {m.last_event_id}, {m.events} signed "
                "(events were removed before it)"
            )
    return problems
