"""DATABASE_URL as the bot hands it to psycopg, and its errors as an operator may read them.

The URL holds the password: it is never printed, and a server's error that quotes it has
it masked. libpq waits for an unreachable host forever unless told otherwise, so a URL
without `connect_timeout` gets one: start-up and `smsbot audit` fail in seconds, saying so.
"""

from __future__ import annotations

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

__all__ = ["CONNECT_TIMEOUT", "BadUrl", "conninfo", "reason"]

CONNECT_TIMEOUT = 10  # seconds, unless DATABASE_URL says connect_timeout=


class BadUrl(ValueError):
    """DATABASE_URL is not something libpq can read; the message does not quote it."""


def conninfo(url: str) -> str:
    """The connection string to use: the URL, with a connect_timeout unless it has one."""
    try:
        given = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise BadUrl("DATABASE_URL is not a connection URL PostgreSQL can read") from None
    if "connect_timeout" in given:
        return url
    return make_conninfo(url, connect_timeout=CONNECT_TIMEOUT)


def reason(error: BaseException, url: str) -> str:
    """The error on one line, the password masked should the server have quoted it."""
    said = " ".join(str(error).split()) or type(error).__name__
    try:
        password = str(conninfo_to_dict(url).get("password") or "")
    except psycopg.ProgrammingError:
        password = ""
    return said.replace(password, "***") if password else said
