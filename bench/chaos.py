"""For bench/crash_replicas.py: the replicas' roles watched through /healthz, and the
killer, which SIGKILLs one replica at a time and starts it again."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from standins.child import ChildBot
from standins.slack import SlackStandIn

PAGE_ALERT = "smsbot-page-alert-"  # a page alert's marker begins so (bot/escalation.py)
KILL_GAP = (1.0, 6.0)  # seconds between kills
ACTIVE_SHARE = 0.75  # kills aimed at the replica doing the background work
WATCH_EVERY = 0.2
FOUND_AGAIN = "was posted; its answer had been lost"  # bot/escalation.py's log line


class Watch:
    """Both replicas' roles, polled: take-overs, and any moment with two active ones."""

    def __init__(self, replicas: list[ChildBot], session: aiohttp.ClientSession) -> None:
        self.replicas = replicas
        self.session = session
        self.takeovers = 0
        self.both_active = 0
        self.longest_without = 0.0  # seconds with no replica `active`
        self._last: tuple[int, int] | None = None  # (replica, its start number)
        self._active_at = time.monotonic()

    async def roles(self) -> list[str | None]:
        """Each replica's role from /healthz; None for one that does not answer."""
        roles: list[str | None] = []
        for replica in self.replicas:
            try:
                async with self.session.get(
                    replica.url + "/healthz", timeout=aiohttp.ClientTimeout(total=1)
                ) as response:
                    roles.append(str((await response.json())["role"]))
            except (TimeoutError, aiohttp.ClientError, ValueError, KeyError):
                roles.append(None)
        return roles

    async def run(self, done: asyncio.Event) -> None:
        while not done.is_set():
            roles = await self.roles()
            active = [n for n, role in enumerate(roles) if role == "active"]
            self.both_active += len(active) > 1
            now = time.monotonic()
            if active:
                self.longest_without = max(self.longest_without, now - self._active_at)
                self._active_at = now
            for n in active:
                who = (n, self.replicas[n].starts)
                self.takeovers += self._last is not None and who != self._last
                self._last = who
            await asyncio.sleep(WATCH_EVERY)


class Killer:
    """SIGKILLs a replica and starts it again, one at a time: now and then (KILL_GAP), and
    just after a page alert's post reached Slack, before its answer is back (SLOW_POST)."""

    def __init__(
        self,
        replicas: list[ChildBot],
        session: aiohttp.ClientSession,
        watch: Watch,
        rng: random.Random,
    ) -> None:
        self.replicas = replicas
        self.session = session
        self.watch = watch
        self.rng = rng
        self.killed = Counter[str]()  # by the victim's role when killed
        self.kills = 0
        self._one_at_a_time = asyncio.Lock()

    async def now_and_then(self, kills: int) -> None:
        for _ in range(kills):
            await asyncio.sleep(self.rng.uniform(*KILL_GAP))
            await self.kill(self.rng.random() < ACTIVE_SHARE, "")

    async def at_page_alerts(self, slack: SlackStandIn, done: asyncio.Event) -> None:
        """The first post of each page alert: kill the replica doing the work right then."""
        seen: set[str] = set()
        looked = 0
        while not done.is_set():
            calls, looked = slack.calls[looked:], len(slack.calls)
            for call in calls:
                marker = _alert_marker(call.params) if call.method == "chat.postMessage" else None
                if marker and marker not in seen:
                    seen.add(marker)
                    await self.kill(True, " at a page alert's post")
            await asyncio.sleep(0.02)

    async def kill(self, at_work: bool, why: str) -> None:
        """Kill the replica doing the background work (`at_work`) or another one."""
        async with self._one_at_a_time:
            roles = await self.watch.roles()
            working = [n for n, r in enumerate(roles) if r in ("active", "taking over")]
            others = [n for n in range(len(self.replicas)) if n not in working]
            if working and (at_work or not others):
                victim = working[0]
            else:
                victim = self.rng.choice(others)
            self.killed[f"{roles[victim] or 'not answering'}{why}"] += 1
            self.kills += 1
            await self.replicas[victim].kill()
            await self.replicas[victim].start(self.session)


def found_again(workdir: Path) -> int:
    """Page alerts a replica taking over found in Slack by their marker, from the logs."""
    return sum(log.read_text().count(FOUND_AGAIN) for log in workdir.glob("replica-*.log"))


def _alert_marker(params: dict[str, Any]) -> str | None:
    blocks = params.get("blocks") or []
    marker = str(blocks[0].get("block_id", "")) if blocks else ""
    return marker if marker.startswith(PAGE_ALERT) else None


async def has_active(watch: Watch) -> bool:
    return "active" in await watch.roles()


async def eventually_async(condition: Callable[[], Awaitable[bool]], seconds: float) -> bool:
    """`common.eventually` for a condition that must await."""
    deadline = time.monotonic() + seconds
    while not await condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.2)
    return True
