"""Report webhook throughput, against a bare aiohttp handler measured in the same run.

    python bench/webhook.py [--seconds 5] [--connections 32]

Needs `wrk` (Debian: apt-get install wrk). Both servers run as child processes on
loopback: the baseline answers `{"code": 0}` without doing anything; the bot checks
the credentials, parses the report, commits it to SQLite (one writer thread, group
commit) and only then answers. Prints requests per second of each and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bot.gateway import secret_digest
from standins.gateway_simulator import GatewaySimulator
from standins.slack import SlackStandIn

REPO = Path(__file__).resolve().parents[1]
BASELINE = """
from aiohttp import web
async def ok(request):
    await request.read()
    return web.json_response({"code": 0, "msg": "ok"})
app = web.Application()
app.router.add_post("/sms/reports", ok)
web.run_app(app, host="127.0.0.1", port=int(__import__("sys").argv[1]), print=None,
            access_log=None)
"""
LUA = """
wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["appKey"] = "{key}"
wrk.headers["appSecret"] = "{secret}"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def ready(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def wrk(url: str, script: Path, seconds: int, connections: int) -> float:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if match is None or non2xx:
        raise RuntimeError(f"wrk run failed or got errors:\n{out}")
    return float(match.group(1))


async def main(seconds: int, connections: int) -> None:
    if shutil.which("wrk") is None:
        sys.exit("bench/webhook.py needs wrk: apt-get install wrk")
    folder = Path(tempfile.mkdtemp(prefix="smsbot-bench-"))
    slack, gateway = SlackStandIn(), GatewaySimulator()
    await slack.start()
    gateway_url = await gateway.start()
    config = gateway.config
    body = json.dumps(
        {
            "mobile": "2348031000010",
            "msgId": "240924170907169917",
            "timestamp": "20240924050907",
            "status": 0,
            "errorCode": "DELIVRD",
            "desc": "",
        }
    )
    script = folder / "post.lua"
    script.write_text(
        LUA.format(body=body, key=config.app_key, secret=secret_digest(config.app_secret))
    )
    base_port, bot_port = free_port(), free_port()
    baseline = await asyncio.create_subprocess_exec(sys.executable, "-c", BASELINE, str(base_port))
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": "bench",
        "SLACK_API_URL": slack.api_url,
        "SMS_API_URL": gateway_url,
        "SMS_APP_KEY": config.app_key,
        "SMS_APP_SECRET": config.app_secret,
        "DATABASE_PATH": str(folder / "bench.db"),
        "HOST": "127.0.0.1",
        "PORT": str(bot_port),
        "LOG_LEVEL": "ERROR",
    }
    bot = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "smsbot", "serve", env=env, cwd=folder
    )
    try:
        await ready(f"http://127.0.0.1:{base_port}/sms/reports")
        await ready(f"http://127.0.0.1:{bot_port}/healthz")
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        base_rps = await loop.run_in_executor(
            None, wrk, f"http://127.0.0.1:{base_port}/sms/reports", script, seconds, connections
        )
        bot_rps = await loop.run_in_executor(
            None, wrk, f"http://127.0.0.1:{bot_port}/sms/reports", script, seconds, connections
        )
        elapsed = time.monotonic() - started
    finally:
        for process in (baseline, bot):
            process.terminate()
            await process.wait()
        await gateway.stop()
        await slack.stop()
    stored = sqlite3.connect(folder / "bench.db").execute("SELECT count(*) FROM reports")
    print(f"wrk -t1 -c{connections} -d{seconds}s, both servers one process on loopback")
    print(f"baseline (bare aiohttp handler): {base_rps:10.0f} requests/s")
    print(f"report webhook (stored, durable): {bot_rps:10.0f} requests/s")
    print(f"ratio webhook / baseline: {bot_rps / base_rps:.2f}")
    print(f"reports stored: {stored.fetchone()[0]} (in {elapsed:.0f} s of load)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.connections))
