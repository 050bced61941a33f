"""The Store: the database's lifecycle and the two ways in, `read` and `write`.

Writes go through the single writer thread (group commit); reads run on a small
pool of threads with their own connections (WAL lets them read while it writes).
The queries themselves live in the small modules beside this one (sends, reports,
outbox, polling, pages, contacts), each taking the Store, so no one query family
sees another's SQL unless it means to.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from sqlite_utils import Database

from storage.lock import DatabaseLock
from storage.schema import migrations
from storage.writer import Writer, connect

T = TypeVar("T")

__all__ = ["Store"]


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only: it holds numbers and messages.

    Its directory must exist: a typo in DATABASE_PATH must not silently start a second,
    empty database in a new tree.
    """
    if str(path) == ":memory:" or path.exists():
        return
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


class Store:
    def __init__(
        self, path: Path | str, clock: Callable[[], datetime], *, exclusive: bool = True
    ) -> None:
        """`exclusive=False` skips the one-process lock: for short commands (`smsbot send`)
        that write a row beside a running bot, which SQLite's own locking serialises."""
        self.path = Path(path)
        self.clock = clock
        self.caller: int | None = None  # one process per file: sends need not say which
        self._exclusive = exclusive
        self._lock = DatabaseLock(self.path)
        self._writer = Writer(str(self.path))
        self._local = threading.local()
        self._reader_dbs: list[Database] = []
        self._readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sqlite-reader")

    async def open(self) -> None:
        """Lock, create the file, apply migrations and start the writer thread.

        Raises DatabaseInUse when another live process has the database.
        """
        await asyncio.to_thread(_create_private, self.path)
        if self._exclusive:
            await asyncio.to_thread(self._lock.acquire)
        try:
            await asyncio.to_thread(self._writer.start)
            await self._writer.write(migrations.apply)
        except BaseException:
            await asyncio.to_thread(self._lock.release)
            raise

    async def close(self) -> None:
        await asyncio.to_thread(self._writer.stop)
        self._readers.shutdown(wait=True)
        for db in self._reader_dbs:
            db.close()
        await asyncio.to_thread(self._lock.release)

    async def write(self, fn: Callable[[Database], T]) -> T:
        """Run `fn` on the writer thread, in a transaction; returns once committed."""
        return await self._writer.write(fn)

    async def read(self, fn: Callable[[Database], T]) -> T:
        """Run `fn` on a reader thread with its own connection."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._read_here, fn)

    async def ping(self) -> None:
        """A read that touches the database: the health check's proof it answers."""
        await self.read(lambda db: db.execute("SELECT 1").fetchone())

    def _read_here(self, fn: Callable[[Database], T]) -> T:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = connect(str(self.path))
            self._reader_dbs.append(db)
        return fn(db)
