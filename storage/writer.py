"""One thread owns the writing connection; the event loop never waits on SQLite.

The pattern of datasette's `database.py`, plus group commit: the thread takes every
write that has queued up, runs each in its own savepoint inside one transaction,
commits once, and only then wakes the callers. A caller is answered only after its
write is durable, and a burst of reports costs one fsync instead of one each.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlite_utils import Database

log = logging.getLogger(__name__)

T = TypeVar("T")
_STOP = object()
MAX_GROUP = 500


def connect(path: str) -> Database:
    """A connection usable from the thread that will own it, in WAL mode."""
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
    db = Database(conn, execute_plugins=False)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return db


class Writer:
    """Runs write functions on a single thread with group commit."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self._ready: Future[None] = Future()

    def start(self) -> None:
        self._thread.start()
        self._ready.result()

    async def write(self, fn: Callable[[Database], T]) -> T:
        """Run `fn` in the writer thread; returns once its transaction is committed."""
        future: Future[T] = Future()
        self._queue.put((fn, future))
        return await asyncio.wrap_future(future)

    def stop(self) -> None:
        """Finish what is queued, then close the connection."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def _run(self) -> None:
        try:
            db = connect(self._path)
            db.conn.execute("PRAGMA journal_mode = WAL")
        except BaseException as error:
            self._ready.set_exception(error)
            return
        self._ready.set_result(None)
        try:
            while True:
                first = self._queue.get()
                if first is _STOP:
                    return
                batch = [first]
                stopping = False
                while len(batch) < MAX_GROUP:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stopping = True
                        break
                    batch.append(item)
                self._commit_group(db, batch)
                if stopping:
                    return
        finally:
            db.close()

    def _commit_group(self, db: Database, batch: list[tuple[Callable[..., Any], Future]]) -> None:
        results: list[tuple[Future, bool, Any]] = []
        try:
            with db.atomic():
                for fn, future in batch:
                    if not future.set_running_or_notify_cancel():
                        continue
                    try:
                        with db.atomic():
                            results.append((future, True, fn(db)))
                    except Exception as error:
                        results.append((future, False, error))
        except Exception as error:
            log.exception("commit of %d writes failed", len(batch))
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for future, ok, value in results:
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
