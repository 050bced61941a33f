"""Running the `smsbot` command as a subprocess, as a person or a cron job would."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.stored import with_database_url

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A loopback port nothing listens on right now, for a server the test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def problems(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


async def smsbot(
    cwd: Path, *args: str, env: dict[str, str] | None = None, limit: float = 20
) -> Run:
    """Run `python -m smsbot ARGS` in `cwd` with a minimal environment plus `env`.

    The minimal environment (PATH, HOME and the repository on PYTHONPATH) keeps the
    developer's own settings and `.env` out of the test. Under tests/on_postgres.py a
    DATABASE_PATH in `env` comes with its DATABASE_URL, as the app in-process gets it.
    """
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
        "PYTHONPATH": str(REPO),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "smsbot",
        *args,
        cwd=cwd,
        env={**base, **with_database_url(env or {}, cwd)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(limit):
            out, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())
