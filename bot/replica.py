"""Which replica does the background work, and how a poke on one replica reaches it.

On SQLite one process has the database (its file lock says so), so it does all the work:
role `single`. On PostgreSQL every replica answers requests (commands, interactions,
reports, alerts: each is a database write, durable before the answer), and the
background work (the report applier, notifier, poller, escalator, alert worker,
low-balance check and retention) runs on one replica at a time: the one holding the
lease (storage/postgres/lease.py), role `active`; the others are `standby`.

One holder for all of it, not a claim per row: every Slack call in a channel then comes
from one process, so the per-channel pace (bot/notifier/pacer.py) and the once-only
thread replies and page alerts (their markers, bot/notifier/once.py) hold across
replicas as they do in one process. A replica that takes over starts the workers as a
restarted process would, and each worker already finishes on start what a crash left.

A holder that loses its session stops its workers within CHECK_EVERY + CHECK_WITHIN
seconds; the server lets a holder that vanished go only after KEEPALIVE_LOSS, later. Two
cases free the lock while the old holder may still be at work: the server restarting,
and the holder's connection cut (a reset). So a replica whose lock was
held by another session a moment before, or whose server started less than TAKE_OVER ago,
waits TAKE_OVER before starting the work; one that finds the lock free on a server that
has been up longer (a first start, a holder that died) starts at once. A holder frozen
rather than dead (SIGSTOP, a VM paused past the keepalives) is the case left: it stops at
its first check on waking.

A poke (a stored report for the applier, a change for the notifier, an alert notice) is
an asyncio.Event set in-process. On a standby nobody waits on those events but the relay
here, which turns each into a NOTIFY naming the worker; the active replica's lease
session hears it and sets its own event. Pokes that come together (within RELAY_GAP)
share one NOTIFY.

Some news is for every replica (`tell_all`: a send changed, so whichever replica has its
sender's App Home open refreshes it): every lease session listens, standbys included.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.clock import Clock

if TYPE_CHECKING:
    from storage.postgres.lease import Lease, Megaphone

log = logging.getLogger(__name__)

CHECK_EVERY = 1.0  # seconds between the active replica's checks that it still holds the lock
CHECK_WITHIN = 2.0  # a check unanswered this long means the lock may be gone: stop work
TAKE_OVER = 4.0  # seconds a contested take-over waits: longer than a holder takes to stop
TRY_EVERY = 1.0  # a standby's attempts to take the lock
RECONNECT = 2.0  # after the database could not be reached
# Least gap between two NOTIFYs of one worker from a standby: a report burst sets the
# applier's event thousands of times a second; it becomes at most 50 NOTIFYs.
RELAY_GAP = 0.02


@dataclass(frozen=True)
class Work:
    """A background worker: `run` starts it; `stop` ends what `run` leaves behind when
    cancelled (the notifier's per-channel tasks); `wake`, if any, is the Event that
    pokes it and `name` what a NOTIFY calls it."""

    name: str
    run: Callable[[], Coroutine[Any, Any, None]]
    wake: asyncio.Event | None = None
    stop: Callable[[], Awaitable[None]] | None = None


class Workers:
    """The background workers of this process, started and stopped together."""

    def __init__(self, works: list[Work], clock: Clock) -> None:
        self.works = works
        self.clock = clock
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [self.clock.background(w.run(), w.name) for w in self.works]

    async def stop(self, *, lost: bool = True) -> None:
        """Cancel the workers. `lost`: the work is no longer ours, so what they left running
        stops too; at shutdown (`lost=False`) the shutdown's drain finishes it instead."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if tasks and lost:
            for work in self.works:
                if work.stop is not None:
                    await work.stop()

    def wake(self, name: str) -> None:
        for work in self.works:
            if work.name == name and work.wake is not None:
                work.wake.set()


class Alone:
    """SQLite: this process is the only one, so it always does the work."""

    role = "single"

    def __init__(self, workers: Workers) -> None:
        self.workers = workers

    @property
    def active(self) -> bool:
        return True

    async def start(self) -> None:
        self.workers.start()

    async def stop(self) -> None:
        await self.workers.stop(lost=False)


class Shared:
    """PostgreSQL: the work runs here only while this replica holds the lease."""

    def __init__(
        self,
        workers: Workers,
        lease: Lease,
        megaphone: Megaphone,
        news: Mapping[str, Callable[[str], None]] | None = None,
    ) -> None:
        """`news`: topic -> what to do with a `tell_all(topic, value)` from any replica."""
        self.workers = workers
        self.lease = lease
        self.megaphone = megaphone
        self.news = dict(news or {})
        self.role = "standby"
        self._tasks: list[asyncio.Task[None]] = []
        self._untold: set[str] = set()
        self._telling: asyncio.Task[None] | None = None

    def tell_all(self, topic: str, value: str) -> None:
        """Every replica (this one too) gets `news[topic](value)` soon; never waits. The
        same news told twice before it went out goes out once."""
        self._untold.add(f"{topic}:{value}")
        if self._telling is None or self._telling.done():
            self._telling = asyncio.create_task(self._tell(), name="tell replicas")

    @property
    def active(self) -> bool:
        return self.workers.running

    async def start(self) -> None:
        """Take the lease at once if it is free and needs no wait, so a lone replica has its
        workers running before it serves, as on SQLite; the rest goes on in the background."""
        connected = False
        try:
            await self.lease.connect()
            connected = True
            if await self.lease.take() and await self.lease.server_uptime() >= TAKE_OVER:
                self._activate()
        except Exception as error:
            log.warning("replica lease: %s; trying again in the background", error)
        self._tasks = [asyncio.create_task(self._hold(connected), name="lease")]
        self._tasks += [
            asyncio.create_task(self._relay(w.name, w.wake), name=f"relay {w.name}")
            for w in self.workers.works
            if w.wake is not None
        ]

    async def stop(self) -> None:
        """Stop the work here; the lease goes with `release`, once shutdown is done with it."""
        if self._telling is not None:
            self._tasks.append(self._telling)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.workers.stop(lost=False)
        await self.megaphone.close()

    async def release(self) -> None:
        await self.lease.close()

    async def _hold(self, connected: bool) -> None:
        """Forever: wait for the lock, work while it holds, stop the moment it may not.

        Cancelled (shutdown), it leaves the session open: the lock is let go by `release`,
        after the shutdown's last Slack updates, so no standby starts while they run."""
        while True:
            try:
                if not connected:
                    await self.lease.connect()
                connected = False  # after a failure, a new session
                if not self.active:
                    await self._wait_for_lock()
                await self._work_while_held()
            except Exception as error:
                log.warning("replica lease: %s; trying again in %g s", error, RECONNECT)
                if self.role == "active":
                    log.warning("lost the lease: the background work stopped here")
                await self.workers.stop()
                self.role = "standby"
                with contextlib.suppress(Exception):
                    await self.lease.close()
            await asyncio.sleep(RECONNECT)

    async def _wait_for_lock(self) -> None:
        contested = False
        while not await self.lease.take():
            contested = True
            await self._hear(TRY_EVERY)
        grace = TAKE_OVER if contested else TAKE_OVER - await self.lease.server_uptime()
        self.role = "taking over"
        log.info("took the lease; starting the background work in %.1f s", max(grace, 0.0))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while loop.time() < deadline:
            await asyncio.sleep(min(CHECK_EVERY, deadline - loop.time()))
            if not await self.lease.holds(CHECK_WITHIN):
                raise ConnectionError("the lease's session ended while taking over")
        self._activate()

    def _activate(self) -> None:
        self.role = "active"
        self.workers.start()
        log.info("this replica does the background work now")

    async def _work_while_held(self) -> None:
        while True:
            await self._hear(CHECK_EVERY)
            if not await self.lease.holds(CHECK_WITHIN):
                raise ConnectionError("the lease's session stopped answering")

    async def _hear(self, seconds: float) -> None:
        """What other replicas said during `seconds`: pokes for the work (if it runs here)
        and news for everyone."""
        for said in await self.lease.heard(seconds):
            topic, _, value = said.partition(":")
            if not value:
                if self.active:  # a standby's own event would only go round again
                    self.workers.wake(said)
            elif topic in self.news:
                self.news[topic](value)

    async def _tell(self) -> None:
        while self._untold:
            said = self._untold.pop()
            try:
                await self.megaphone.say(said)
            except Exception as error:
                log.warning("could not tell the other replicas %s: %s", said, error)

    async def _relay(self, name: str, wake: asyncio.Event) -> None:
        """On a standby, each poke of `name` as a NOTIFY for the active replica."""
        while True:
            if self.active:
                await asyncio.sleep(CHECK_EVERY)  # the worker here takes its own pokes
                continue
            try:
                async with asyncio.timeout(CHECK_EVERY):
                    await wake.wait()
            except TimeoutError:
                continue
            if self.active:
                continue
            wake.clear()
            try:
                await self.megaphone.say(name)
            except Exception as error:
                log.warning("could not pass a poke for %s on: %s", name, error)
                await asyncio.sleep(RECONNECT)
            await asyncio.sleep(RELAY_GAP)
