"""Alert route throughput with durable answers, beside the report webhook's in the same run.

    python bench/alerts.py [--seconds 5] [--connections 32]

Needs `wrk` (Debian: apt-get install wrk). The bot runs as `python -m smsbot serve`, as in
production (every 200 only after its commit, SQLite with `synchronous = FULL`, the alert
worker acting on what comes in), pinned to one core; wrk and this script (the gateway
simulator and the Slack stand-in) to the other (bench/common.py says why). First the
report webhook takes state-changing DELIVRD reports for a seeded database, as in
bench/webhook.py, for scale; then wrk posts a real Alertmanager notification
(tests/data/alertmanager/repeat.json: one group repeating, as a noisy rule makes it) to
`POST /alerts/{token}`. Prints requests per second and p99 of each, and checks that every
alert answered 200 is in the database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from common import (  # bench/common.py, beside this script
    LOAD_CORE,
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

from bot.alerts.tokens import new_token, token_hash
from bot.gateway import secret_digest
from standins.gateway_simulator import GatewaySimulator
from standins.local import DEMO_CHANNEL
from standins.slack import SlackStandIn
from standins.slack_requests import TEAM_ID
from storage.alerts import Integrations
from storage.store import Store

ALERT = REPO / "tests" / "data" / "alertmanager" / "repeat.json"
SENDS, PER_SEND = 2000, 100
ALERT_LUA = """
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
"""


async def add_integration(database: Path) -> str:
    """An integration in the demo channel, written before the bot starts; its token."""
    store = Store(database, lambda: datetime.now(UTC))
    await store.open()
    try:
        token = new_token()
        await Integrations(store, store.clock).add(
            TEAM_ID, "bench", DEMO_CHANNEL, "+2348031000010", token_hash(token), "U0ALICE"
        )
        return token
    finally:
        await store.close()


def answered(database: Path) -> tuple[int, int]:
    """(notices stored, notices the alert worker has acted on)."""
    with sqlite3.connect(database) as db:
        stored = db.execute("SELECT count(*) FROM alert_notices").fetchone()[0]
        done = db.execute("SELECT count(*) FROM alert_notices WHERE done = 1").fetchone()[0]
    return int(stored), int(done)


async def main(seconds: int, connections: int) -> None:
    need_wrk()
    pin_self(LOAD_CORE)
    folder = Path(tempfile.mkdtemp(prefix="smsbot-bench-"))
    database = folder / "bench.db"
    recipients = seed(database, SENDS, PER_SEND)
    token = await add_integration(database)
    slack, gateway = SlackStandIn(), GatewaySimulator()
    await slack.start()
    gateway_url = await gateway.start()
    key, secret = gateway.config.app_key, gateway.config.app_secret
    reports = lua(folder, recipients, PER_SEND, key, secret_digest(secret))
    alerts = folder / "alert.lua"
    alerts.write_text(ALERT_LUA.format(body=json.dumps(json.loads(ALERT.read_text()))))
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": "bench",
        "SLACK_API_URL": slack.api_url,
        "SMS_API_URL": gateway_url,
        "SMS_APP_KEY": key,
        "SMS_APP_SECRET": secret,
        "DATABASE_PATH": str(database),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "ERROR",
        "SMS_POLL_AFTER": "86400",
    }
    bot = await asyncio.create_subprocess_exec(
        *pin(SERVER_CORE), sys.executable, "-m", "smsbot", "serve", env=env, cwd=folder
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await ready(url + "/healthz")
        loop = asyncio.get_running_loop()
        # reports first: after the alerts' run the worker still works off their backlog
        report = await loop.run_in_executor(
            None, wrk, url + "/sms/reports", reports, seconds, connections
        )
        alert = await loop.run_in_executor(
            None, wrk, f"{url}/alerts/{token}", alerts, seconds, connections
        )
        stored, done = answered(database)
        at_least = int(alert["rps"] * seconds)  # wrk's rate is over at least `seconds`
    finally:
        bot.terminate()
        await bot.wait()
        await gateway.stop()
        await slack.stop()
    print(
        f"wrk -t1 -c{connections} -d{seconds}s pinned to core {LOAD_CORE}; the bot pinned to "
        f"core {SERVER_CORE}; {recipients} accepted recipients seeded"
    )
    for name, figures in (
        ("report webhook (stored, durable)", report),
        ("POST /alerts/{token} (stored, durable)", alert),
    ):
        print(f"{name:40} {figures['rps']:8.0f} requests/s, p99 {figures['p99_ms']:.1f} ms")
    print(f"ratio alerts / reports: {alert['rps'] / report['rps']:.2f}")
    print(f"alerts stored: {stored}, answered 200: at least {at_least}; the worker acted on {done}")
    if stored < at_least:
        sys.exit("an alert answered 200 is missing from the database")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.connections))
