"""The test clock itself: time moves only in `advance`, and `advance` waits for the bot."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.periodic import every
from standins.manual_clock import ManualClock, StillBusy


async def thread_answer(seconds: float) -> str:
    """The SQLite writer's way: a thread answers through call_soon_threadsafe."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()

    def work() -> None:
        time.sleep(seconds)
        loop.call_soon_threadsafe(future.set_result, "answer")

    threading.Thread(target=work).start()
    return await future


async def test_sleepers_wake_at_their_deadlines_in_order_and_not_before():
    clock = ManualClock(datetime(2025, 1, 1, tzinfo=UTC))
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic()))

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("b", 2.0), ("a", 0.5))]
    await clock.settle()
    await clock.advance(0.4)
    assert woke == []
    await clock.advance(2.0)
    assert woke == [("a", 0.5), ("b", 2.0)]
    assert clock.monotonic() == 2.4
    assert clock.now() == datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=2.4)
    await asyncio.gather(*tasks)


async def test_a_round_that_waits_on_a_thread_is_finished_before_time_moves_on():
    clock = ManualClock()
    rounds: list[tuple[float, str]] = []

    async def step() -> None:
        rounds.append((clock.monotonic(), await thread_answer(0.05)))

    worker = clock.background(every(clock, 1.0, step, "test"), "worker")
    await clock.advance(3.0)
    assert rounds == [(t, "answer") for t in (0.0, 1.0, 2.0, 3.0)]
    worker.cancel()


async def test_tasks_a_woken_round_starts_are_waited_for_too():
    clock = ManualClock()
    done: list[float] = []

    async def child() -> None:
        await thread_answer(0.05)
        done.append(clock.monotonic())

    async def step() -> None:
        asyncio.create_task(child())  # noqa: RUF006 - the clock holds it (tracked)

    worker = clock.background(every(clock, 1.0, step, "test"), "worker")
    await clock.advance(1.0)
    assert done == [0.0, 1.0]
    worker.cancel()


async def test_a_wait_ends_early_when_its_event_is_set():
    clock = ManualClock()
    event = asyncio.Event()
    waiter = asyncio.create_task(clock.wait(event, 5.0))
    await clock.settle()
    event.set()
    assert await waiter is True
    assert clock.monotonic() == 0.0
    waiter = asyncio.create_task(clock.wait(asyncio.Event(), 5.0))
    await clock.advance(5.0)
    assert await waiter is False


async def test_a_round_stuck_on_something_else_fails_loudly():
    clock = ManualClock(settle_limit=0.2)
    never = asyncio.Event()

    async def step() -> None:
        await never.wait()

    worker = clock.background(every(clock, 1.0, step, "test"), "stuck worker")
    with pytest.raises(StillBusy, match="stuck worker"):
        await clock.advance(1.0)
    worker.cancel()
