"""What the benches share: ports, pinning to a core, wrk, and a database seeded through the
project's own schema with sends and recipients the reports can change.

Pinning: on two cores, a server sharing its core with the load generator is starved in a
way the other side is not, and the ratio lies. The servers compared run on SERVER_CORE and
wrk (and this script, with the stand-ins) on LOAD_CORE.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from sqlite_utils import Database

from storage.schema import migrations

REPO = Path(__file__).resolve().parents[1]
SERVER_CORE, LOAD_CORE = 1, 0
# msgIds are MSG_PREFIX and 8 digits: wrk's Lua numbers are doubles, too short for 18 digits
MSG_PREFIX = "2611250000"
FIRST_MSG_ID = int(MSG_PREFIX + "00000000")
MOBILE_BASE = 2348030000000

# Each request posts the next (msgId, mobile) pair, so every report changes a recipient's
# state (DELIVRD for an `accepted` recipient) until the pairs run out and wrap around. `i`
# is set before this part; it steps by `stride` (wrk threads sharing the pairs take turns).
REQUEST_LUA = """
local per_send = {per_send}
local pairs = {pairs}
request = function()
  local n = i % pairs
  i = i + {stride}
  local body = string.format(
    '{{"mobile":"%d","msgId":"{msg_prefix}%08d","timestamp":"20261125050907","status":0,' ..
    '"errorCode":"DELIVRD","desc":""}}',
    {mobile_base} + (n % per_send), math.floor(n / per_send))
  return wrk.format("POST", nil, {{["Content-Type"] = "application/json",
    ["appKey"] = "{key}", ["appSecret"] = "{secret}"}}, body)
end
"""
LUA = "\nlocal i = {start}" + REQUEST_LUA


async def eventually(condition: Callable[[], object], seconds: float) -> bool:
    """Wait until `condition()` holds or `seconds` pass; whether it held."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pin(core: int) -> list[str]:
    """The taskset prefix that runs a command on one core (nothing if there is no taskset)."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(core)]
    return []


def pin_self(core: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {core})


def need_wrk() -> None:
    if shutil.which("wrk") is None:
        sys.exit(f"{sys.argv[0]} needs wrk: apt-get install wrk")


def lua(
    folder: Path, pairs: int, per_send: int, key: str, secret_digest: str, start: int = 0
) -> Path:
    """A wrk script posting DELIVRD reports for the seeded pairs, from pair `start` on."""
    script = folder / f"reports-{start}.lua"
    script.write_text(
        LUA.format(
            start=start,
            stride=1,
            per_send=per_send,
            pairs=pairs,
            mobile_base=MOBILE_BASE,
            msg_prefix=MSG_PREFIX,
            key=key,
            secret=secret_digest,
        )
    )
    return script


def wrk(
    url: str, script: Path, seconds: int, connections: int, threads: int = 1
) -> dict[str, float]:
    """Requests per second, p99 latency (ms) and requests made, from wrk pinned to LOAD_CORE."""
    out = subprocess.run(
        [
            *pin(LOAD_CORE),
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    made = re.search(r"(\d+) requests in", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    if (
        rps is None
        or p99 is None
        or made is None
        or re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    ):
        raise RuntimeError(f"wrk run failed or got errors:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return {
        "rps": float(rps.group(1)),
        "p99_ms": float(p99.group(1)) * scale,
        "requests": float(made.group(1)),
    }


# A history recipient's state by its position: half delivered, the rest failed, pending
# (asked about again tomorrow) and unknown.
HISTORY_STATES = ("delivered", "failed", "delivered", "pending", "delivered", "unknown")


def seed(path: Path, sends: int, per_send: int, *, history: int = 0) -> int:
    """A database built through the project's migrations: `sends` sends of `per_send`
    `accepted` recipients (what the reports change), after `history` older sends of
    `per_send` recipients each, ten days old, in HISTORY_STATES with a report log; every
    tenth of those is a page, posted, its undelivered recipients already escalated.
    Returns how many recipient rows there are."""
    db = Database(path)
    migrations.apply(db)
    now = datetime.now(UTC)
    stamp = now.isoformat(timespec="milliseconds")
    old = (now - timedelta(days=10)).isoformat(timespec="milliseconds")
    tomorrow = (now + timedelta(days=1)).isoformat(timespec="milliseconds")
    db.conn.execute("PRAGMA journal_mode = WAL")
    with db.conn:
        db.conn.executemany(
            "INSERT INTO sends (id, team_id, user_id, channel_id, kind, content, created, "
            "goes_out, phase, message_channel, message_ts) "
            "VALUES (?, 'T', 'U', '', ?, 'bench', ?, ?, 'done', ?, ?)",
            [
                (n + 1, "page", old, old, "C0BENCH", f"{n}.000100")
                if n < history and n % 10 == 0
                else (
                    n + 1,
                    "send",
                    old if n < history else stamp,
                    old if n < history else stamp,
                    None,
                    None,
                )
                for n in range(history + sends)
            ],
        )
        for n in range(history + sends):
            msg_id = str(FIRST_MSG_ID - history + n)
            mobiles = [str(MOBILE_BASE + m) for m in range(per_send)]
            if n >= history:
                db.conn.executemany(
                    "INSERT INTO recipients (send_id, msg_id, mobile, state, updated) "
                    "VALUES (?, ?, ?, 'accepted', ?)",
                    [(n + 1, msg_id, mobile, stamp) for mobile in mobiles],
                )
                continue
            states = [HISTORY_STATES[(n + m) % len(HISTORY_STATES)] for m in range(per_send)]
            db.conn.executemany(
                "INSERT INTO recipients (send_id, msg_id, mobile, state, updated, next_poll, "
                "escalated) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        n + 1,
                        msg_id,
                        mobile,
                        state,
                        old,
                        tomorrow if state == "pending" else None,
                        int(n % 10 == 0 and state != "delivered"),
                    )
                    for mobile, state in zip(mobiles, states, strict=True)
                ],
            )
            db.conn.executemany(
                "INSERT INTO reports (received_at, source, msg_id, mobile, status, "
                "error_code, outcome) VALUES (?, 'push', ?, ?, ?, ?, 'applied')",
                [
                    (
                        old,
                        msg_id,
                        mobile,
                        0 if state == "delivered" else 2,
                        "DELIVRD" if state == "delivered" else "UNDELIV",
                    )
                    for mobile, state in zip(mobiles, states, strict=True)
                    if state in ("delivered", "failed")
                ],
            )
    count = db.execute("SELECT count(*) FROM recipients").fetchone()[0]
    db.close()
    return int(count)


async def ready(url: str, seconds: float = 30) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(int(seconds / 0.05)):
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


async def pending(url: str) -> float:
    """`smsbot_reports_pending` at `url` (a bot's /metrics): reports answered and not applied
    yet (with replicas, the shared inbox's)."""
    async with aiohttp.ClientSession() as session, session.get(url) as reply:
        found = re.search(r"^smsbot_reports_pending ([\d.e+]+)$", await reply.text(), re.M)
    assert found, "no smsbot_reports_pending in /metrics"
    return float(found[1])


async def drain(url: str) -> float:
    """Seconds until the bot at `url` (its /metrics) has applied every report it answered."""
    started = time.monotonic()
    while await pending(url) > 0:
        if time.monotonic() - started > 120:
            raise RuntimeError("reports still pending 120 s after the load stopped")
        await asyncio.sleep(0.05)
    return time.monotonic() - started
