"""Agents' passwords: argon2id through argon2-cffi (its RFC 9106 low-memory profile), only the
encoded hash is stored. No I/O.

Checking costs a hash whether or not the email is known (``burn``), so a sign-in's timing does
not tell which emails belong to someone.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 200

_HASHER = PasswordHasher()
# A hash of nothing anyone types, checked when there is no account to check against.
_DUMMY = ("$argon2id$v=19$m=65536,t=3,p=4$PgcVO16S77wn/mHl672xuw$"
          "PwzARas89ZKPCSWyFgWNQE2ZjXZbnZ4R2m2f16d0Q7w")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when ``password`` is the one ``stored_hash`` was made from."""
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def burn(password: str) -> None:
    """Spend what a check costs, for an email with no account."""
    verify_password(_DUMMY, password)


def weak_password(password: str) -> str | None:
    """Why a new password is refused, else None."""
    if len(password) < MIN_LENGTH:
        return f"The password needs at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"The password may have at most {MAX_LENGTH} characters."
    if not password.strip():
        return "The password cannot be only spaces."
    return None
