"""The whole system on this machine, no account, no network: for the demo and the tests.

`LocalSystem` starts the real bot server beside the gateway simulator and the Slack
stand-in, each an aiohttp server on a random loopback port. The demo and the
end-to-end tests both drive it, so what the demo shows is what the tests check.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Self

import aiohttp
from aiohttp import web

from bot.clock import Clock, SystemClock
from bot.config import Settings, load_settings
from bot.gateway import secret_digest
from server.app import build_app
from standins.gateway_simulator import GatewaySimulator, SimulatorConfig
from standins.manual_clock import ManualClock
from standins.slack import SlackStandIn

SIGNING_SECRET = "demo-signing-secret"
DEMO_CHANNEL = "C0GENERAL"


async def wait_until_serving(
    session: aiohttp.ClientSession,
    url: str,
    timeout: float = 30.0,  # noqa: ASYNC109
) -> None:
    """Until `url`/healthz answers 200: a bot started as a process of its own is serving.

    TimeoutError naming the URL when it does not within `timeout` seconds.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        try:
            async with session.get(url + "/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{url} did not serve /healthz within {timeout:g} s")


class LocalSystem:
    """Bot + gateway simulator + Slack stand-in, started together and stopped together."""

    def __init__(
        self,
        database: Path,
        *,
        simulator: SimulatorConfig | None = None,
        env: Mapping[str, str] | None = None,
        clock: Clock | None = None,
        push_reports: bool = True,
    ) -> None:
        self.database = database
        # the bot's clock; the Slack stand-in stamps calls with it, so gaps read in its time
        self.clock = clock or SystemClock()
        self.slack = SlackStandIn(clock=self.clock.monotonic)
        self.gateway = GatewaySimulator(
            simulator or SimulatorConfig(report_delay=0.3, retry_delay=0.2)
        )
        self.extra_env = dict(env or {})
        self.push_reports = push_reports
        self.url = ""
        self.app: web.Application | None = None
        self.settings: Settings | None = None
        self._stack = AsyncExitStack()
        self._runner: web.AppRunner | None = None
        self.session: aiohttp.ClientSession | None = None

    def environment(self) -> dict[str, str]:
        """The settings the bot runs with, as if read from a `.env` file."""
        config = self.gateway.config
        return {
            "SLACK_BOT_TOKEN": self.slack.token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.slack.api_url,
            "SMS_API_URL": self.gateway_url,
            "SMS_APP_KEY": config.app_key,
            "SMS_APP_SECRET": config.app_secret,
            "DATABASE_PATH": str(self.database),
            "HOST": "127.0.0.1",
            "PORT": "0",
            "SMS_UPDATE_INTERVAL": "0.2",
            "SMS_GATEWAY_TIMEOUT": "3",
            **self.extra_env,
        }

    async def __aenter__(self) -> Self:
        await self._stack.__aenter__()
        await self.slack.start()
        self._stack.push_async_callback(self.slack.stop)
        self.gateway_url = await self.gateway.start()
        self._stack.push_async_callback(self.gateway.stop)
        await self.start_bot()
        self._stack.push_async_callback(self.stop_bot)
        self.session = await self._stack.enter_async_context(aiohttp.ClientSession())
        return self

    async def start_bot(self) -> None:
        """Start (or restart) the bot server; the simulator pushes reports to it."""
        self.settings = load_settings(self.environment())
        self.app = build_app(self.settings, clock=self.clock)
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        if self.push_reports:
            self.gateway.config.report_url = self.url + self.settings.sms_report_path
        self._runner = runner

    async def stop_bot(self) -> None:
        """Stop the bot as a shutdown would; the database file stays for a restart."""
        if self._runner is not None:
            if isinstance(self.clock, ManualClock):
                async with self.clock.running_free():
                    await self._runner.cleanup()
            else:
                await self._runner.cleanup()
            self._runner = None

    async def restart_bot(self) -> None:
        """Stop and start the bot on the same database (it gets a new port)."""
        await self.stop_bot()
        await self.start_bot()

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.__aexit__(None, None, None)

    async def slash(
        self, text: str, *, user_id: str = "U0ALICE", channel_id: str = DEMO_CHANNEL
    ) -> tuple[int, str]:
        """Type `/sms <text>` in Slack: a signed request to the bot; returns its ack."""
        assert self.session is not None
        return await self.slack.slash_command(
            self.session,
            self.url + "/slack/events",
            SIGNING_SECRET,
            text,
            user_id=user_id,
            channel_id=channel_id,
        )

    @property
    def report_url(self) -> str:
        """Where the gateway pushes reports to the running bot."""
        assert self.settings is not None
        return self.url + self.settings.sms_report_path

    def report_headers(self) -> dict[str, str]:
        """The credentials the gateway puts on each pushed report (gateway-api.md §5)."""
        config = self.gateway.config
        return {"appKey": config.app_key, "appSecret": secret_digest(config.app_secret)}

    async def reports_applied(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until every report the webhook answered is applied, as `/metrics` says."""
        assert self.session is not None
        done = re.compile(r"^smsbot_reports_pending 0\.0$", re.MULTILINE)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            async with self.session.get(self.url + "/metrics") as reply:
                if done.search(await reply.text()):
                    return
            if loop.time() > deadline:
                raise TimeoutError(f"reports still pending after {timeout}s")
            await asyncio.sleep(0.02)

    async def wait_for(self, condition: Callable[[], Any], timeout: float = 10.0) -> Any:  # noqa: ASYNC109
        """Poll until `condition()` is truthy; its value, or TimeoutError naming the wait."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = condition()
            if value:
                return value
            if loop.time() > deadline:
                raise TimeoutError(f"gave up waiting after {timeout}s")
            await asyncio.sleep(0.05)
