"""Crash test: push delivery reports at the real server while SIGKILLing and restarting it.

    python bench/crash.py [--kills 20] [--sends 5] [--numbers 20] [--seed N]
    python bench/crash.py --replicas 2 [--pages 6] [--kills 20] [--seed N]

The bot runs as `python -m smsbot serve` in a child process, against the gateway simulator
and the Slack stand-in running in this process. Reports are pushed like the gateway
pushes them (retried until answered code 0), while the child is killed with SIGKILL at
random moments and started again on the same database. At the end it prints:

- reports answered 0: pushes the bot acknowledged;
- reports stored: how many of those are in the database (must be all of them);
- channel updates missing: sends whose tracked message in Slack does not show the counts
  in the database once the bot has caught up (must be 0);
- tracked messages posted twice: sends whose tracked message (its marker) is in Slack more
  than once (must be 0);
- failure thread replies doubled (must be 0) and not made: those are at most once, so a
  kill between marking and posting can lose one (the tracked message still shows it).

With `--replicas 2` (bench/crash_replicas.py) two replicas share a throwaway PostgreSQL
database, reports are pushed to both, one of them (mostly the active one) is SIGKILLed
and started again, and pages are made meanwhile whose page alerts must each be posted
exactly once; it prints the take-overs seen and the page alerts made, doubled, missing.

Exit status 0 only when every report was acknowledged, none of them lost, no update is
missing and nothing was posted twice (in replica mode: and every page alert made once).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import aiohttp
from common import eventually, free_port  # bench/common.py, beside this script
from crashkit import (
    EVERYTHING_DONE,
    Reader,
    bot_env,
    outcome,
    print_outcome,
    push_headers,
    push_until_acknowledged,
    reports_for,
    sent_recipients,
)

from standins.child import ChildBot
from standins.gateway_simulator import GatewaySimulator, SimulatorConfig
from standins.local import DEMO_CHANNEL, SIGNING_SECRET
from standins.slack import SlackStandIn


async def main(kills: int, sends: int, numbers: int, seed: int) -> int:
    rng = random.Random(seed)
    workdir = Path(tempfile.mkdtemp(prefix="smsbot-crash-"))
    database = workdir / "crash.db"
    slack = SlackStandIn()
    gateway = GatewaySimulator(SimulatorConfig(report_url=None, balance=Decimal(10**6)))
    await slack.start()
    gateway_url = await gateway.start()
    env = {**bot_env(slack, gateway, gateway_url), "DATABASE_PATH": str(database)}
    bot = ChildBot(env, free_port(), workdir)
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await bot.start(session)
        for s in range(sends):
            to = ",".join(f"+234803{s:03d}{n:04d}" for n in range(numbers))
            await slack.slash_command(
                session, bot.url + "/slack/events", SIGNING_SECRET, f"send {to} crash test {s}"
            )
        await eventually(lambda: len(slack.channel_messages(DEMO_CHANNEL)) >= sends, 30)
        reports = reports_for(sent_recipients(gateway), rng)
        headers = push_headers(gateway)
        answered: set[str] = set()
        queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        for report in reports:
            queue.put_nowait(report)

        async def pusher() -> None:
            while not queue.empty():
                report = queue.get_nowait()
                await push_until_acknowledged(
                    session, [bot.url + "/sms/reports"], headers, report, answered, rng
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

        db = Reader(path=database)
        await eventually(lambda: db.rows(EVERYTHING_DONE)[0] == (0, 0), 30)
        await asyncio.sleep(1)
        result = outcome(db, slack, answered)
        db.close()
        await bot.stop()
    await gateway.stop()
    await slack.stop()

    print(f"kills: {kills} (bot started {bot.starts} times), pushing took {pushing:.1f}s")
    print(f"sends: {sends} x {numbers} recipients, reports pushed: {len(reports)}")
    return 0 if print_outcome(result, len(reports)) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--sends", type=int, default=5)
    parser.add_argument("--numbers", type=int, default=20)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument(
        "--replicas", type=int, choices=[1, 2], default=1, help="2: PostgreSQL replicas"
    )
    parser.add_argument("--pages", type=int, default=6, help="pages made (replica mode)")
    args = parser.parse_args()
    print(f"seed: {args.seed}")
    if args.replicas == 1:
        run = main(args.kills, args.sends, args.numbers, args.seed)
    else:
        from crash_replicas import replicated

        run = replicated(args.kills, args.sends, args.numbers, args.pages, args.seed)
    sys.exit(asyncio.run(run))
