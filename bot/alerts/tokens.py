"""Integration tokens: random enough to guess never, stored only as a hash.

A token is 32 random bytes (256 bits) in URL-safe base64, so it fits a path segment. Only
its SHA-256 is stored: a copy of the database does not give anyone a working URL. A slow
password hash would add nothing for a secret this random. Hashes are compared with
`hmac.compare_digest` so a comparison's time says nothing about how much matched.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["new_token", "same_hash", "token_hash"]

TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", errors="surrogatepass")).hexdigest()


def same_hash(stored: str, offered: str) -> bool:
    return hmac.compare_digest(stored.encode(), offered.encode())
