"""For bench/replicas.py: a back end (one or two `smsbot serve` processes on one database)
as wrk loads it, and waiting for its applier to catch up."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import aiohttp
from common import MOBILE_BASE, MSG_PREFIX, REQUEST_LUA, SERVER_CORE, pin, ready

THREADS = 2  # wrk threads; each one's connections go to one address
SENDS, PER_SEND = 2000, 100  # the seeded sends and recipients each

# Each wrk thread is sent to its own address and takes every THREADS-th pair.
LUA = (
    """
local ports = {{{ports}}}
local made = 0
function setup(thread)
  thread.addr = wrk.lookup("127.0.0.1", ports[(made % #ports) + 1])[1]
  thread:set("i", {start} + made)
  made = made + 1
end"""
    + REQUEST_LUA
)


class Backend:
    """One back end: its bots (one or two `smsbot serve`), and how far its pairs got."""

    def __init__(self, name: str, envs: list[dict[str, str]], folder: Path, rows: int) -> None:
        self.name = name
        self.envs = envs
        self.folder = folder
        self.rows = rows
        self.ports = [int(env["PORT"]) for env in envs]
        self.processes: list[asyncio.subprocess.Process] = []
        self.posted = 0
        self.runs: list[dict[str, float]] = []
        self.drains: list[float] = []
        self.logged = 0
        self.rollbacks: int | None = None  # PostgreSQL: transactions rolled back (lost races)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}"

    async def start(self) -> None:
        for env in self.envs:
            self.processes.append(
                await asyncio.create_subprocess_exec(
                    *pin(SERVER_CORE), sys.executable, "-m", "smsbot", "serve", env=env
                )
            )
        for port in self.ports:
            await ready(f"http://127.0.0.1:{port}/healthz")
        await until_working(self.ports)

    async def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            await process.wait()

    def script(self, key: str, digest: str) -> Path:
        path = self.folder / f"{self.posted}-{self.ports[0]}.lua"
        ports = ", ".join(f'"{port}"' for port in self.ports)
        path.write_text(
            LUA.format(
                ports=ports,
                start=self.posted,
                stride=THREADS,
                per_send=PER_SEND,
                pairs=self.rows,
                mobile_base=MOBILE_BASE,
                msg_prefix=MSG_PREFIX,
                key=key,
                secret=digest,
            )
        )
        return path


async def until_working(ports: list[int], seconds: float = 30) -> None:
    """Until one bot does the background work (a first replica waits out its grace): the
    applier must run, or the first round's drain would measure the take-over."""
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            for port in ports:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as reply:
                    if (await reply.json()).get("role") in ("single", "active"):
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"no bot on ports {ports} took the background work")
