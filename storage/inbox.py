"""The webhook's inbox: pushed report bodies, committed and answered before they are applied.

The gateway needs one promise per report, that it is stored; everything a report changes
(its recipient, the state counts, the outbox, the report log) can follow a moment later
(`bot/applier.py`). So the webhook's write is the cheapest durable one there is: the raw
body appended to a table with no index but its key. Reports arrive one per request,
thousands a second after a bulk send; `Inbox.push` gathers the ones that arrive while a
write is in flight into the next write, so a burst costs one transaction per batch.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque

from sqlite_utils import Database

from storage.rows import iso
from storage.store import Store

__all__ = ["OLDEST_SQL", "Inbox"]

log = logging.getLogger(__name__)

# One statement for the whole batch: the writer thread gives up the GIL around each SQLite
# call and waits to get it back from a busy event loop (storage/reports.py says more).
PUT_SQL = "INSERT INTO inbox (received_at, body) SELECT ?, value FROM json_each(?) ORDER BY key"
# The oldest `limit` bodies [[id, received_at, body], …] as one row, and the newest id: read
# inside the applier's own write (storage/reports.py `apply_inbox`), so two rounds can never
# take the same rows.
OLDEST_SQL = (
    "SELECT json_group_array(json_array(id, received_at, body)), "
    "(SELECT max(id) FROM inbox) FROM (SELECT id, received_at, body FROM inbox ORDER BY id LIMIT ?)"
)


class Inbox:
    """Pushed reports waiting to be applied."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._waiting: deque[tuple[str, asyncio.Future[None]]] = deque()
        self._queued = False  # a write is queued that has not taken its bodies yet
        self._tasks: set[asyncio.Task[None]] = set()
        self.unanswered = 0  # pushes waiting for their commit
        self._load = [0, 0]  # since `load()` last read it: the sum of `unanswered`, pushes

    async def push(self, body: str) -> None:
        """Store one pushed body, in a commit shared with the others waiting."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((body, future))
        if not self._queued:
            self._queued = True
            task = asyncio.create_task(self._write(), name="inbox")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self.unanswered += 1
        self._load[0] += self.unanswered
        self._load[1] += 1
        try:
            await future
        finally:
            self.unanswered -= 1

    def load(self) -> float:
        """How many pushes waited for their commit, on average, as each new one came in,
        since the last call: 1 or 2 while answers keep up, whatever the rate; most of the
        webhook's connections once it is saturated. (A reading at one instant would not
        do: the applier reads it just as a commit has answered everyone waiting.)"""
        total, pushes = self._load
        self._load = [0, 0]
        return total / pushes if pushes else 0.0

    async def size(self) -> int:
        """How many pushed reports are answered but not applied yet."""

        def read(db: Database) -> int:
            return db.conn.execute("SELECT count(*) FROM inbox").fetchone()[0]

        return await self.store.read(read)

    async def _write(self) -> None:
        """One write that takes, when the writer thread starts it, every body waiting then.

        So a write is queued while the one before commits, and bodies that arrive during
        that commit go in the next one without a trip through the event loop. A group the
        writer runs again (after another write failed) writes the same bodies again."""
        taken: list[tuple[str, asyncio.Future[None]]] = []

        def put(db: Database) -> None:
            if not taken:
                self._queued = False  # before taking: a body added later queues a new write
                while self._waiting:
                    taken.append(self._waiting.popleft())
            if taken:
                params = [iso(self.store.clock()), json.dumps([body for body, _ in taken])]
                db.conn.execute(PUT_SQL, params)

        try:
            await self.store.write(put)
        except Exception as error:
            if len(taken) > 1:
                log.warning("%d reports failed together; writing each alone", len(taken))
                await self._one_by_one(taken)
            else:
                for _, future in taken:
                    _settle(future, error)
            return
        for _, future in taken:
            _settle(future, None)

    async def _put(self, bodies: list[str]) -> None:
        params = [iso(self.store.clock()), json.dumps(bodies)]
        await self.store.write(lambda db: db.conn.execute(PUT_SQL, params))

    async def _one_by_one(self, batch: list[tuple[str, asyncio.Future[None]]]) -> None:
        """After a failed batch: each body alone, so one that cannot be stored fails alone."""
        for body, future in batch:
            try:
                await self._put([body])
            except Exception as error:
                _settle(future, error)
                continue
            _settle(future, None)


def _settle(future: asyncio.Future[None], error: Exception | None) -> None:
    """Wake the request waiting on it (unless it gave up): stored, or why not."""
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
