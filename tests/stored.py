"""What the app stored, read from whichever database its settings name.

A test that checks what was stored must not assume the SQLite file: under
`pytest -p tests.on_postgres` the same test runs with DATABASE_URL set, and the app
writes PostgreSQL instead. These helpers take the settings the app runs with (a
LocalSystem's `environment()`, or the env given to a command) and run the test's SQL on
DATABASE_URL when it is set, else on the file at DATABASE_PATH. The SQL is written for
SQLite with `?` placeholders and must mean the same on both; `to_postgres` only swaps the
placeholders, so a statement only SQLite reads fails loudly on PostgreSQL.

`with_database_url` is the plugin's hook: by default it gives the settings back unchanged;
the plugin points `_postgres_for` at its databases, so a DATABASE_PATH also names a
PostgreSQL database of its own, as a user would configure it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from standins.local import LocalSystem
from storage import Store
from storage.postgres.dialect import to_postgres
from storage.postgres.store import PgStore

DEFAULT_PATH = "smsbot.db"  # DATABASE_PATH unset (bot/config.py)

Where = LocalSystem | Mapping[str, str]

# Set by tests/on_postgres.py: the DATABASE_URL that stands for a DATABASE_PATH.
_postgres_for: Callable[[str], str] | None = None


def with_database_url(env: Mapping[str, str], cwd: Path | None = None) -> dict[str, str]:
    """`env`, plus DATABASE_URL for its DATABASE_PATH under the plugin (unless it sets one).

    An unset or relative DATABASE_PATH is the file the app would open from `cwd` (default:
    this process's), so a command and the test's later reads agree on the database.
    """
    settings = dict(env)
    if _postgres_for is None or "DATABASE_URL" in settings:
        return settings
    path = Path(settings.get("DATABASE_PATH") or DEFAULT_PATH)
    settings["DATABASE_URL"] = _postgres_for(str((cwd or Path.cwd()) / path))
    return settings


def database_env(path: Path | str) -> dict[str, str]:
    """The settings that put a bot's data at `path`: DATABASE_PATH, and its DATABASE_URL
    under the plugin. Spread after another system's settings, it replaces their database."""
    return with_database_url({"DATABASE_PATH": str(path)})


def on_postgres(where: Where) -> bool:
    """Whether the app with these settings stores in PostgreSQL."""
    return bool(_settings(where).get("DATABASE_URL"))


def _settings(where: Where) -> Mapping[str, str]:
    return where.environment() if isinstance(where, LocalSystem) else where


@contextmanager
def _cursor(where: Where, *, write: bool, named: bool) -> Iterator[Any]:
    """A cursor on the database the settings name; a write is committed when it returns."""
    settings = _settings(where)
    url = settings.get("DATABASE_URL")
    if url:
        with psycopg.connect(url, autocommit=write) as conn:
            if not write:
                conn.read_only = True
            yield conn.cursor(row_factory=dict_row) if named else conn.cursor()
        return
    path = settings["DATABASE_PATH"]
    target = path if write else f"file:{path}?mode=ro"
    with closing(sqlite3.connect(target, uri=not write)) as conn:
        if named:
            conn.row_factory = sqlite3.Row
        with conn:
            yield conn.cursor()


def _run(cursor: Any, where: Where, sql: str, params: Sequence[Any]) -> None:
    cursor.execute(to_postgres(sql) if on_postgres(where) else sql, list(params))


def rows(where: Where, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows a read-only query returns, as tuples."""
    with _cursor(where, write=False, named=False) as cursor:
        _run(cursor, where, sql, params)
        return [tuple(row) for row in cursor.fetchall()]


def records(where: Where, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """The rows a read-only query returns, as dicts by column name."""
    with _cursor(where, write=False, named=True) as cursor:
        _run(cursor, where, sql, params)
        return [dict(row) for row in cursor.fetchall()]


@asynccontextmanager
async def opened_store(where: Where) -> AsyncIterator[Any]:
    """The app's own store on the settings' database, migrations applied, then closed: for
    writing what a stopped bot will find, with the table calls both stores understand."""
    settings = _settings(where)
    url = settings.get("DATABASE_URL")
    store = PgStore(url, _now) if url else Store(Path(settings["DATABASE_PATH"]), _now)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def _now() -> datetime:
    return datetime.now(UTC)


def execute(where: Where, sql: str, params: Sequence[Any] = ()) -> None:
    """One statement that changes the stored state, committed: what a crash left behind."""
    with _cursor(where, write=True, named=False) as cursor:
        _run(cursor, where, sql, params)
