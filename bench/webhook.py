"""Report webhook throughput, against a bare aiohttp handler measured in the same run.

    python bench/webhook.py [--seconds 5] [--connections 32] [--rounds 7] [--loop asyncio]

Needs `wrk` (Debian: apt-get install wrk). Both servers run as child processes pinned to
the same core, wrk pinned to the other (bench/common.py says why). The baseline checks the
two credential headers, parses the JSON and answers `{"code": 0}`; the bot checks the
credentials, parses the report, commits its body to the inbox in SQLite (one writer
thread, group commit, `synchronous = FULL`) and only then answers; its applier moves the
recipient and logs the report just after, and is waited for between rounds. Each request
is a DELIVRD report for the next known (msgId, mobile) of a seeded database, so each one
changes a recipient's state. Prints requests per second, p99, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path

from common import (  # bench/common.py, beside this script
    REPO,
    SERVER_CORE,
    drain,
    free_port,
    lua,
    need_wrk,
    pending,
    pin,
    pin_self,
    ready,
    seed,
    wrk,
)

from bot.gateway import secret_digest
from standins.gateway_simulator import GatewaySimulator
from standins.slack import SlackStandIn

SENDS, PER_SEND = 2000, 100
# `smsbot serve` on asyncio's own loop instead of uvloop, to see what uvloop earns
ON_ASYNCIO = (
    "import asyncio, sys, server.serving as serving; "
    "serving.new_event_loop = asyncio.new_event_loop; "
    "from smsbot.cli import main; sys.exit(main(['serve']))"
)

BASELINE = """
import json, sys
from aiohttp import web
KEY, DIGEST = sys.argv[2], sys.argv[3]
async def ok(request):
    if request.headers.get("appKey") != KEY or request.headers.get("appSecret") != DIGEST:
        return web.json_response({"code": 1002, "msg": "wrong"}, status=401)
    json.loads(await request.read())
    return web.json_response({"code": 0, "msg": "ok"})
app = web.Application()
app.router.add_post("/sms/reports", ok)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def bot_env(folder: Path, port: int, slack: SlackStandIn, gateway_url: str, key: str, secret: str):
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": "bench",
        "SLACK_API_URL": slack.api_url,
        "SMS_API_URL": gateway_url,
        "SMS_APP_KEY": key,
        "SMS_APP_SECRET": secret,
        "DATABASE_PATH": str(folder / "bench.db"),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "ERROR",
        "SMS_POLL_AFTER": "86400",
    }


async def main(seconds: int, connections: int, rounds: int, event_loop: str) -> None:
    need_wrk()
    pin_self(0)
    folder = Path(tempfile.mkdtemp(prefix="smsbot-bench-"))
    recipients = seed(folder / "bench.db", SENDS, PER_SEND)
    slack, gateway = SlackStandIn(), GatewaySimulator()
    await slack.start()
    gateway_url = await gateway.start()
    key, secret = gateway.config.app_key, gateway.config.app_secret
    base_port, bot_port = free_port(), free_port()
    baseline = await asyncio.create_subprocess_exec(
        *[
            *pin(SERVER_CORE),
            sys.executable,
            "-c",
            BASELINE,
            str(base_port),
            key,
            secret_digest(secret),
        ]
    )
    serve = ["-m", "smsbot", "serve"] if event_loop == "uvloop" else ["-c", ON_ASYNCIO]
    bot = await asyncio.create_subprocess_exec(
        *pin(SERVER_CORE),
        sys.executable,
        *serve,
        env=bot_env(folder, bot_port, slack, gateway_url, key, secret),
        cwd=folder,
    )
    base_url = f"http://127.0.0.1:{base_port}/sms/reports"
    bot_url = f"http://127.0.0.1:{bot_port}"
    bases: list[dict[str, float]] = []
    ours: list[dict[str, float]] = []
    left: list[float] = []
    drains: list[float] = []
    try:
        await ready(base_url)
        await ready(f"{bot_url}/healthz")
        loop = asyncio.get_running_loop()
        posted = 0
        for _ in range(rounds):  # interleaved, so a noisy moment hits both sides alike
            script = lua(folder, recipients, PER_SEND, key, secret_digest(secret), posted)
            bases.append(
                await loop.run_in_executor(None, wrk, base_url, script, seconds, connections)
            )
            ours.append(
                await loop.run_in_executor(
                    None, wrk, f"{bot_url}/sms/reports", script, seconds, connections
                )
            )
            posted += int(ours[-1]["requests"])
            # The bot catches up before the next round, or it would take the baseline's core.
            left.append(await pending(f"{bot_url}/metrics"))
            drains.append(await drain(f"{bot_url}/metrics"))
    finally:
        for process in (baseline, bot):
            process.terminate()
            await process.wait()
        await gateway.stop()
        await slack.stop()
    db = sqlite3.connect(folder / "bench.db")
    stored = db.execute("SELECT count(*) FROM reports").fetchone()[0]
    delivered = db.execute("SELECT n FROM state_counts WHERE state = 'delivered'").fetchone()
    print(
        f"wrk -t1 -c{connections} -d{seconds}s pinned to core 0, {rounds} rounds each side "
        f"interleaved; both servers pinned to core {SERVER_CORE}; {recipients} accepted "
        "recipients seeded"
    )
    for name, runs in (
        ("baseline (headers + JSON)", bases),
        (f"report webhook (durable, {event_loop})", ours),
    ):
        rps = " ".join(f"{run['rps']:.0f}" for run in runs)
        p99 = " ".join(f"{run['p99_ms']:.1f}" for run in runs)
        print(f"{name:34} {median(runs, 'rps'):8.0f} requests/s median ({rps}); p99 ms {p99}")
    # each round's pair ran back to back, so its ratio is the one a slow minute cannot skew
    ratios = [mine["rps"] / base["rps"] for mine, base in zip(ours, bases, strict=True)]
    each = " ".join(f"{ratio:.2f}" for ratio in ratios)
    print(f"ratio webhook / baseline: {statistics.median(ratios):.2f} (median of rounds: {each})")
    behind = (f"{n:.0f} (applied in {s:.1f} s)" for n, s in zip(left, drains, strict=True))
    print(f"reports left to apply when each round stopped: {', '.join(behind)}")
    overall = posted / (rounds * seconds + sum(drains))
    print(f"all {posted} answered and applied: {overall:.0f} reports/s, catching up included")
    print(f"reports logged: {stored}; recipients now delivered: {delivered[0] if delivered else 0}")


def median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.connections, args.rounds, args.loop))
