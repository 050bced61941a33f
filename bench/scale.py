"""Flat with size: the bot on a database of a few thousand rows against one of a million.

    python bench/scale.py [--rows 1000000] [--seconds 2] [--idle 20] [--rounds 3]

Builds both databases through the project's own schema (bench/common.py `seed`: history
ten days old, half delivered, the rest failed, pending and unknown, with its report log;
every tenth send a posted page), then for each runs `smsbot serve` pinned to one core and
measures, in this order: start-up (spawn to /healthz 200), CPU used by the idle bot
(its background loops: poller, expiry, escalation, notifier) over `--idle` seconds, read
from /proc so the figure is the bot's own, RSS, `/metrics` latency, then state-changing
DELIVRD reports with wrk pinned to the other core (rps and p99), RSS again, and the rate
at which those reports were answered and applied (the applier's catch-up included). Needs
wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from common import (  # bench/common.py, beside this script
    SERVER_CORE,
    drain,
    free_port,
    lua,
    need_wrk,
    pin,
    pin_self,
    seed,
    wrk,
)
from webhook import bot_env

from bot.gateway import secret_digest
from standins.gateway_simulator import GatewaySimulator
from standins.slack import SlackStandIn

PER_SEND = 100
TARGET_SENDS = 300  # 30,000 accepted recipients: every report of 3 rounds changes one
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime, all threads


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure(folder: Path, rows: int, args: argparse.Namespace) -> dict[str, float]:
    slack, gateway = SlackStandIn(), GatewaySimulator()
    await slack.start()
    gateway_url = await gateway.start()
    key, secret = gateway.config.app_key, gateway.config.app_secret
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = bot_env(folder, port, slack, gateway_url, key, secret)
    env["SMS_POLL_AFTER"] = "300"  # the default: history is polled as it would be
    started = time.monotonic()
    bot = await asyncio.create_subprocess_exec(
        *pin(SERVER_CORE), sys.executable, "-m", "smsbot", "serve", env=env, cwd=folder
    )
    figures: dict[str, float] = {"rows": rows}
    try:
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(url + "/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.02)
            figures["start_s"] = time.monotonic() - started
            await asyncio.sleep(3)
            before = cpu_seconds(bot.pid)
            await asyncio.sleep(args.idle)
            figures["idle_cpu_pct"] = 100 * (cpu_seconds(bot.pid) - before) / args.idle
            figures["rss_idle_mb"] = rss_mb(bot.pid)
            latencies = []
            for _ in range(50):
                asked = time.perf_counter()
                async with session.get(url + "/metrics") as response:
                    await response.read()
                latencies.append((time.perf_counter() - asked) * 1000)
            figures["metrics_median_ms"] = statistics.median(latencies)
            figures["metrics_max_ms"] = max(latencies)
        loads, applied, posted = [], [], 0
        for _ in range(args.rounds):  # fresh pairs each round: every report changes a state
            script = lua(
                folder, TARGET_SENDS * PER_SEND, PER_SEND, key, secret_digest(secret), posted
            )
            load = await asyncio.get_running_loop().run_in_executor(
                None, wrk, url + "/sms/reports", script, args.seconds, args.connections
            )
            posted += int(load["requests"])
            loads.append(load)
            # answered is not yet applied: the applier's catch-up counts too
            applied.append(load["requests"] / (args.seconds + await drain(url + "/metrics")))
        figures["reports_rps"] = statistics.median(load["rps"] for load in loads)
        figures["reports_p99_ms"] = statistics.median(load["p99_ms"] for load in loads)
        figures["applied_rps"] = statistics.median(applied)
        figures["rss_loaded_mb"] = rss_mb(bot.pid)
    finally:
        bot.terminate()
        await bot.wait()
        await gateway.stop()
        await slack.stop()
    return figures


async def main(args: argparse.Namespace) -> None:
    need_wrk()
    pin_self(0)
    results = []
    for label, history in (("small", 30), ("large", args.rows // PER_SEND - TARGET_SENDS)):
        folder = Path(tempfile.mkdtemp(prefix=f"smsbot-scale-{label}-", dir=args.dir))
        built = time.monotonic()
        rows = seed(folder / "bench.db", TARGET_SENDS, PER_SEND, history=history)
        print(f"{label}: {rows} recipient rows built in {time.monotonic() - built:.0f} s")
        results.append(await measure(folder, rows, args))
    small, large = results
    print(
        f"\nbot pinned to core {SERVER_CORE}; wrk -t1 -c{args.connections} -d{args.seconds}s, "
        f"median of {args.rounds} rounds"
    )
    print(f"{'':24}{'small':>12}{'large':>12}  target at a million rows")
    targets = {
        "rows": "",
        "start_s": "< 5 s",
        "idle_cpu_pct": "< 2 % of one core",
        "rss_idle_mb": "< 150 MB",
        "metrics_median_ms": "< 5 ms",
        "metrics_max_ms": "",
        "reports_rps": ">= 90 % of small",
        "reports_p99_ms": "< 30 ms",
        "applied_rps": ">= 90 % of small (answered and applied, catch-up included)",
        "rss_loaded_mb": "< 150 MB",
    }
    for name, target in targets.items():
        print(f"{name:24}{small[name]:12.1f}{large[name]:12.1f}  {target}")
    print(f"reports large / small: {large['reports_rps'] / small['reports_rps']:.2f}")
    print(f"applied large / small: {large['applied_rps'] / small['applied_rps']:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=2)
    parser.add_argument("--idle", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="report loads, median taken")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--dir", default=None, help="where to build the databases (default /tmp)")
    asyncio.run(main(parser.parse_args()))
