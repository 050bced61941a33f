"""Terminal output into pipes and files: `| head` ends quietly, a missing directory is said."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from standins.gateway_simulator import GatewaySimulator, SimulatorConfig
from tests.cli import REPO, smsbot
from tests.stored import with_database_url

NUMBERS = ",".join(f"+234803100{n:04d}" for n in range(600))
TEXT = "Maintenance tonight from 22:00 to 23:00 UTC; the API answers 503 meanwhile. " * 3


@pytest.fixture
async def gateway_env(tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    sim = GatewaySimulator(SimulatorConfig(report_delay=0))
    url = await sim.start()
    try:
        yield {
            "SMS_API_URL": url,
            "SMS_APP_KEY": "10002",
            "SMS_APP_SECRET": "abc123",
            "DATABASE_PATH": str(tmp_path / "bot.db"),
        }
    finally:
        await sim.stop()


async def piped_into_head(cwd: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """`python -m smsbot ARGS | head -n 1` in bash: smsbot's own exit status, head's line."""
    command = f'set -o pipefail; "{sys.executable}" -m smsbot "$@" | head -n 1'
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        command,
        "bash",
        *args,
        cwd=cwd,
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(cwd),
            "PYTHONPATH": str(REPO),
            **with_database_url(env, cwd),
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize(("fmt", "first"), [("csv", "created,"), ("json", "[")])
async def test_audit_into_head_ends_quietly(
    tmp_path: Path, gateway_env: dict[str, str], fmt: str, first: str
):
    sent = await smsbot(tmp_path, "send", NUMBERS, "-m", TEXT, env=gateway_env)
    assert sent.code == 0, sent.stderr
    code, out, err = await piped_into_head(
        tmp_path, gateway_env, "audit", "--since", "1d", "--format", fmt
    )
    assert out.startswith(first)
    assert err == ""
    assert code == 0


@pytest.mark.sqlite_only("a DATABASE_PATH in a missing directory; PostgreSQL has no file")
async def test_a_database_in_a_directory_that_does_not_exist_is_said(
    tmp_path: Path, gateway_env: dict[str, str]
):
    missing = tmp_path / "no" / "such" / "dir" / "bot.db"
    env = {**gateway_env, "DATABASE_PATH": str(missing)}
    for args in (("audit", "--since", "1d"), ("send", "+2348031000010", "-m", "hi")):
        run = await smsbot(tmp_path, *args, env=env)
        assert run.code in (1, 2), run
        assert "Traceback" not in run.stderr
        assert f"{missing.parent} does not exist" in run.stderr, run.stderr
    assert not (tmp_path / "no").exists()
