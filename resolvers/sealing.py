"""Secrets at rest: providers' credentials are stored sealed (Fernet: AES-128-CBC with an
HMAC-SHA256 tag, from `cryptography`) with a key from TEAMINBOX_SECRET_KEY, never in clear.

The setting holds one or more keys, comma-separated: the first seals, any of them opens,
so a key is rotated by putting the new one first and, once everything is resealed, dropping
the old. Each is any string of at least 16 characters, stretched to a Fernet key with
HKDF-SHA256 (so a passphrase works as well as `Fernet.generate_key()`'s output)."""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from resolvers.errors import DomainError, ErrorCode

MIN_KEY_LENGTH = 16
_INFO = b"teaminbox sealed secrets v1"

_sealer: MultiFernet | None = None


class SealingNotConfigured(DomainError):
    def __init__(self) -> None:
        super().__init__(
            ErrorCode.VALIDATION,
            "The server has no TEAMINBOX_SECRET_KEY: its operator sets one before provider credentials can be stored",
        )


def _fernet(key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def parse_keys(setting: str) -> tuple[str, ...]:
    """The keys of a TEAMINBOX_SECRET_KEY value; ValueError for one that is too short."""
    keys = tuple(key.strip() for key in setting.split(",") if key.strip())
    for key in keys:
        if len(key) < MIN_KEY_LENGTH:
            raise ValueError(f"each key must be at least {MIN_KEY_LENGTH} characters")
    return keys


def configure(keys: tuple[str, ...]) -> None:
    global _sealer
    _sealer = MultiFernet([_fernet(key) for key in keys]) if keys else None


def can_seal() -> bool:
    return _sealer is not None


def seal(secret: str) -> str:
    if _sealer is None:
        raise SealingNotConfigured()
    return _sealer.encrypt(secret.encode()).decode()


def open_sealed(sealed: str) -> str:
    """The secret, or ValueError when no configured key opens it (the key was changed)."""
    if not sealed:
        return ""
    if _sealer is None:
        raise ValueError("no TEAMINBOX_SECRET_KEY to open stored credentials with")
    try:
        return _sealer.decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise ValueError("TEAMINBOX_SECRET_KEY does not open the stored credentials (was the key changed?)") from None
