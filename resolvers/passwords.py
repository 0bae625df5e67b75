"""Argon2 password hashing, and the rules a new password must meet."""
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from resolvers.errors import validation

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHasher()
# Verifying against this keeps a login for an unknown email as slow as a wrong password,
# so response times do not reveal which emails have accounts.
_DUMMY_HASH = _hasher.hash("teaminbox-timing-equaliser")


def hash_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise validation(
            f"Password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters", "password"
        )
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
