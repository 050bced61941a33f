"""What must stay good while the webhook gets faster (issue 11, item 3), measured on the
real bot as `python -m smsbot serve`, pinned to one core, against the stand-ins:

    python bench/keep.py [--commands 50] [--gateway-delay 5] [--recipients 1000]

1. The slash command's answer (Slack's 3-second ack): p50/p99 of `--commands` `/sms send`
   spread over `--gateway-delay` seconds while the gateway takes that long to answer each,
   so up to `--commands` sends are in flight at once. Target: p99 under 50 ms.
2. Slack calls per 1000 recipients' reports: one send to `--recipients` numbers, its
   delivery reports pushed by the simulator; tracked-message posts, edits and thread replies
   made in the channel from the send until it shows every report. Target: at most 15.
3. Gateway calls: sends exactly ceil(n/1000) requests for n numbers, and one status round
   asks about n recipients in exactly ceil(n/500) queries.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import aiohttp
from common import REPO, SERVER_CORE, eventually, free_port, pin, pin_self  # bench/common.py

from standins.gateway_simulator import GatewaySimulator, SimulatorConfig
from standins.local import DEMO_CHANNEL, SIGNING_SECRET, wait_until_serving
from standins.slack import SlackStandIn


class Served:
    """The bot as a child process pinned to SERVER_CORE, against this script's stand-ins."""

    def __init__(
        self, slack: SlackStandIn, gateway: GatewaySimulator, gateway_url: str, **env: str
    ):
        self.folder = Path(tempfile.mkdtemp(prefix="smsbot-keep-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(REPO),
            "SLACK_BOT_TOKEN": slack.token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "SMS_API_URL": gateway_url,
            "SMS_APP_KEY": gateway.config.app_key,
            "SMS_APP_SECRET": gateway.config.app_secret,
            "DATABASE_PATH": str(self.folder / "keep.db"),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "LOG_LEVEL": "ERROR",
            "SMS_MAX_RECIPIENTS": "5000",
            "SMS_RATE_LIMIT": "1000",
            "SMS_GATEWAY_TIMEOUT": "30",
            "SMS_CONFIRM_ABOVE": "1000000",  # the send path is measured, not its Send button
            **env,
        }
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Served:
        self.process = await asyncio.create_subprocess_exec(
            *pin(SERVER_CORE), sys.executable, "-m", "smsbot", "serve", env=self.env
        )
        async with aiohttp.ClientSession() as session:
            await wait_until_serving(session, self.url, timeout=30)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        await self.process.wait()


async def slash_answers(args: argparse.Namespace) -> None:
    slack = SlackStandIn()
    config = SimulatorConfig(send_delay=args.gateway_delay, balance=Decimal(10**6))
    gateway = GatewaySimulator(config)
    await slack.start()
    gateway_url = await gateway.start()
    try:
        async with Served(slack, gateway, gateway_url) as bot, aiohttp.ClientSession() as session:

            async def one(n: int) -> float:
                asked = time.perf_counter()
                status, _ = await slack.slash_command(
                    session,
                    bot.url + "/slack/events",
                    SIGNING_SECRET,
                    f"send +234803200{n:04d} load {n}",
                    user_id=f"U0LOAD{n:03d}",
                )
                assert status == 200
                return (time.perf_counter() - asked) * 1000

            async def paced(n: int) -> float:
                await asyncio.sleep(n * args.gateway_delay / args.commands)
                return await one(n)

            # Spread over one gateway delay: by the last command, all of them are sends in
            # flight at once, each waiting on the gateway (a burst at one instant would
            # measure the queue of 50 requests on one core instead).
            answers = sorted(await asyncio.gather(*(paced(n) for n in range(args.commands))))
            p99 = answers[max(0, math.ceil(0.99 * len(answers)) - 1)]
            print(
                f"1. {args.commands} /sms send in {args.gateway_delay:g} s, gateway answering in "
                f"{args.gateway_delay:g} s: answer p50 {statistics.median(answers):.1f} ms, "
                f"p99 {p99:.1f} ms, max {answers[-1]:.1f} ms (target p99 < 50 ms)"
            )
            await eventually(lambda: len(gateway.sent) >= args.commands, args.gateway_delay + 30)
    finally:
        await gateway.stop()
        await slack.stop()


async def slack_calls_and_gateway_calls(args: argparse.Namespace) -> None:
    n = args.recipients
    slack = SlackStandIn()
    config = SimulatorConfig(report_delay=1.0, fail_suffixes=(), balance=Decimal(10**6))
    gateway = GatewaySimulator(config)
    await slack.start()
    gateway_url = await gateway.start()
    config.report_url = None
    try:
        env = {"SMS_POLL_AFTER": "86400"}
        async with Served(slack, gateway, gateway_url, **env) as bot:
            gateway.config.report_url = bot.url + "/sms/reports"
            async with aiohttp.ClientSession() as session:
                numbers = ",".join(f"+234803300{k:04d}" for k in range(n))
                await slack.slash_command(
                    session, bot.url + "/slack/events", SIGNING_SECRET, f"send {numbers} bulk"
                )
            done = await eventually(
                lambda: any(
                    f"{n} delivered" in m.text for m in slack.channel_messages(DEMO_CHANNEL)
                ),
                120,
            )
            calls = [
                c
                for c in slack.calls
                if c.method in ("chat.postMessage", "chat.update")
                and c.params.get("channel") == DEMO_CHANNEL
            ]
            sends = [op for op, _ in gateway.requests if op == "send"]
            per_1000 = len(calls) * 1000 / n
            print(
                f"2. {n} recipients' reports: {len(calls)} Slack calls in the channel "
                f"({per_1000:.1f} per 1000; target at most 15){'' if done else ' (NOT settled)'}"
            )
            print(
                f"3. a send to {n} numbers: {len(sends)} send requests "
                f"(ceil(n/1000) = {math.ceil(n / 1000)})"
            )
    finally:
        await gateway.stop()
        await slack.stop()
    await status_round(args)


async def status_round(args: argparse.Namespace) -> None:
    """Reports never pushed, so the poller asks: one round over n recipients."""
    n = args.recipients
    slack = SlackStandIn()
    gateway = GatewaySimulator(
        SimulatorConfig(
            report_url=None, silent_suffixes=tuple("0123456789"), balance=Decimal(10**6)
        )
    )
    await slack.start()
    gateway_url = await gateway.start()
    try:
        env = {"SMS_POLL_AFTER": "1", "SMS_POLL_INTERVAL": "1"}
        async with Served(slack, gateway, gateway_url, **env) as bot:
            async with aiohttp.ClientSession() as session:
                numbers = ",".join(f"+234803400{k:04d}" for k in range(n))
                await slack.slash_command(
                    session, bot.url + "/slack/events", SIGNING_SECRET, f"send {numbers} quiet"
                )
            asked = lambda: sum(len(b["data"]) for op, b in gateway.requests if op == "status")  # noqa: E731
            await eventually(lambda: asked() >= n, 60)
            queries = [b for op, b in gateway.requests if op == "status"]
            first_round = []
            seen = 0
            for body in queries:
                if seen >= n:
                    break
                first_round.append(len(body["data"]))
                seen += len(body["data"])
            print(
                f"   a status round over {n} recipients: {len(first_round)} queries of "
                f"{first_round} (ceil(n/500) = {math.ceil(n / 500)})"
            )
    finally:
        await gateway.stop()
        await slack.stop()


async def main(args: argparse.Namespace) -> None:
    pin_self(0)
    await slash_answers(args)
    await slack_calls_and_gateway_calls(args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=50)
    parser.add_argument("--gateway-delay", type=float, default=5.0)
    parser.add_argument("--recipients", type=int, default=1000)
    asyncio.run(main(parser.parse_args()))
