"""engine.ports.PasswordHasher over werkzeug.security (scrypt where available, else PBKDF2)."""

from __future__ import annotations

import hashlib

DEFAULT_METHOD = "scrypt" if hasattr(hashlib, "scrypt") else "pbkdf2:sha256:600000"


class WerkzeugPasswordHasher:
    """Salted, slow password hashes in werkzeug's `method$salt$hash` format.

    `method` is any werkzeug method string; tests may pass a cheap one (e.g.
    "pbkdf2:sha256:1000"). Verifying a hash made with another method still works, so the
    method can be raised later without invalidating stored hashes.
    """

    def __init__(self, method: str = DEFAULT_METHOD, salt_length: int = 16) -> None:
        self.method = method
        self.salt_length = salt_length

    # werkzeug loads when a password is first hashed or checked, not with every command
    def hash(self, password: str) -> str:
        from werkzeug.security import generate_password_hash

        return generate_password_hash(password, method=self.method,
                                      salt_length=self.salt_length)

    def verify(self, password_hash: str, password: str) -> bool:
        from werkzeug.security import check_password_hash

        if not password_hash:
            return False
        try:
            return check_password_hash(password_hash, password)
        except (ValueError, TypeError):  # not a hash werkzeug knows: never a match
            return False
