"""Alert route throughput with durable answers, beside the report webhook's in the same run.

    python bench/alerts.py [--seconds 5] [--connections 32]

Needs `wrk` (Debian: apt-get install wrk). The bot runs as `python -m smsbot serve` in a
child process pinned to one core (`taskset`), as it runs in production: every 200 only
after its commit, SQLite with `synchronous = FULL`, the alert worker acting on what comes
in. wrk runs on the other core, with this process (the gateway simulator and the Slack
stand-in the bot talks to). wrk posts a real Alertmanager notification
(tests/data/alertmanager/repeat.json: one group repeating, as a noisy rule makes it) to
`POST /alerts/{token}`, after a delivery report to the report webhook for scale. Prints
requests per second of each, and checks that every answered alert is in the database.
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
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bot.alerts.tokens import new_token, token_hash
from bot.gateway import secret_digest
from standins.gateway_simulator import GatewaySimulator
from standins.local import DEMO_CHANNEL
from standins.slack import SlackStandIn
from standins.slack_requests import TEAM_ID
from storage.alerts import Integrations
from storage.store import Store

REPO = Path(__file__).resolve().parents[1]
ALERT = REPO / "tests" / "data" / "alertmanager" / "repeat.json"
LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{headers}
"""
REPORT = {
    "mobile": "2348031000010",
    "msgId": "240924170907169917",
    "timestamp": "20240924050907",
    "status": 0,
    "errorCode": "DELIVRD",
    "desc": "",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def lua(path: Path, body: str, headers: dict[str, str]) -> Path:
    """A wrk script posting `body`; Lua's long brackets keep the JSON as it is."""
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    path.write_text(LUA.format(body=f"[==[{body}]==]", headers=lines))
    return path


def cores() -> tuple[str, str] | None:
    """(bot core, load core), or None when this machine has fewer than two."""
    mine = sorted(os.sched_getaffinity(0))
    if len(mine) < 2 or shutil.which("taskset") is None:
        return None
    return str(mine[0]), str(mine[1])


def wrk(
    url: str, script: Path, seconds: int, connections: int, core: str | None
) -> tuple[float, int]:
    """(requests per second, requests answered); any non-2xx answer is an error."""
    pin = ["taskset", "-c", core] if core else []
    command = [*pin, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    answered = re.search(r"(\d+) requests in", out)
    if rate is None or answered is None or "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk run failed or got errors:\n{out}")
    return float(rate.group(1)), int(answered.group(1))


async def ready(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


async def add_integration(database: Path) -> str:
    """An integration in the demo channel, written before the bot starts; its token."""
    store = Store(database, lambda: datetime.now(UTC))
    await store.open()
    try:
        token = new_token()
        integrations = Integrations(store, store.clock)
        await integrations.add(
            TEAM_ID, "bench", DEMO_CHANNEL, "+2348031000010", token_hash(token), "U0ALICE"
        )
        return token
    finally:
        await store.close()


async def main(seconds: int, connections: int) -> None:
    if shutil.which("wrk") is None:
        sys.exit("bench/alerts.py needs wrk: apt-get install wrk")
    pinned = cores()
    if pinned:
        os.sched_setaffinity(0, {int(pinned[1])})  # the stand-ins share the load's core
    folder = Path(tempfile.mkdtemp(prefix="smsbot-bench-"))
    database = folder / "bench.db"
    token = await add_integration(database)
    slack, gateway = SlackStandIn(), GatewaySimulator()
    await slack.start()
    gateway_url = await gateway.start()
    config = gateway.config
    alert_body = json.dumps(json.loads(ALERT.read_text()), ensure_ascii=False)
    alert_script = lua(folder / "alert.lua", alert_body, {})
    report_script = lua(
        folder / "report.lua",
        json.dumps(REPORT),
        {"appKey": config.app_key, "appSecret": secret_digest(config.app_secret)},
    )
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": "bench",
        "SLACK_API_URL": slack.api_url,
        "SMS_API_URL": gateway_url,
        "SMS_APP_KEY": config.app_key,
        "SMS_APP_SECRET": config.app_secret,
        "DATABASE_PATH": str(database),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "ERROR",
    }
    pin = ["taskset", "-c", pinned[0]] if pinned else []
    bot = await asyncio.create_subprocess_exec(
        *pin, sys.executable, "-m", "smsbot", "serve", env=env, cwd=folder
    )
    url = f"http://127.0.0.1:{port}"
    load = pinned[1] if pinned else None
    try:
        await ready(url + "/healthz")
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        # reports first: the alert worker works off its backlog after the alerts' run
        report_rps, _ = await loop.run_in_executor(
            None, wrk, url + "/sms/reports", report_script, seconds, connections, load
        )
        alert_rps, answered = await loop.run_in_executor(
            None, wrk, f"{url}/alerts/{token}", alert_script, seconds, connections, load
        )
        elapsed = time.monotonic() - started
    finally:
        bot.terminate()
        await bot.wait()
        await gateway.stop()
        await slack.stop()
    with sqlite3.connect(database) as db:
        stored = db.execute("SELECT count(*) FROM alert_notices").fetchone()[0]
        done = db.execute("SELECT count(*) FROM alert_notices WHERE done = 1").fetchone()[0]
    where = f"bot on core {pinned[0]}, wrk on core {pinned[1]}" if pinned else "unpinned"
    print(f"wrk -t1 -c{connections} -d{seconds}s on loopback, {where}")
    print(f"POST /alerts/{{token}} (stored, durable): {alert_rps:10.0f} alerts/s")
    print(f"report webhook (stored, durable):       {report_rps:10.0f} requests/s")
    print(f"ratio alerts / reports: {alert_rps / report_rps:.2f}")
    print(f"alerts answered 200: {answered}, stored: {stored}, acted on by the worker: {done}")
    print(f"({elapsed:.0f} s of load)")
    if stored < answered:
        sys.exit("an answered alert is missing from the database")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.connections))
