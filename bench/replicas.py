"""Report webhook throughput on three back ends in one run: one SQLite process, one
PostgreSQL replica, two PostgreSQL replicas behind one load generator.

    python bench/replicas.py [--seconds 5] [--connections 32] [--rounds 4]

Needs `wrk` and PostgreSQL's server binaries (Debian: apt-get install wrk postgresql).
The same request as bench/webhook.py: each is a DELIVRD report for the next seeded
(msgId, mobile), so each one changes a recipient's state, answered only once durable.

All three back ends start first and stay up for the whole run. After a warm-up of
WARM_UP seconds on each (not counted: its first connections, its pools filling up), the
rounds are interleaved: each runs the three one after another, starting with a different
one each round, and after each run the bot's applier is waited for, so the next run has
the core to itself. Each back end's rate and p99 are divided by the SQLite bot's of the
same round; the ratio printed is the median of those.

Pinning, on two cores: every server-side process runs on SERVER_CORE (1): the bots and
PostgreSQL with all its backends. SQLite does its database work inside the bot's process,
on that core; giving PostgreSQL the other core would hand the PostgreSQL setups a second
core for free, so the server side gets one core in all three. wrk and this script (with
the Slack and gateway stand-ins, idle here) run on LOAD_CORE (0). PostgreSQL runs with
fsync on, as in production (the tests' cluster turns it off), and the default
`synchronous_commit = on`, against SQLite's `synchronous = FULL`.

wrk runs with two threads in every case, each thread holding its own connections to one
address (Lua `setup` sets `thread.addr`): both to the one server, or one thread per
replica for two replicas, which splits the load evenly like a round-robin balancer while
wrk itself stays the same. Each thread posts every second pair, so none is posted twice.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import tempfile
from pathlib import Path

import pg  # bench/pg.py
import psycopg
from backends import PER_SEND, SENDS, THREADS, Backend
from common import (  # bench/common.py, beside this script
    LOAD_CORE,
    REPO,
    SERVER_CORE,
    drain,
    free_port,
    need_wrk,
    pin_self,
    seed,
    wrk,
)

from bot.gateway import secret_digest
from standins.gateway_simulator import GatewaySimulator
from standins.slack import SlackStandIn

WARM_UP = 1  # seconds of load on each back end before the rounds: first connections, pools
BACKENDS = ("SQLite, one process", "PostgreSQL, one replica", "PostgreSQL, two replicas")


def env_for(base: dict[str, str], port: int, database: dict[str, str]) -> dict[str, str]:
    return {**base, **database, "HOST": "127.0.0.1", "PORT": str(port)}


async def main(seconds: int, connections: int, rounds: int) -> None:
    need_wrk()
    pin_self(LOAD_CORE)
    folder = Path(tempfile.mkdtemp(prefix="smsbot-replicas-"))
    server = pg.cluster(durable=True, core=SERVER_CORE)
    durability = pg.show(server.url(), "fsync", "synchronous_commit")
    slack, gateway = SlackStandIn(), GatewaySimulator()
    await slack.start()
    gateway_url = await gateway.start()
    key, secret = gateway.config.app_key, gateway.config.app_secret
    base = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": "bench",
        "SLACK_API_URL": slack.api_url,
        "SMS_API_URL": gateway_url,
        "SMS_APP_KEY": key,
        "SMS_APP_SECRET": secret,
        "LOG_LEVEL": "ERROR",
        "SMS_POLL_AFTER": "86400",
    }
    sqlite_rows = seed(folder / "bench.db", SENDS, PER_SEND)
    one_url, two_url = server.create_database(), server.create_database()
    one_rows, two_rows = (seed_pg(url) for url in (one_url, two_url))
    backends = [
        Backend(
            BACKENDS[0],
            [env_for(base, free_port(), {"DATABASE_PATH": str(folder / "bench.db")})],
            folder,
            sqlite_rows,
        ),
        Backend(
            BACKENDS[1], [env_for(base, free_port(), {"DATABASE_URL": one_url})], folder, one_rows
        ),
        Backend(
            BACKENDS[2],
            [env_for(base, free_port(), {"DATABASE_URL": two_url}) for _ in range(2)],
            folder,
            two_rows,
        ),
    ]
    loop = asyncio.get_running_loop()
    digest = secret_digest(secret)
    try:
        for backend in backends:
            await backend.start()
        for r in range(-1, rounds):  # round -1 warms up (pools fill up), and is not counted
            for backend in backends[r % 3 :] + backends[: r % 3]:
                script = backend.script(key, digest)
                run = await loop.run_in_executor(
                    None,
                    wrk,
                    backend.url + "/sms/reports",
                    script,
                    seconds if r >= 0 else WARM_UP,
                    connections,
                    THREADS,
                )
                backend.posted += int(run["requests"])
                took = await drain(backend.url + "/metrics")
                if r >= 0:
                    backend.runs.append(run)
                    backend.drains.append(took)
        for backend, database in zip(backends, (None, one_url, two_url), strict=True):
            backend.logged, backend.rollbacks = logged(folder / "bench.db", database)
    finally:
        for backend in backends:
            await backend.stop()
        await gateway.stop()
        await slack.stop()
        server.stop()
    report(backends, seconds, connections, rounds, durability)


def logged(path: Path, url: str | None) -> tuple[int, int | None]:
    """Reports in the log (every answered one, once applied) and, on PostgreSQL, the
    transactions rolled back: mostly serialization failures PgStore ran again."""
    query = "SELECT count(*) FROM reports"
    if url is None:
        with sqlite3.connect(path) as db:
            return int(db.execute(query).fetchone()[0]), None
    with psycopg.connect(url) as conn:
        count = conn.execute(query).fetchone()
        rolled = conn.execute(
            "SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return (int(count[0]) if count else 0), (int(rolled[0]) if rolled else None)


def seed_pg(url: str) -> int:
    return pg.seed_postgres(url, SENDS, PER_SEND)


def report(
    backends: list[Backend], seconds: int, connections: int, rounds: int, durability: str
) -> None:
    print(
        f"wrk -t{THREADS} -c{connections} -d{seconds}s pinned to core {LOAD_CORE}; bots and "
        f"PostgreSQL ({durability}) pinned to core {SERVER_CORE}; {rounds} rounds, interleaved"
    )
    sqlite = backends[0]
    for backend in backends:
        runs = backend.runs
        rps = " ".join(f"{run['rps']:.0f}" for run in runs)
        p99 = " ".join(f"{run['p99_ms']:.1f}" for run in runs)
        print(
            f"{backend.name:26} {statistics.median(r['rps'] for r in runs):7.0f} req/s median "
            f"({rps}); p99 ms median {statistics.median(r['p99_ms'] for r in runs):.1f} ({p99}); "
            f"applied in {statistics.median(backend.drains):.1f} s median after a round; "
            f"{backend.posted} answered (wrk's count), {backend.logged} logged"
            + ("" if backend.rollbacks is None else f", {backend.rollbacks} rolled back")
        )
    for backend in backends[1:]:
        rates = [
            mine["rps"] / base["rps"] for mine, base in zip(backend.runs, sqlite.runs, strict=True)
        ]
        p99s = [
            mine["p99_ms"] / base["p99_ms"]
            for mine, base in zip(backend.runs, sqlite.runs, strict=True)
        ]
        print(
            f"{backend.name} / SQLite: req/s {statistics.median(rates):.2f} "
            f"({' '.join(f'{x:.2f}' for x in rates)}), p99 {statistics.median(p99s):.2f} "
            f"({' '.join(f'{x:.2f}' for x in p99s)})"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.connections, args.rounds))
