"""`bench/crash.py --replicas 2`: two `smsbot serve` replicas on one throwaway PostgreSQL
database (tests/postgres.py's Cluster), reports pushed to both, one replica SIGKILLed and
started again, over and over.

- Pushers spread the reports over both replicas; a push that fails goes to the other one,
  as a gateway behind a load balancer would. They are paced to last as long as the kills.
- The killer waits KILL_GAP seconds (a contested take-over waits TAKE_OVER, 4 s, so work
  happens between kills), then SIGKILLs the replica /healthz calls `active` (or `taking
  over`) ACTIVE_SHARE of the time, the other one otherwise, and starts it again at once.
  It also kills the working replica at each page alert's first chat.postMessage, which
  the Slack stand-in answers SLOW_POST late: the replica taking over must find that alert
  by its marker (bot/notifier/once.py) instead of posting it again.
- A watcher polls both /healthz every WATCH_EVERY s: a take-over is an `active` replica
  that is not the process seen active before; two `active` at once must never be seen.
- Pages (`/sms page`) are made meanwhile, to either replica. Their numbers get no report
  at all, so each page times out after PAGE_TIMEOUT with all its recipients at once and
  the escalator claims them together: one page alert per page, marked
  `smsbot-page-alert-<page id>-<its first escalated recipient id>` (bot/escalation.py).
  Every such alert must be in Slack exactly once, and no other marker may be there.

Each replica logs at INFO to replica-a.log / replica-b.log in the work directory it prints;
PostgreSQL's log is copied there as postgres.log.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import aiohttp
import pg  # bench/pg.py
from chaos import KILL_GAP, PAGE_ALERT, Killer, Watch, eventually_async, found_again, has_active
from common import eventually, free_port  # bench/common.py, beside this script
from crashkit import (
    EVERYTHING_DONE,
    Reader,
    bot_env,
    marked,
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

PAGE_TIMEOUT = 2.5  # SMS_PAGE_TIMEOUT: pages time out while the kills go on
PAGE_NUMBERS = 2  # recipients per page
RESTART = 1.0  # about what a replica's start takes, for pacing the pushers
PUSHERS = 8
# Slack answers chat.postMessage this late: a kill at a page alert's post lands before the
# answer, so the replica taking over must find the alert by its marker, not post it again.
SLOW_POST = 0.5
# A page's alert, as the database says it was made: its recipients marked escalated (1, or
# 3 while the post is under way) and the first of them, from which the marker is made.
ALERTS_SQL = (
    "SELECT r.send_id, min(r.id) FROM recipients r JOIN sends s ON s.id = r.send_id "
    "WHERE s.kind = 'page' AND r.escalated IN (1, 3) GROUP BY r.send_id"
)
# Page recipients not delivered whose alert is not settled: none once the escalator is done.
UNALERTED_SQL = (
    "SELECT count(*) FROM recipients r JOIN sends s ON s.id = r.send_id "
    "WHERE s.kind = 'page' AND r.state != 'delivered' AND r.escalated != 1"
)


def page_alerts(db: Reader, slack: SlackStandIn) -> dict[str, int]:
    """Page alerts the database says were made, and how many times each is in Slack."""
    posts = Counter(marked(m) for m in slack.messages.values() if marked(m).startswith(PAGE_ALERT))
    made = {f"{PAGE_ALERT}{page}-{first}" for page, first in db.rows(ALERTS_SQL)}
    return {
        "pages": db.rows("SELECT count(*) FROM sends WHERE kind = 'page'")[0][0],
        "made": len(made),
        "doubled": sum(posts[marker] > 1 for marker in made),
        "missing": sum(posts[marker] == 0 for marker in made),
        "stray": sum(n for marker, n in posts.items() if marker not in made),
        "unalerted": db.rows(UNALERTED_SQL)[0][0],
    }


async def replicated(kills: int, sends: int, numbers: int, pages: int, seed: int) -> int:
    rng = random.Random(seed)
    workdir = Path(tempfile.mkdtemp(prefix="smsbot-crash-replicas-"))
    cluster = pg.cluster()
    try:
        return await _run(cluster.create_database(), workdir, kills, sends, numbers, pages, rng)
    finally:
        shutil.copy(cluster.log, workdir / "postgres.log")
        cluster.stop()
        print(f"work directory (replica logs, postgres.log): {workdir}")


async def _run(
    url: str,
    workdir: Path,
    kills: int,
    sends: int,
    numbers: int,
    pages: int,
    rng: random.Random,
) -> int:
    slack = SlackStandIn(delays={"chat.postMessage": SLOW_POST})
    gateway = GatewaySimulator(SimulatorConfig(report_url=None, balance=Decimal(10**6)))
    await slack.start()
    gateway_url = await gateway.start()
    env = {
        **bot_env(slack, gateway, gateway_url),
        "DATABASE_URL": url,
        "SMS_PAGE_TIMEOUT": str(PAGE_TIMEOUT),
        "SMS_RATE_LIMIT": "1000",  # a page whose answer was lost is typed again
        "LOG_LEVEL": "INFO",
    }
    replicas = [ChildBot(env, free_port(), workdir, workdir / f"replica-{n}.log") for n in "ab"]
    span = kills * (sum(KILL_GAP) / 2 + RESTART)  # what the kills take, about
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        watch = Watch(replicas, session)
        commands = Counter[str]()

        async def command(text: str) -> None:
            """A slash command to either replica; typed again to the other until answered."""
            turn = rng.randrange(len(replicas))
            for _ in range(100):
                url = replicas[turn].url + "/slack/events"
                try:
                    status, _ = await slack.slash_command(session, url, SIGNING_SECRET, text)
                    if status == 200:
                        commands["answered"] += 1
                        return
                except (TimeoutError, aiohttp.ClientError):
                    pass
                commands["typed again"] += 1
                turn = (turn + 1) % len(replicas)
                await asyncio.sleep(0.2)
            raise RuntimeError(f"/sms {text} was never answered")

        try:
            for replica in replicas:
                await replica.start(session)
            if not await eventually_async(lambda: has_active(watch), 30):
                raise RuntimeError("no replica became active")
            for s in range(sends):
                to = ",".join(f"+234803{s:03d}{n:04d}" for n in range(numbers))
                await command(f"send {to} crash test {s}")
            await eventually(lambda: len(slack.channel_messages(DEMO_CHANNEL)) >= sends, 30)
            reports = reports_for(sent_recipients(gateway), rng)
            headers = push_headers(gateway)
            urls = [replica.url + "/sms/reports" for replica in replicas]
            answered: set[str] = set()
            queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
            for report in reports:
                queue.put_nowait(report)
            pace = 2 * span * PUSHERS / max(len(reports), 1)

            async def pusher() -> None:
                while not queue.empty():
                    report = queue.get_nowait()
                    await push_until_acknowledged(session, urls, headers, report, answered, rng)
                    await asyncio.sleep(rng.random() * pace)

            async def pager() -> None:
                for p in range(pages):
                    await asyncio.sleep(rng.uniform(0, 2 * span / max(pages, 1)))
                    to = ",".join(f"+234805{p:03d}{n:04d}" for n in range(PAGE_NUMBERS))
                    await command(f"page {to} crash page {p}")

            killer = Killer(replicas, session, watch, rng)

            done = asyncio.Event()
            watching = asyncio.create_task(watch.run(done))
            sniping = asyncio.create_task(killer.at_page_alerts(slack, done))
            started = time.monotonic()
            await asyncio.gather(
                killer.now_and_then(kills), pager(), *(pusher() for _ in range(PUSHERS))
            )
            pushing = time.monotonic() - started

            db = Reader(url=url)
            settled = await eventually(
                lambda: db.rows(EVERYTHING_DONE)[0] == (0, 0) and db.rows(UNALERTED_SQL)[0][0] == 0,
                90,
            )
            await asyncio.sleep(1)
            done.set()
            await asyncio.gather(watching, sniping)
            result = outcome(db, slack, answered)
            alerts = page_alerts(db, slack)
            db.close()
        finally:
            for replica in replicas:
                await replica.stop()
    await gateway.stop()
    await slack.stop()

    kinds = ", ".join(f"{n} {role}" for role, n in sorted(killer.killed.items()))
    starts = " + ".join(str(replica.starts) for replica in replicas)
    print(f"kills: {killer.kills} ({kinds}; replicas started {starts} times)")
    print(f"pushing took {pushing:.1f}s; caught up afterwards: {settled}")
    print(f"take-overs seen: {watch.takeovers}; both active at once: {watch.both_active} polls")
    print(f"longest without an active replica: {watch.longest_without:.1f}s")
    print(f"sends: {sends} x {numbers} recipients, reports pushed: {len(reports)}")
    ok = print_outcome(result, len(reports))
    print(
        f"pages made: {alerts['pages']} x {PAGE_NUMBERS} recipients (slash commands answered "
        f"{commands['answered']}, typed again {commands['typed again']})"
    )
    found = found_again(workdir)
    print(f"page alerts found by their marker instead of posted again (replica logs): {found}")
    print(
        f"page alerts made: {alerts['made']}, doubled: {alerts['doubled']}, missing: "
        f"{alerts['missing']}, stray: {alerts['stray']}; page recipients never alerted "
        f"about: {alerts['unalerted']}"
    )
    good_alerts = not any(alerts[k] for k in ("doubled", "missing", "stray", "unalerted"))
    return 0 if ok and good_alerts and watch.both_active == 0 and settled else 1
