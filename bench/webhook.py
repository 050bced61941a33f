"""Report webhook throughput, against a bare aiohttp handler measured in the same run.

    python bench/webhook.py [--seconds 5] [--connections 32]

Needs `wrk` (Debian: apt-get install wrk). Both servers run as child processes pinned to
the same core, wrk pinned to the other (bench/common.py says why). The baseline checks the
two credential headers, parses the JSON and answers `{"code": 0}`; the bot checks the
credentials, parses the report, applies it to its recipient and logs it in SQLite (one
writer thread, group commit, `synchronous = FULL`) and only then answers. Each request is
a DELIVRD report for the next known (msgId, mobile) of a seeded database, so each one
changes a recipient's state. Prints requests per second, p99, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

from common import (  # bench/common.py, beside this script
    REPO,
    SERVER_CORE,
    free_port,
    lua,
    need_wrk,
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


async def main(seconds: int, connections: int) -> None:
    need_wrk()
    pin_self(0)
    folder = Path(tempfile.mkdtemp(prefix="smsbot-bench-"))
    recipients = seed(folder / "bench.db", SENDS, PER_SEND)
    slack, gateway = SlackStandIn(), GatewaySimulator()
    await slack.start()
    gateway_url = await gateway.start()
    key, secret = gateway.config.app_key, gateway.config.app_secret
    script = lua(folder, recipients, PER_SEND, key, secret_digest(secret))
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
    bot = await asyncio.create_subprocess_exec(
        *pin(SERVER_CORE),
        sys.executable,
        "-m",
        "smsbot",
        "serve",
        env=bot_env(folder, bot_port, slack, gateway_url, key, secret),
        cwd=folder,
    )
    try:
        await ready(f"http://127.0.0.1:{base_port}/sms/reports")
        await ready(f"http://127.0.0.1:{bot_port}/healthz")
        loop = asyncio.get_running_loop()
        base = await loop.run_in_executor(
            None, wrk, f"http://127.0.0.1:{base_port}/sms/reports", script, seconds, connections
        )
        ours = await loop.run_in_executor(
            None, wrk, f"http://127.0.0.1:{bot_port}/sms/reports", script, seconds, connections
        )
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
        f"wrk -t1 -c{connections} -d{seconds}s pinned to core 0; both servers pinned to core "
        f"{SERVER_CORE}; {recipients} accepted recipients seeded"
    )
    for name, figures in (
        ("baseline (headers + JSON)", base),
        ("report webhook (stored, durable)", ours),
    ):
        print(f"{name:34} {figures['rps']:8.0f} requests/s, p99 {figures['p99_ms']:.1f} ms")
    print(f"ratio webhook / baseline: {ours['rps'] / base['rps']:.2f}")
    print(f"reports stored: {stored}; recipients now delivered: {delivered[0] if delivered else 0}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.connections))
