"""What both modes of bench/crash.py share: the reports pushed, the pushes, and the checks
made at the end against the database and the Slack stand-in."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

from bot.gateway import secret_digest
from sms import phones
from standins.child import serve_env
from standins.gateway_simulator import GatewaySimulator
from standins.slack import ChannelMessage, SlackStandIn

REPO = Path(__file__).resolve().parents[1]
# What is left to do: reports answered but not applied, channel updates not made.
TRACKED = "smsbot-send-"  # a tracked message's marker (bot/notifier/tracked.py)
EVERYTHING_DONE = "SELECT (SELECT count(*) FROM inbox), (SELECT count(*) FROM outbox)"


def bot_env(slack: SlackStandIn, gateway: GatewaySimulator, gateway_url: str) -> dict[str, str]:
    """The environment of `smsbot serve` in both modes; the caller adds the database."""
    return {
        **serve_env(slack, gateway, gateway_url),
        "SMS_POLL_AFTER": "86400",
        "SMS_CONFIRM_ABOVE": "1000000",  # the send path is measured, not its Send button
        "LOG_LEVEL": "ERROR",
    }


class Reader:
    """The database as the checks read it: SQLite read-only, or PostgreSQL through psycopg.
    The queries are written once, with `?` placeholders and `"desc"` quoted."""

    def __init__(self, *, path: Path | None = None, url: str | None = None) -> None:
        self.sqlite = sqlite3.connect(f"file:{path}?mode=ro", uri=True) if path else None
        self.pg = psycopg.connect(url, autocommit=True) if url else None

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self.sqlite is not None:
            return self.sqlite.execute(sql, list(params)).fetchall()
        assert self.pg is not None
        return self.pg.execute(sql.replace("?", "%s"), list(params)).fetchall()

    def close(self) -> None:
        if self.sqlite is not None:
            self.sqlite.close()
        if self.pg is not None:
            self.pg.close()


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


async def push_until_acknowledged(
    session: aiohttp.ClientSession,
    urls: Sequence[str],
    headers: dict[str, str],
    report: dict[str, object],
    answered: set[str],
    rng: random.Random,
) -> None:
    """Push one report like the gateway, but without giving up: the figure is what was acked.
    With several bots it starts at a random one and a failed push goes to the next, as
    behind a load balancer."""
    turn = rng.randrange(len(urls)) if len(urls) > 1 else 0
    for _ in range(2000):
        try:
            async with session.post(urls[turn], json=report, headers=headers) as response:
                answer = await response.json(content_type=None)
                if response.status == 200 and answer.get("code") == 0:
                    answered.add(str(report["desc"]))
                    return
        except (TimeoutError, aiohttp.ClientError, ValueError):
            pass
        turn = (turn + 1) % len(urls)
        await asyncio.sleep(0.05)
    raise RuntimeError(f"report {report['desc']} was never acknowledged")


@dataclass
class Outcome:
    """The end figures every mode prints."""

    answered: int
    stored: int
    lost: int
    missing: int
    doubled: int
    unsaid: int
    tracked_twice: int  # sends whose tracked message is in Slack more than once


def marked(message: ChannelMessage) -> str:
    """A post's marker: its first block's block_id (bot/notifier/once.py), or ""."""
    return str(message.blocks[0].get("block_id", "")) if message.blocks else ""


def expected_counts(db: Reader) -> dict[tuple[str, str], str]:
    """What each tracked message must say, from the database."""
    expected = {}
    for send_id, channel, ts in db.rows("SELECT id, message_channel, message_ts FROM sends"):
        states = Counter(
            row[0] for row in db.rows("SELECT state FROM recipients WHERE send_id = ?", [send_id])
        )
        pending = sum(
            n for state, n in states.items() if state not in ("delivered", "failed", "unknown")
        )
        expected[(channel, ts)] = (
            f"{states['delivered']} delivered, {states['failed']} failed, {pending} pending"
        )
    return expected


def outcome(db: Reader, slack: SlackStandIn, answered: set[str]) -> Outcome:
    """Reports lost, channel updates missing and failure replies doubled or not made."""
    stored = {row[0] for row in db.rows("""SELECT "desc" FROM reports WHERE source = 'push'""")}
    missing = 0
    for (channel, ts), words in expected_counts(db).items():
        message = slack.messages.get((channel, ts))
        if message is None or not message.text.endswith(words):
            missing += 1
    doubled = unsaid = 0
    for channel, ts, mobile in db.rows(
        "SELECT s.message_channel, s.message_ts, r.mobile FROM recipients r "
        "JOIN sends s ON s.id = r.send_id WHERE r.state = 'failed'"
    ):
        named = sum(m.text.count(phones.mask(mobile)) for m in slack.thread(channel, ts))
        doubled += named > 1
        unsaid += named == 0
    tracked = Counter(marked(m) for m in slack.messages.values() if marked(m).startswith(TRACKED))
    return Outcome(
        tracked_twice=sum(n > 1 for n in tracked.values()),
        answered=len(answered),
        stored=len(answered & stored),
        lost=len(answered - stored),
        missing=missing,
        doubled=doubled,
        unsaid=unsaid,
    )


def print_outcome(result: Outcome, pushed: int) -> bool:
    """Print the shared figures; whether they meet the targets."""
    print(f"reports answered 0: {result.answered}")
    print(f"reports stored: {result.stored}")
    print(f"acknowledged reports lost: {result.lost}")
    print(f"channel updates missing: {result.missing}")
    print(f"tracked messages posted twice: {result.tracked_twice}")
    print(
        f"failure thread replies doubled: {result.doubled}, not made: {result.unsaid} "
        "(at most once)"
    )
    return not (result.lost or result.missing or result.doubled) and result.answered == pushed


def sent_recipients(gateway: GatewaySimulator) -> list[tuple[str, str]]:
    """(msgId, mobile) of every number the gateway accepted: what reports are made for."""
    return [
        (body["msgId"], mobile)
        for body in gateway.sent
        for mobile in str(body["mobile"]).split(",")
    ]


def push_headers(gateway: GatewaySimulator) -> dict[str, str]:
    """The credentials the gateway puts on each pushed report."""
    return {
        "appKey": gateway.config.app_key,
        "appSecret": secret_digest(gateway.config.app_secret),
    }
