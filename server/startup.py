"""Start-up problems said in one sentence each, instead of a traceback.

A newcomer with a wrong DATABASE_PATH should read what is wrong and what to do
(`storage.path` says it); one with an unreachable DATABASE_URL, which server and why,
never the URL itself (it holds the password).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bot.config import Settings
from storage import Store
from storage.path import database_path_problem


def _database_errors() -> tuple[type[Exception], ...]:
    """What a failed read or write raises, on either database (psycopg only if installed)."""
    try:
        import psycopg
    except ImportError:
        return (sqlite3.Error, OSError)
    return (sqlite3.Error, OSError, psycopg.Error)


DATABASE_ERRORS = _database_errors()


class StartupProblem(Exception):
    """Something the operator must fix before the bot can start; the message says what."""


async def open_database(settings: Settings, clock: Callable[[], datetime]) -> Store:
    """PostgreSQL when DATABASE_URL is set, else the SQLite file at DATABASE_PATH."""
    if settings.database_url:
        return await open_postgres(settings.database_url, clock)
    return await open_store(settings.database_path, clock)


async def open_postgres(url: str, clock: Callable[[], datetime]) -> Store:
    """The opened PgStore (migrations applied), or StartupProblem saying why not.

    psycopg's messages name the host and port and the server's reason, never the password.
    The Store's type stands for both: PgStore keeps its contract (storage/postgres/store.py).
    """
    try:
        from storage.postgres.store import PgStore, UnfitDatabase
    except ImportError:
        raise StartupProblem(
            "DATABASE_URL is set but the PostgreSQL driver is not installed: "
            "pip install 'smsbot[postgres]' (or unset DATABASE_URL to use DATABASE_PATH)"
        ) from None
    import psycopg

    from storage.postgres.url import BadUrl, conninfo, reason

    try:
        store = PgStore(conninfo(url), clock)
    except BadUrl as error:
        raise StartupProblem(str(error)) from None
    try:
        await store.open()
    except psycopg.Error as error:
        await store.close()
        raise StartupProblem(f"DATABASE_URL could not be opened: {reason(error, url)}") from None
    except UnfitDatabase as error:
        await store.close()
        raise StartupProblem(f"DATABASE_URL: {error}") from None
    return store  # type: ignore[return-value]


async def open_store(path: Path, clock: Callable[[], datetime]) -> Store:
    """The opened Store, or StartupProblem naming DATABASE_PATH and what to do.

    DatabaseInUse (another bot holds it) passes through: it is already a sentence.
    """
    problem = await asyncio.to_thread(database_path_problem, path)
    if problem:
        raise StartupProblem(problem)
    store = Store(path, clock)
    try:
        await store.open()
    except sqlite3.DatabaseError as error:
        raise StartupProblem(
            f"DATABASE_PATH={path} could not be opened as the bot's database: {error}"
        ) from None
    except OSError as error:
        raise StartupProblem(
            f"DATABASE_PATH={path} could not be opened: {error.strerror or error}"
        ) from None
    return store
