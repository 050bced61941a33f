"""PgStore: the Store's contract (storage/store.py) on PostgreSQL, for replicas sharing one
database.

The SQLite Store has one writer thread, so a query module's `fn(db)` may read and then
write as if alone ("this check and the write cannot race"). Here several replicas, and
several threads of one replica, write at once, so every write runs as one SERIALIZABLE
transaction: PostgreSQL then commits only what some one-at-a-time order would have given,
and a write that lost a race fails with a serialization failure (or a deadlock) before
anything of it is visible. Such a write is run again from the start, after a short random
pause, up to MAX_ATTEMPTS times: the query modules' functions may run more than once
already (the SQLite writer runs a group again when one of its writes fails), and a
transaction that failed left nothing behind. Weaker levels would need every module's
check-then-write rewritten with row locks; READ COMMITTED would let two replicas both
claim the same confirmation.

Each read is one REPEATABLE READ, READ ONLY transaction: one snapshot of committed data
for all its statements, never a serialization failure, and a write by mistake is refused.
`synchronous_commit` is left at the server's `on`, so a write returns only once its commit
is flushed to the write-ahead log; PostgreSQL shares one flush among commits that arrive
together, the group commit the SQLite writer does by hand.

The event loop never waits on the database: writes and reads run on threads of their own,
each thread taking a connection from a psycopg_pool pool as large as its thread pool.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from psycopg import IsolationLevel
from psycopg_pool import ConnectionPool

from storage.postgres.database import PgDatabase
from storage.postgres.dialect import postgres
from storage.postgres.schema import migrations

T = TypeVar("T")

__all__ = ["MAX_ATTEMPTS", "RETRYABLE", "PgStore", "UnfitDatabase"]

# A lost race: the whole transaction was rolled back and may simply run again.
RETRYABLE = (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)
MAX_ATTEMPTS = 20
FIRST_PAUSE = 0.002  # seconds; doubled per attempt, up to LONGEST_PAUSE, times a random 0.5-1.5
LONGEST_PAUSE = 0.2


class UnfitDatabase(Exception):
    """The database cannot hold the bot's data correctly; the message says what to do."""


def _check_collation(url: str) -> None:
    """Text must compare as bytes, as in SQLite: the times are ISO text compared as such,
    and names sort the same on both backends. Asked of the database's own comparisons, so
    an ICU default (PostgreSQL 15+) is caught as well as a libc locale."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT current_database(), 'B' < 'a' AND 'Z' < '_' AND 'a-b' < 'a0'"
        ).fetchone()
    if row and not row[1]:
        raise UnfitDatabase(
            f"database {row[0]} does not compare text in byte order, which smsbot needs: "
            f"create it with CREATE DATABASE {row[0]} TEMPLATE template0 LOCALE 'C' "
            "(see the README's Run two or more replicas)"
        )


def _for_writes(conn: psycopg.Connection[Any]) -> None:
    conn.isolation_level = IsolationLevel.SERIALIZABLE


def _for_reads(conn: psycopg.Connection[Any]) -> None:
    conn.isolation_level = IsolationLevel.REPEATABLE_READ
    conn.read_only = True


class PgStore:
    """`open`, `close`, `write(fn)`, `read(fn)`, `ping`, `clock`: as `storage.store.Store`.

    `translate` gives a query module's SQLite text as PostgreSQL text
    (storage/postgres/database.py says which by default).
    """

    def __init__(
        self,
        url: str,
        clock: Callable[[], datetime],
        *,
        translate: Callable[[str], str] = postgres,
        writers: int = 4,
        readers: int = 4,
    ) -> None:
        self.url = url
        self.clock = clock
        # This process, in `sends.caller`: storage/postgres/lease.py keeps it locked (alive).
        self.caller = random.randrange(1, 2**31)
        self._translate = translate
        self._keys: dict[str, tuple[str, ...]] = {}
        self._write_pool = self._pool("smsbot-write", writers, _for_writes)
        self._read_pool = self._pool("smsbot-read", readers, _for_reads)
        self._writers = ThreadPoolExecutor(writers, thread_name_prefix="pg-writer")
        self._readers = ThreadPoolExecutor(readers, thread_name_prefix="pg-reader")

    def _pool(
        self, name: str, size: int, configure: Callable[[psycopg.Connection[Any]], None]
    ) -> ConnectionPool:
        return ConnectionPool(
            self.url,
            min_size=1,
            max_size=size,
            open=False,
            name=name,
            configure=configure,
            # A connection the server dropped (a restart, a failover) is replaced on the
            # way out of the pool instead of failing the write that drew it.
            check=ConnectionPool.check_connection,
        )

    async def open(self) -> None:
        """Check the database suits, apply migrations (replicas starting together take
        turns), then open the pools. Raises UnfitDatabase for a database that does not."""
        await asyncio.to_thread(_check_collation, self.url)
        await asyncio.to_thread(migrations.apply, self.url)
        await asyncio.to_thread(self._write_pool.open, True)
        await asyncio.to_thread(self._read_pool.open, True)

    async def close(self) -> None:
        """Let running work finish, then close every connection."""
        await asyncio.to_thread(self._writers.shutdown, True)
        await asyncio.to_thread(self._readers.shutdown, True)
        await asyncio.to_thread(self._write_pool.close)
        await asyncio.to_thread(self._read_pool.close)

    async def write(self, fn: Callable[[PgDatabase], T]) -> T:
        """Run `fn` in a SERIALIZABLE transaction on a writer thread; returns once committed."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writers, self._write_here, fn)

    async def read(self, fn: Callable[[PgDatabase], T]) -> T:
        """Run `fn` in a read-only snapshot on a reader thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._read_here, fn)

    async def ping(self) -> None:
        """A read that touches the database: the health check's proof it answers."""
        await self.read(lambda db: db.execute("SELECT 1").fetchone())

    def _write_here(self, fn: Callable[[PgDatabase], T]) -> T:
        attempt = 1
        while True:
            try:
                return self._once(self._write_pool, fn)
            except RETRYABLE:
                if attempt == MAX_ATTEMPTS:
                    raise
            pause = min(LONGEST_PAUSE, FIRST_PAUSE * 2 ** (attempt - 1))
            time.sleep(pause * random.uniform(0.5, 1.5))
            attempt += 1

    def _read_here(self, fn: Callable[[PgDatabase], T]) -> T:
        return self._once(self._read_pool, fn)

    def _once(self, pool: ConnectionPool, fn: Callable[[PgDatabase], T]) -> T:
        """`fn` in one transaction: committed when it returns, rolled back when it raises."""
        with pool.connection() as conn, conn.transaction():
            return fn(PgDatabase(conn, self._translate, self._keys))
