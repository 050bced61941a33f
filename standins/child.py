"""The bot as a process of its own (`python -m smsbot serve`) on a fixed port: what the
crash script and the replica tests SIGKILL and start again, so pushes keep one address."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp

from standins.gateway_simulator import GatewaySimulator
from standins.local import SIGNING_SECRET, wait_until_serving
from standins.slack import SlackStandIn

__all__ = ["ChildBot", "serve_env"]


def serve_env(slack: SlackStandIn, gateway: GatewaySimulator, gateway_url: str) -> dict[str, str]:
    """The settings of a `smsbot serve` child against the stand-ins in this process; the
    caller adds its database (DATABASE_PATH or DATABASE_URL) and what it measures."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "SMS_API_URL": gateway_url,
        "SMS_APP_KEY": gateway.config.app_key,
        "SMS_APP_SECRET": gateway.config.app_secret,
        "SMS_UPDATE_INTERVAL": "0.2",
    }


class ChildBot:
    """`start`, `kill` (SIGKILL: nothing is flushed or closed), `stop` (SIGTERM)."""

    def __init__(
        self, env: Mapping[str, str], port: int, workdir: Path, log: Path | None = None
    ) -> None:
        self.env = {**env, "HOST": "127.0.0.1", "PORT": str(port)}
        self.url = f"http://127.0.0.1:{port}"
        self.workdir = workdir
        self.log = log
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self, session: aiohttp.ClientSession) -> None:
        """Start it and return once /healthz answers."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        out = os.open(self.log, flags, 0o600) if self.log else None  # the child keeps its copy
        try:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "smsbot",
                "serve",
                env=self.env,
                cwd=self.workdir,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL if out is None else out,
            )
        finally:
            if out is not None:
                os.close(out)
        self.starts += 1
        await wait_until_serving(session, self.url)

    async def health(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        async with session.get(self.url + "/healthz") as response:
            return dict(await response.json())

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await self.process.wait()
