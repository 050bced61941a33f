"""The part of `sqlite_utils.Database` the query modules use, over one psycopg connection.

A query module's `fn(db)` was written for SQLite and runs here unchanged: each statement is
turned into its PostgreSQL text by `translate`, by default `storage.postgres.dialect
.postgres`, which knows every statement the query modules run and refuses one it does not
(`to_postgres` there is the lenient rule for statements of one's own). Every statement is
executed with a parameter sequence, empty when there are none, so psycopg reads `%`
everywhere and a PostgreSQL text writes a literal `%` as `%%`.

Covered: `db.execute`, `db.conn.execute`/`executemany`, `db.query` (rows as dicts),
`db.atomic()` (a savepoint inside the caller's transaction), and `db[table]`'s `insert`
(`last_pk` by `RETURNING` the primary key), `insert_all`, `update`, `rows_where`
(storage/postgres/table.py). Cursors give `fetchone`, `fetchall`, iteration, `rowcount`,
`description` and `lastrowid`. Named (`:name`) and numbered (`?1`) parameters are not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row

from storage.postgres.dialect import postgres
from storage.postgres.table import PgTable

__all__ = ["PgCursor", "PgDatabase"]

_PRIMARY_KEY_SQL = (
    "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
    "ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
    "WHERE i.indrelid = %s::regclass AND i.indisprimary "
    "ORDER BY array_position(i.indkey::int2[], a.attnum)"
)


def _positional(params: Sequence[Any] | None) -> list[Any]:
    """The parameters as a list; named ones (a dict, for `:name`) are refused, not misread."""
    if isinstance(params, Mapping):
        raise TypeError("named parameters are not supported on PostgreSQL; use ?")
    return list(params or ())


class PgCursor:
    """A finished statement's rows and counts, as a sqlite3 cursor shows them."""

    def __init__(self, db: PgDatabase, cursor: psycopg.Cursor[Any], stamp: int) -> None:
        self._db = db
        self._cursor = cursor
        self._stamp = stamp

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def lastrowid(self) -> int | None:
        """The id the session's sequences gave last (`lastval()`), which for an INSERT into
        a table with an identity `id` is the new row's, as SQLite's rowid would be. Read it
        straight after the INSERT: once another statement ran it could be that one's."""
        return self._db._lastval(self._stamp)

    def fetchone(self) -> Any:
        return None if self._cursor.description is None else self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return [] if self._cursor.description is None else self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class PgDatabase:
    """What a query module's `fn(db)` is handed on PostgreSQL; the Store owns the transaction.

    `keys` is a cache of each table's primary-key columns, shared by every connection of a
    Store (the schema does not change while it runs).
    """

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        translate: Callable[[str], str] = postgres,
        keys: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.raw = conn
        self._translate = translate
        self._keys = keys if keys is not None else {}
        self._statements = 0

    @property
    def conn(self) -> PgDatabase:
        """`db.conn.execute`/`executemany` as on sqlite3's connection: the same adapter."""
        return self

    def text(self, sql: str) -> str:
        """The PostgreSQL text a module's statement runs as."""
        return self._translate(sql)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> PgCursor:
        return self.execute_postgres(self.text(sql), params)

    def executemany(self, sql: str, seq_of_params: Iterable[Sequence[Any]]) -> PgCursor:
        cursor = self.raw.cursor()
        cursor.executemany(self.text(sql), [_positional(params) for params in seq_of_params])
        self._statements += 1
        return PgCursor(self, cursor, self._statements)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> Iterator[dict[str, Any]]:
        """Rows as dicts, like sqlite_utils' `query`."""
        cursor = self.raw.cursor(row_factory=dict_row)
        cursor.execute(self.text(sql), _positional(params))
        self._statements += 1
        if cursor.description is not None:
            yield from cursor.fetchall()

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """A savepoint inside the write's transaction: a failure inside undoes only it."""
        with self.raw.transaction():
            yield

    def __getitem__(self, table: str) -> PgTable:
        return PgTable(self, table)

    def primary_key(self, table: str) -> tuple[str, ...]:
        """The table's primary-key columns, in key order; read once per Store."""
        found = self._keys.get(table)
        if found is None:
            rows = self.raw.execute(_PRIMARY_KEY_SQL, [table]).fetchall()
            found = self._keys[table] = tuple(row[0] for row in rows)
        return found

    def execute_postgres(self, postgres_sql: str, params: Sequence[Any] | None) -> PgCursor:
        """A statement already in PostgreSQL's words (storage/postgres/table.py makes them)."""
        cursor = self.raw.cursor()
        cursor.execute(postgres_sql, _positional(params))
        self._statements += 1
        return PgCursor(self, cursor, self._statements)

    def _lastval(self, stamp: int) -> int | None:
        if stamp != self._statements:
            raise RuntimeError("lastrowid read after another statement ran; read it at once")
        try:
            with self.raw.transaction():  # a savepoint: "not yet defined" must not end the write
                row = self.raw.execute("SELECT lastval()").fetchone()
        except psycopg.errors.ObjectNotInPrerequisiteState:
            return None
        return None if row is None else int(row[0])
