"""SIGTERM: `smsbot serve` stops taking requests but lets a send in flight finish and post."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from standins.local import DEMO_CHANNEL, SIGNING_SECRET, wait_until_serving
from tests.cli import REPO, free_port
from tests.conftest import SystemFactory
from tests.stored import database_env, rows


async def test_sigterm_lets_a_send_in_flight_finish_and_closes_cleanly(
    make_system: SystemFactory, tmp_path: Path
) -> None:
    stand_ins = await make_system(send_delay=1.5)
    port = free_port()
    database = tmp_path / "served.db"
    env = {
        **stand_ins.environment(),
        **database_env(database),
        "PORT": str(port),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
    }
    bot = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "smsbot",
        "serve",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    assert stand_ins.session
    await wait_until_serving(stand_ins.session, url, timeout=30)
    status, _ = await stand_ins.slack.slash_command(
        stand_ins.session, url + "/slack/events", SIGNING_SECRET, "send +2348031000010 bye"
    )
    assert status == 200
    await stand_ins.wait_for(lambda: stand_ins.gateway.sent)  # the gateway is answering slowly
    bot.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(bot.communicate(), timeout=30)
    assert bot.returncode == 0, stderr.decode()
    assert "Traceback" not in stderr.decode()
    (msg_id, ts), *_ = rows(
        env, "SELECT r.msg_id, s.message_ts FROM recipients r JOIN sends s ON s.id = r.send_id"
    )
    assert msg_id == stand_ins.gateway.sent[0]["msgId"] and ts
    assert stand_ins.slack.channel_messages(DEMO_CHANNEL)
