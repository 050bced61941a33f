"""A clock for tests: the bot's time moves only when the test says `await clock.advance(s)`.

It stands in for time the way the Slack stand-in stands in for Slack: the bot runs as it
does in production (real SQLite writer thread, real HTTP on loopback), but its background
waits (bot.clock: periodic rounds, the outbox worker, the pacer, the profile cache) end
only when the test moves the clock past them. So a test states "0.6 s later, exactly one
status query more" instead of sleeping and hoping the machine kept up.

`advance` moves time step by step to each sleeper's deadline, in order, wakes the sleepers
due, and before the next step waits until the bot is *quiet*: every background loop started
with `background`, every task that has slept on this clock, and every task one of those
started, is asleep on the clock again, or finished.
Quiet cannot be "one trip round the loop": a woken round waits on the writer thread and on
HTTP answers, which come back in real time. So quiet is polled in real time, and a bot not
quiet within `settle_limit` real seconds fails the test loudly, naming the busy tasks.
Work started from outside (a slash command, a pushed report) is not waited for: a test
waits for its visible effect with `LocalSystem.wait_for`, then moves the clock.

Why not looptime (fake loop time for the whole event loop): it moves the loop's time when
the loop has nothing to do, but an answer from the SQLite writer thread arrives through
`call_soon_threadsafe`, which it cannot see coming, so it fires timeouts early (a 5 s
timeout around a 50 ms thread answer fails under it). Here only the bot's own waits are
fake, and every deadline on the outside world stays on real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

__all__ = ["ManualClock", "StillBusy"]

NS = 1_000_000_000
T = TypeVar("T")


class StillBusy(AssertionError):
    """The bot did not settle within the real-time limit: a test or a wait is wrong."""


@dataclass
class _Sleeper:
    deadline: int  # ns on this clock
    future: asyncio.Future[None]
    event: asyncio.Event | None  # a `wait` also ends when this is set

    def asleep(self) -> bool:
        return not self.future.done() and not (self.event and self.event.is_set())


class ManualClock:
    """Implements bot.clock.Clock; time starts at `start` and moves only in `advance`."""

    def __init__(self, start: datetime | None = None, *, settle_limit: float = 10.0) -> None:
        self.start = start or datetime.now(UTC)
        self.settle_limit = settle_limit
        self._elapsed = 0  # ns since start, an integer so steps add up exactly
        self._sleepers: dict[asyncio.Task[Any], _Sleeper] = {}
        self._tracked: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
        self._helpers: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
        self._hooked: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
        self._free = False

    # the Clock the bot sees

    def now(self) -> datetime:
        return self.start + timedelta(microseconds=self._elapsed // 1000)

    def monotonic(self) -> float:
        return self._elapsed / NS

    async def sleep(self, seconds: float) -> None:
        await self._sleep(seconds, None)

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        await self._sleep(seconds, event)
        return event.is_set()

    async def _sleep(self, seconds: float, event: asyncio.Event | None) -> None:
        if seconds <= 0 or (event is not None and event.is_set()):
            await asyncio.sleep(0)
            return
        if self._free:
            self._elapsed += math.ceil(seconds * NS)
            await asyncio.sleep(0)
            return
        task = asyncio.current_task()
        assert task is not None, "the clock is slept on from a task"
        loop = asyncio.get_running_loop()
        self._hook(loop)
        self._tracked.add(task)
        future: asyncio.Future[None] = loop.create_future()
        helper = None
        if event is not None:
            helper = loop.create_task(event.wait())
            self._helpers.add(helper)
            helper.add_done_callback(lambda _: future.done() or future.set_result(None))
        sleeper = _Sleeper(self._elapsed + math.ceil(seconds * NS), future, event)
        self._sleepers[task] = sleeper
        try:
            await future
        finally:
            if self._sleepers.get(task) is sleeper:
                del self._sleepers[task]
            if helper is not None:
                helper.cancel()

    def background(self, loop: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        self._hook(asyncio.get_running_loop())
        task = asyncio.create_task(loop, name=name)
        self._tracked.add(task)
        return task

    def _hook(self, loop: asyncio.AbstractEventLoop) -> None:
        """Track the tasks that tracked tasks start (the worker's channel tasks, gathers)."""
        if loop in self._hooked:
            return
        self._hooked.add(loop)
        previous = loop.get_task_factory()

        def factory(
            loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
        ) -> asyncio.Future[Any]:
            parent = asyncio.current_task(loop)
            if previous is not None:
                task = previous(loop, coro, **kwargs)
            else:
                task = asyncio.Task(coro, loop=loop, **kwargs)
            if parent is not None and parent in self._tracked and isinstance(task, asyncio.Task):
                self._tracked.add(task)
            return task

        loop.set_task_factory(factory)

    # what the test does

    async def advance(self, seconds: float) -> None:
        """Move time `seconds` on, waking each sleeper at its deadline, in order.

        The bot is let settle before the first step and after each one, so what a round
        does (queries, HTTP calls, the rounds it pokes) is done before time moves again.
        """
        target = self._elapsed + round(seconds * NS)
        await self.settle()
        while True:
            due = [s.deadline for s in self._sleepers.values() if s.asleep()]
            if not due or min(due) > target:
                break
            self._elapsed = max(self._elapsed, min(due))
            for sleeper in list(self._sleepers.values()):
                if sleeper.deadline <= self._elapsed and not sleeper.future.done():
                    sleeper.future.set_result(None)
            await self.settle()
        self._elapsed = target

    @contextlib.asynccontextmanager
    async def running_free(self) -> AsyncIterator[None]:
        """Time jumps to each sleeper's deadline at once: for shutdown, which nobody steers.

        The outbox is drained at shutdown under a real-time grace; held by a pace nobody
        moves, it would use the whole grace up.
        """
        self._free = True
        for sleeper in sorted(self._sleepers.values(), key=lambda s: s.deadline):
            if not sleeper.future.done():
                self._elapsed = max(self._elapsed, sleeper.deadline)
                sleeper.future.set_result(None)
        try:
            yield
        finally:
            self._free = False

    async def advance_until(
        self,
        condition: Callable[[], T],
        step: float,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> T:
        """Advance `step` at a time until `condition()` is truthy; its value.

        For what waits on both the bot's time and the outside world (a command's handler
        runs in real time, then the worker posts a round later): each step also lets real
        time pass, so fake time moves only while the outside world is slow, never past
        what a step allows. TimeoutError after `timeout` real seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (value := condition()):
            if loop.time() > deadline:
                raise TimeoutError(f"gave up after {timeout} s, at {self.monotonic()} s")
            await asyncio.sleep(0.01)
            await self.advance(step)
        return value

    async def settle(self) -> None:
        """Until every tracked task is asleep on this clock or done (StillBusy past the limit).

        Quiet must be seen twice a few loop turns apart: a task that just finished may
        still have a done callback to run (the outbox worker's rings its own bell).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settle_limit
        calm = 0
        while calm < 2:
            for _ in range(5):
                await asyncio.sleep(0)
            busy = self._busy()
            if not busy:
                calm += 1
                continue
            calm = 0
            if loop.time() > deadline:
                raise StillBusy(
                    f"not quiet after {self.settle_limit} s: " + "; ".join(map(_describe, busy))
                )
            await asyncio.sleep(0.001)

    def _busy(self) -> list[asyncio.Task[Any]]:
        me = asyncio.current_task()
        return [
            task
            for task in list(self._tracked)
            if not task.done()
            and task is not me
            and task not in self._helpers
            and not ((sleeper := self._sleepers.get(task)) and sleeper.asleep())
        ]


def _describe(task: asyncio.Task[Any]) -> str:
    frames = task.get_stack()
    where = f" at {frames[-1].f_code.co_qualname}:{frames[-1].f_lineno}" if frames else ""
    return f"{task.get_name()}{where}"
