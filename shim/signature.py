"""GitHub's webhook signature: HMAC-SHA256 of the raw body, hex, prefixed `sha256=`."""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    return PREFIX + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """True when `header` is GitHub's signature of `body`; compared in constant time."""
    # compare_digest takes ASCII str only; anything else cannot be a hex digest anyway.
    if not header or not header.isascii() or not header.startswith(PREFIX):
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())
