"""What `smsbot serve` says in its log: one line at start, one at stop, and nothing else.

Run as an operator runs it (a subprocess, SLACK_BOT_TOKEN in the process environment) against
the Slack stand-in and the gateway simulator, then stopped with SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from standins.local import LocalSystem, wait_until_serving
from standins.slack import APP_TOKEN
from tests.cli import REPO, free_port
from tests.conftest import SystemFactory
from tests.stored import database_env, on_postgres

DELIVERS = "+2348031000010"


async def served(
    stand_ins: LocalSystem, tmp_path: Path, until: str, **env: str
) -> tuple[int, list[str]]:
    """Run `smsbot serve` until `until` is logged and health answers, then SIGTERM it."""
    port = free_port()
    bot = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "smsbot",
        "serve",
        cwd=tmp_path,
        env={
            **stand_ins.environment(),
            **database_env(tmp_path / "served.db"),
            "PORT": str(port),
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(REPO),
            **env,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert bot.stdout and stand_ins.session
    lines: list[str] = []
    async with asyncio.timeout(20):
        while not any(until in line for line in lines):
            line = (await bot.stdout.readline()).decode()
            assert line, f"smsbot serve ended early: {lines}"
            lines.append(line.rstrip("\n"))
    url = f"http://127.0.0.1:{port}"
    await wait_until_serving(stand_ins.session, url, timeout=10)
    for _ in range(3):
        async with stand_ins.session.get(url + "/healthz") as response:
            assert response.status == 200
    bot.send_signal(signal.SIGTERM)
    out, _ = await asyncio.wait_for(bot.communicate(), timeout=30)
    lines += out.decode().splitlines()
    assert bot.returncode is not None
    return bot.returncode, lines


def messages(lines: list[str]) -> list[str]:
    """Each log line without its timestamp: `LEVEL logger message`."""
    return [" ".join(line.split()[2:]) for line in lines if line.strip()]


@pytest.mark.parametrize(
    ("mode", "env", "until"),
    [
        ("HTTP mode", {}, "smsbot "),
        ("Socket Mode", {"SLACK_APP_TOKEN": APP_TOKEN}, "Socket Mode connected"),
    ],
)
async def test_serve_logs_one_line_at_start_and_one_at_stop_and_no_noise(
    make_system: SystemFactory, tmp_path: Path, mode: str, env: dict[str, str], until: str
):
    stand_ins = await make_system()
    code, lines = await served(stand_ins, tmp_path, until, **env)
    assert code == 0, lines
    said = messages(lines)
    start = [m for m in said if m.startswith("INFO server.serving smsbot ") and " serving: " in m]
    assert len(start) == 1, said
    assert f"{mode}," in start[0]
    assert "listening on http://127.0.0.1:" in start[0]
    assert "event loop uvloop," in start[0], "serve runs on uvloop where it is installed"
    assert "reports at POST /sms/reports" in start[0]
    assert "alerts at http://127.0.0.1:" in start[0] and "/alerts/…" in start[0]
    database = database_env(tmp_path / "served.db")
    if on_postgres(database):  # host, port and name; never the URL, which may hold a password
        url = urlsplit(database["DATABASE_URL"])
        assert f"database PostgreSQL {url.hostname}:{url.port}{url.path}," in start[0]
    else:
        assert f"database {tmp_path / 'served.db'}," in start[0]
    assert "guardrails:" in start[0]
    assert [m for m in said if m.startswith("INFO server.serving smsbot stopped")], said
    noise = [
        m
        for m in said
        if "will be unused" in m
        or "Unclosed" in m
        or "Traceback" in m
        or "aiohttp.access" in m
        or "Running on" in m
        or m.startswith(("WARNING", "ERROR"))
    ]
    assert noise == []


async def test_access_logging_is_on_when_asked_for(make_system: SystemFactory, tmp_path: Path):
    stand_ins = await make_system()
    code, lines = await served(stand_ins, tmp_path, "smsbot ", ACCESS_LOG="true")
    assert code == 0, lines
    assert any("aiohttp.access" in m and "GET /healthz" in m for m in messages(lines))
