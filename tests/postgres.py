"""A real PostgreSQL server (Debian's `postgresql` package) as a test harness.

One throwaway cluster per test session: `initdb` into a temporary directory, then the
`postgres` binary on a free loopback port with fsync off (a crashed test machine loses
nothing worth keeping), stopped when the session ends. Each test that asks for a
database gets a fresh one of its own, by `CREATE DATABASE`, which costs milliseconds
where a cluster costs seconds.

initdb and postgres refuse to run as root. When the tests run as root (containers, CI),
both run as the `postgres` system user the package creates, through `runuser`, in a
directory that user owns; otherwise they run as whoever runs the tests.

The binaries missing skips the tests that need them, with the reason; under CI (`CI`
set) it fails them instead, because CI must run them (`.ci/run` installs the package).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

INSTALLS = Path("/usr/lib/postgresql")
SYSTEM_USER = "postgres"
START_TIMEOUT = 30.0


def _installed_bin() -> Path | None:
    """The newest installed version's bin directory that has both binaries we run."""
    versions = sorted(
        (p for p in INSTALLS.glob("*/bin") if p.parent.name.isdigit()),
        key=lambda p: int(p.parent.name),
        reverse=True,
    )
    for bin_dir in versions:
        if all(os.access(bin_dir / name, os.X_OK) for name in ("initdb", "postgres")):
            return bin_dir
    return None


def need_postgres() -> Path:
    """The server's bin directory; skips (fails under CI) when it cannot be run here."""
    bin_dir = _installed_bin()
    reason = None
    if bin_dir is None:
        reason = (
            f"PostgreSQL is not installed (no {INSTALLS}/<version>/bin/postgres): "
            "apt-get install postgresql, as .ci/run does"
        )
    elif os.geteuid() == 0 and shutil.which("runuser") is None:
        reason = "running as root needs runuser (util-linux) to start PostgreSQL as postgres"
    elif os.geteuid() == 0 and not _system_user_exists():
        reason = f"running as root needs the {SYSTEM_USER!r} system user the package creates"
    if reason is None:
        assert bin_dir is not None
        return bin_dir
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the tests against it", pytrace=False)
    pytest.skip(reason)


def _system_user_exists() -> bool:
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    """One server process over one data directory, owned by this test session."""

    bin_dir: Path
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="smsbot-pg-")))
    port: int = 0
    _process: subprocess.Popen[bytes] | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _as_owner(self, *argv: str | Path) -> list[str]:
        """The command as the user who may run PostgreSQL: root hands it to `postgres`."""
        command = [str(arg) for arg in argv]
        if os.geteuid() == 0:
            return ["runuser", "-u", SYSTEM_USER, "--", *command]
        return command

    def start(self) -> None:
        """initdb, then the server on a free port; returns once it accepts connections."""
        if os.geteuid() == 0:
            shutil.chown(self.root, SYSTEM_USER, SYSTEM_USER)
        subprocess.run(
            self._as_owner(
                self.bin_dir / "initdb",
                "-D",
                self.data,
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
        )
        for _ in range(3):  # another process may take the free port before the server does
            self.port = _free_port()
            if self._run_server():
                return
        raise RuntimeError(f"PostgreSQL did not start; its log:\n{self._log_text()}")

    def _run_server(self) -> bool:
        """Start the server and wait for it; False when it exited (a taken port, usually)."""
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                self._as_owner(
                    self.bin_dir / "postgres",
                    "-D",
                    self.data,
                    "-k",
                    self.root,
                    "-p",
                    str(self.port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "max_connections=200",
                    "-F",
                ),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
            except psycopg.OperationalError:
                time.sleep(0.05)
                continue
            return True
        self.stop()
        raise RuntimeError(f"PostgreSQL not ready in {START_TIMEOUT} s:\n{self._log_text()}")

    def _log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else "(no log)"

    def stop(self) -> None:
        """A fast shutdown (open sessions are ended), then the directory is removed."""
        if self._process is not None and self._process.poll() is None:
            subprocess.run(
                self._as_owner(self.bin_dir / "pg_ctl", "stop", "-D", self.data, "-m", "fast"),
                capture_output=True,
                check=False,
            )
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self) -> str:
        """A fresh, empty database with a unique name; its URL."""
        name = f"t_{uuid.uuid4().hex}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by `create_database`, ending any session still on it."""
        name = url.rsplit("/", 1)[1]
        assert re.fullmatch(r"t_[0-9a-f]{32}", name), name
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """The session's server, started by the first test that needs it."""
    cluster = Cluster(need_postgres())
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> Iterator[str]:
    """A `postgresql://` URL to a fresh database of this test's own, dropped after it."""
    url = postgres_cluster.create_database()
    try:
        yield url
    finally:
        postgres_cluster.drop_database(url)
