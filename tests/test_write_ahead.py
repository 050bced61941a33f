"""A send is written down before the gateway is called, so no crash can make it vanish.

The hard case is a crash while the gateway holds the request: the SMS may have gone out,
and after the restart the send must still be there, its recipients `unknown`, in the
channel and in `/sms status`, and never sent again.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

import pytest

from standins.local import DEMO_CHANNEL, SIGNING_SECRET, LocalSystem, wait_until_serving
from tests.cli import REPO
from tests.conftest import SystemFactory
from tests.stored import database_env, rows
from tests.test_shutdown import free_port

NUMBER = "+2348031000010"


def sends_made(system: LocalSystem) -> list[dict[str, str]]:
    return [body for op, body in system.gateway.requests if op == "send"]


class ServedBot:
    """`smsbot serve` as a child process on a fixed port, against the stand-ins."""

    def __init__(self, stand_ins: LocalSystem, database: Path, folder: Path) -> None:
        self.stand_ins = stand_ins
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.folder = folder
        self.env = {
            **stand_ins.environment(),
            **database_env(database),
            "PORT": str(self.port),
            "SMS_GATEWAY_TIMEOUT": "60",
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(REPO),
        }
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "smsbot",
            "serve",
            cwd=self.folder,
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        session = self.stand_ins.session
        assert session is not None
        await wait_until_serving(session, self.url, timeout=20)

    async def slash(self, text: str) -> int:
        assert self.stand_ins.session is not None
        status, _ = await self.stand_ins.slack.slash_command(
            self.stand_ins.session, self.url + "/slack/events", SIGNING_SECRET, text
        )
        return status

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), timeout=30)


async def test_a_crash_while_the_gateway_holds_the_send_leaves_it_visible_as_unknown(
    make_system: SystemFactory, tmp_path: Path
) -> None:
    stand_ins = await make_system(send_delay=60)  # the gateway takes the SMS and holds the answer
    bot = ServedBot(stand_ins, tmp_path / "served.db", tmp_path)
    await bot.start()
    try:
        assert await bot.slash(f"send {NUMBER} are you there") == 200
        await stand_ins.wait_for(lambda: sends_made(stand_ins), timeout=10)
        await bot.kill()

        await bot.start()
        message = await stand_ins.wait_for(
            lambda: stand_ins.slack.channel_messages(DEMO_CHANNEL), timeout=15
        )
        assert len(message) == 1 and "1 unknown" in message[0].text, message
        assert await bot.slash("status") == 200
        listed = await stand_ins.wait_for(lambda: stand_ins.slack.responses, timeout=10)
        assert "1 unknown" in listed[-1]["text"], listed[-1]["text"]
        await asyncio.sleep(0.5)  # time in which a re-send would have shown up
        assert [body["mobile"] for body in sends_made(stand_ins)] == [NUMBER.lstrip("+")]
    finally:
        await bot.stop()


async def test_a_send_is_listed_by_status_while_the_gateway_still_holds_it(
    make_system: SystemFactory,
) -> None:
    system = await make_system(
        env={"SMS_GATEWAY_TIMEOUT": "10"}, send_delay=2, silent_suffixes=("0",)
    )
    await system.slash(f"send {NUMBER} hold on")
    await system.wait_for(lambda: sends_made(system))
    await system.slash("status")
    (listed,) = await system.wait_for(lambda: system.slack.responses)
    assert "1 unknown" in listed["text"], listed["text"]

    confirmed = await system.wait_for(lambda: system.slack.responses[1:], timeout=10)
    msg_id = system.gateway.sent[0]["msgId"]
    assert msg_id in confirmed[0]["text"]
    assert rows(system, "SELECT msg_id, state FROM recipients") == [(msg_id, "accepted")]


async def test_each_msgid_is_logged_at_info_as_the_gateway_answers(
    system: LocalSystem, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.gateway.client")
    await system.slash(f"send {NUMBER},+2348031000011 log me")
    await system.wait_for(lambda: system.slack.responses)
    msg_id = system.gateway.sent[0]["msgId"]
    lines = [r for r in caplog.records if msg_id in r.getMessage()]
    assert [r.levelno for r in lines] == [logging.INFO], caplog.text
    assert "2 number" in lines[0].getMessage()
