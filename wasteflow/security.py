"""Passwords (argon2id) and API tokens (random, stored only as SHA-256 hashes)."""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from wasteflow.config import get_settings

TOKEN_BYTES = 32


@lru_cache
def _hasher() -> PasswordHasher:
    s = get_settings()
    return PasswordHasher(time_cost=s.argon2_time_cost, memory_cost=s.argon2_memory_kib)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A fixed hash to verify against when the username is unknown, so a wrong username costs the
# same time as a wrong password and does not reveal which accounts exist.
@lru_cache
def dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def new_token() -> str:
    """A bearer token: 256 random bits, URL-safe. Only its hash is ever stored."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    # SHA-256 (not a slow KDF) is right here: the token has 256 bits of entropy, and every
    # request looks it up by hash.
    return hashlib.sha256(token.encode()).hexdigest()
