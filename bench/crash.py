"""Crash test: push delivery reports at the real server while SIGKILLing and restarting it.

    python bench/crash.py [--kills 20] [--sends 5] [--numbers 20] [--seed N]

The bot runs as `python -m smsbot serve` in a child process, against the gateway simulator
and the Slack stand-in running in this process. Reports are pushed like the gateway
pushes them (retried until answered code 0), while the child is killed with SIGKILL at
random moments and started again on the same database. At the end it prints:

- reports answered 0: pushes the bot acknowledged;
- reports stored: how many of those are in the database (must be all of them);
- channel updates missing: sends whose tracked message in Slack does not show the counts
  in the database once the bot has caught up (must be 0);
- failure thread replies doubled (must be 0) and not made: those are at most once, so a
  kill between marking and posting can lose one (the tracked message still shows it).

Exit status 0 only when nothing acknowledged was lost and no update is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import aiohttp
from common import eventually, free_port  # bench/common.py, beside this script

from bot.gateway import secret_digest
from sms import phones
from standins.gateway_simulator import GatewaySimulator, SimulatorConfig
from standins.local import DEMO_CHANNEL, SIGNING_SECRET, wait_until_serving
from standins.slack import SlackStandIn

REPO = Path(__file__).resolve().parents[1]
# What is left to do: reports answered but not applied, channel updates not made.
EVERYTHING_DONE = "SELECT (SELECT count(*) FROM inbox), (SELECT count(*) FROM outbox)"


class Bot:
    """The bot as a child process on a fixed port, so pushes keep one address across restarts."""

    def __init__(self, env: dict[str, str], port: int) -> None:
        self.env = env
        self.url = f"http://127.0.0.1:{port}"
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self, session: aiohttp.ClientSession) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "smsbot",
            "serve",
            env=self.env,
            cwd=self.env["SMSBOT_WORKDIR"],
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self.starts += 1
        await wait_until_serving(session, self.url)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await self.process.wait()


async def push_until_acknowledged(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    report: dict[str, object],
    answered: set[str],
) -> None:
    """Push one report like the gateway, but without giving up: the figure is what was acked."""
    for _ in range(2000):
        try:
            async with session.post(url, json=report, headers=headers) as response:
                answer = await response.json(content_type=None)
                if response.status == 200 and answer.get("code") == 0:
                    answered.add(str(report["desc"]))
                    return
        except (TimeoutError, aiohttp.ClientError, ValueError):
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError(f"report {report['desc']} was never acknowledged")


def reports_for(recipients: list[tuple[str, str]], rng: random.Random) -> list[dict[str, object]]:
    """Each recipient: a final report, duplicates of it and sometimes a late conflicting one."""
    reports: list[dict[str, object]] = []
    for msg_id, mobile in recipients:
        delivered = rng.random() < 0.7
        final = (
            {"status": 0, "errorCode": "DELIVRD"}
            if delivered
            else {"status": 2, "errorCode": "UNDELIV"}
        )
        other = (
            {"status": 2, "errorCode": "UNDELIV"}
            if delivered
            else {"status": 0, "errorCode": "DELIVRD"}
        )
        copies = [final] * rng.randint(1, 3) + ([other] if rng.random() < 0.3 else [])
        for body in copies:
            reports.append(
                {"msgId": msg_id, "mobile": mobile, "timestamp": "20261125120000", **body}
            )
    rng.shuffle(reports)
    for n, report in enumerate(reports):
        report["desc"] = f"push-{n}"
    return reports


def expected_counts(db: sqlite3.Connection) -> dict[tuple[str, str], str]:
    """What each tracked message must say, from the database."""
    expected = {}
    for send_id, channel, ts in db.execute(
        "SELECT id, message_channel, message_ts FROM sends"
    ).fetchall():
        states = Counter(
            row[0]
            for row in db.execute("SELECT state FROM recipients WHERE send_id = ?", [send_id])
        )
        pending = sum(
            n for state, n in states.items() if state not in ("delivered", "failed", "unknown")
        )
        expected[(channel, ts)] = (
            f"{states['delivered']} delivered, {states['failed']} failed, {pending} pending"
        )
    return expected


async def main(kills: int, sends: int, numbers: int, seed: int) -> int:
    rng = random.Random(seed)
    workdir = Path(tempfile.mkdtemp(prefix="smsbot-crash-"))
    database = workdir / "crash.db"
    slack = SlackStandIn()
    gateway = GatewaySimulator(SimulatorConfig(report_url=None, balance=Decimal(10**6)))
    await slack.start()
    gateway_url = await gateway.start()
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO),
        "SMSBOT_WORKDIR": str(workdir),
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "SMS_API_URL": gateway_url,
        "SMS_APP_KEY": gateway.config.app_key,
        "SMS_APP_SECRET": gateway.config.app_secret,
        "DATABASE_PATH": str(database),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "SMS_UPDATE_INTERVAL": "0.2",
        "SMS_POLL_AFTER": "86400",
        "SMS_CONFIRM_ABOVE": "1000000",  # the send path is measured, not its Send button
        "LOG_LEVEL": "ERROR",
    }
    bot = Bot(env, port)
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await bot.start(session)
        for s in range(sends):
            to = ",".join(f"+234803{s:03d}{n:04d}" for n in range(numbers))
            await slack.slash_command(
                session, bot.url + "/slack/events", SIGNING_SECRET, f"send {to} crash test {s}"
            )
        await eventually(lambda: len(slack.channel_messages(DEMO_CHANNEL)) >= sends, 30)
        recipients = [
            (body["msgId"], mobile)
            for body in gateway.sent
            for mobile in str(body["mobile"]).split(",")
        ]
        reports = reports_for(recipients, rng)
        headers = {
            "appKey": gateway.config.app_key,
            "appSecret": secret_digest(gateway.config.app_secret),
        }
        answered: set[str] = set()
        queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        for report in reports:
            queue.put_nowait(report)

        async def pusher() -> None:
            while not queue.empty():
                report = queue.get_nowait()
                await push_until_acknowledged(
                    session, bot.url + "/sms/reports", headers, report, answered
                )
                await asyncio.sleep(rng.random() * 0.05)

        async def killer() -> None:
            for _ in range(kills):
                await asyncio.sleep(rng.uniform(0.2, 1.0))
                await bot.kill()
                await bot.start(session)

        started = time.monotonic()
        await asyncio.gather(killer(), *(pusher() for _ in range(8)))
        pushing = time.monotonic() - started

        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        await eventually(lambda: db.execute(EVERYTHING_DONE).fetchone() == (0, 0), 30)
        await asyncio.sleep(1)
        stored = {row[0] for row in db.execute("SELECT desc FROM reports WHERE source = 'push'")}
        lost = answered - stored
        missing = 0
        for (channel, ts), words in expected_counts(db).items():
            message = slack.messages.get((channel, ts))
            if message is None or not message.text.endswith(words):
                missing += 1
        doubled = unsaid = 0
        for channel, ts, mobile in db.execute(
            "SELECT s.message_channel, s.message_ts, r.mobile FROM recipients r "
            "JOIN sends s ON s.id = r.send_id WHERE r.state = 'failed'"
        ):
            named = sum(m.text.count(phones.mask(mobile)) for m in slack.thread(channel, ts))
            doubled += named > 1
            unsaid += named == 0
        await bot.stop()
    await gateway.stop()
    await slack.stop()

    print(f"kills: {kills} (bot started {bot.starts} times), pushing took {pushing:.1f}s")
    print(f"sends: {sends} x {numbers} recipients, reports pushed: {len(reports)}")
    print(f"reports answered 0: {len(answered)}")
    print(f"reports stored: {len(answered & stored)}")
    print(f"acknowledged reports lost: {len(lost)}")
    print(f"channel updates missing: {missing}")
    print(f"failure thread replies doubled: {doubled}, not made: {unsaid} (at most once)")
    return 0 if not (lost or missing or doubled) and len(answered) == len(reports) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--sends", type=int, default=5)
    parser.add_argument("--numbers", type=int, default=20)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    print(f"seed: {args.seed}")
    sys.exit(asyncio.run(main(args.kills, args.sends, args.numbers, args.seed)))
