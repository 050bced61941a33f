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
Job = tuple[Callable[[Database], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]
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
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((fn, loop, future))
        return await future

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

    def _commit_group(self, db: Database, batch: list[Job]) -> None:
        """Commit the batch in one transaction, then wake every caller.

        The batch first runs as one plain transaction. Only if a write raises is it run
        again with a savepoint around each write, so one bad write fails alone while the
        common case pays for no savepoints.
        """
        try:
            outcomes = self._run_group(db, batch, isolate=False)
        except _WriteFailed:
            try:
                outcomes = self._run_group(db, batch, isolate=True)
            except Exception as error:
                outcomes = self._commit_failed(batch, error)
        except Exception as error:
            outcomes = self._commit_failed(batch, error)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for (_, loop, future), (ok, value) in zip(batch, outcomes, strict=True):
            by_loop.setdefault(loop, []).append((future, ok, value))
        for loop, settled in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, settled)
            except RuntimeError:
                log.warning("%d writes committed after their event loop closed", len(settled))

    @staticmethod
    def _run_group(db: Database, batch: list[Job], *, isolate: bool) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        with db.atomic():
            for fn, _, _ in batch:
                if not isolate:
                    try:
                        outcomes.append((True, fn(db)))
                    except Exception as error:
                        raise _WriteFailed from error
                    continue
                try:
                    with db.atomic():
                        outcomes.append((True, fn(db)))
                except Exception as error:
                    outcomes.append((False, error))
        return outcomes

    @staticmethod
    def _commit_failed(batch: list[Job], error: Exception) -> list[tuple[bool, Any]]:
        log.exception("commit of %d writes failed", len(batch))
        return [(False, error)] * len(batch)


class _WriteFailed(Exception):
    """One write of a group raised: the group is rolled back and run with savepoints."""


def _settle(settled: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    """On the event loop: hand each caller its result (callers that gave up are skipped)."""
    for future, ok, value in settled:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
