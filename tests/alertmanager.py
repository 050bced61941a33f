"""The real Alertmanager (Debian's prometheus-alertmanager) as a test harness.

Tests start its binary on loopback with a config of their own, one route to one
`webhook_configs` receiver at a URL the test gives, and post alerts to its API v2 as
Prometheus does. What it then sends is what smsbot gets from a real Alertmanager.

    python -m tests.alertmanager   # re-record tests/data/alertmanager/*.json

The binary missing skips the tests that need it, with the reason; under CI (`CI` set) it
fails them instead, because CI must run them (`.ci/run` installs the package).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self

import aiohttp
import pytest
from aiohttp import web

BINARY = Path("/usr/bin/prometheus-alertmanager")
DATA = Path(__file__).resolve().parent / "data" / "alertmanager"
GENERATOR_URL = "http://prometheus.example.com:9090/graph?g0.expr=disk_free_ratio+%3C+0.05"
# The timings the tests use: Alertmanager accepts sub-second ones; only zero is refused.
GROUP_WAIT, GROUP_INTERVAL, REPEAT_INTERVAL = 0.2, 1.0, 2.0
Labels = dict[str, str]


def need_alertmanager() -> Path:
    """The binary; skips the test (fails it under CI) when the package is not installed."""
    if os.access(BINARY, os.X_OK):
        return BINARY
    reason = (
        f"the real Alertmanager is not installed ({BINARY} is missing): "
        "apt-get install prometheus-alertmanager, as .ci/run does"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the tests against it", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def config(webhook_url: str, group_by: Sequence[str] = ("alertname",)) -> str:
    """Alertmanager's config: every alert to one webhook receiver, on the tests' timings."""
    route = {
        "receiver": "smsbot",
        "group_by": list(group_by),
        "group_wait": f"{int(GROUP_WAIT * 1000)}ms",
        "group_interval": f"{int(GROUP_INTERVAL * 1000)}ms",
        "repeat_interval": f"{int(REPEAT_INTERVAL * 1000)}ms",
    }
    receiver = {"name": "smsbot", "webhook_configs": [{"url": webhook_url, "send_resolved": True}]}
    # JSON is YAML: no YAML library needed to write it
    return json.dumps({"route": route, "receivers": [receiver]}, indent=2)


@dataclass
class Alertmanager:
    """One Alertmanager process of the test's own, stopped when the `async with` ends.

    `async with Alertmanager(webhook_url, tmp_path / "alertmanager") as manager:` skips the
    test (fails it under CI) when the binary is missing.
    """

    webhook_url: str
    folder: Path
    group_by: Sequence[str] = ("alertname",)
    url: str = ""
    _process: asyncio.subprocess.Process | None = None
    _session: aiohttp.ClientSession | None = None
    _fired: dict[tuple[tuple[str, str], ...], dict[str, Any]] = field(default_factory=dict)

    async def __aenter__(self) -> Self:
        binary = need_alertmanager()
        self.folder.mkdir(parents=True, exist_ok=True)
        config_file = self.folder / "alertmanager.yml"
        config_file.write_text(config(self.webhook_url, self.group_by))
        self._session = aiohttp.ClientSession()
        for _attempt in range(3):  # the free port can be taken before the binary binds it
            port = _free_port()
            self.url = f"http://127.0.0.1:{port}"
            log = (self.folder / "alertmanager.log").open("ab")
            self._process = await asyncio.create_subprocess_exec(
                str(binary),
                f"--config.file={config_file}",
                f"--storage.path={self.folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                f"--web.external-url={self.url}",
                "--cluster.listen-address=",
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
            log.close()
            if await self._ready():
                return self
            await self.stop()
        await self._session.close()
        tail = (self.folder / "alertmanager.log").read_text()[-2000:]
        raise RuntimeError(f"Alertmanager did not get ready; its log ends:\n{tail}")

    async def _ready(self, timeout: float = 15.0) -> bool:  # noqa: ASYNC109
        assert self._session is not None and self._process is not None
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline and self._process.returncode is None:
            try:
                async with self._session.get(self.url + "/-/ready") as response:
                    if response.status == 200:
                        return True
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
        return False

    async def stop(self) -> None:
        """Terminate, then kill if it has not gone within five seconds."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
        if self._session is not None:
            await self._session.close()

    async def post(self, alerts: list[dict[str, Any]]) -> None:
        """POST /api/v2/alerts, as Prometheus does; an error answer fails the test."""
        assert self._session is not None
        async with self._session.post(self.url + "/api/v2/alerts", json=alerts) as response:
            if response.status != 200:
                raise AssertionError(
                    f"Alertmanager answered {response.status}: {await response.text()}"
                )

    async def notifications(self, *, failed: bool = False) -> int:
        """Webhook notifications it has attempted so far (or those that failed), from /metrics."""
        assert self._session is not None
        name = "alertmanager_notifications_" + ("failed_total" if failed else "total")
        prefix = name + '{integration="webhook"} '
        async with self._session.get(self.url + "/metrics") as response:
            lines = (await response.text()).splitlines()
        return sum(int(float(line[len(prefix) :])) for line in lines if line.startswith(prefix))

    async def fire(self, *many: Labels, annotations: dict[str, str] | None = None) -> None:
        """Alerts with these label sets start firing (ending an hour from now, unless resent)."""
        now = datetime.now(UTC)
        alerts = []
        for labels in many:
            alert = {
                "labels": labels,
                "annotations": annotations or {},
                "startsAt": _when(now - timedelta(minutes=1)),
                "endsAt": _when(now + timedelta(hours=1)),
                "generatorURL": GENERATOR_URL,
            }
            self._fired[tuple(sorted(labels.items()))] = alert
            alerts.append(alert)
        await self.post(alerts)

    async def resolve(self, *many: Labels) -> None:
        """The same alerts again with `endsAt` in the past: resolved, in one post."""
        ended = _when(datetime.now(UTC) - timedelta(seconds=1))
        alerts = [
            {**self._fired[tuple(sorted(labels.items()))], "endsAt": ended} for labels in many
        ]
        await self.post(alerts)


@dataclass
class Recorder:
    """A webhook receiver that keeps every body Alertmanager posts to it."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/hook", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        return web.Response(text="ok")

    async def wait_for(
        self,
        wanted: Callable[[dict[str, Any]], bool] = lambda body: True,
        *,
        after: int = 0,
        timeout: float = 15.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """The first body past the first `after` that is `wanted`, once it has come."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for body in self.bodies[after:]:
                if wanted(body):
                    return body
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"not among the {len(self.bodies)} notifications in {timeout}s")
            await asyncio.sleep(0.05)


DISK_DB1: Labels = {"alertname": "DiskFull", "severity": "critical", "instance": "db1:9100"}
DISK_DB2: Labels = {**DISK_DB1, "instance": "db2:9100"}
DISK_NOTES = {
    "summary": "Disk almost full on the database hosts",
    "description": "/var has less than 5% space left; writes fail when it is full.",
    "runbook_url": "https://runbooks.example.com/disk-full",
}


@asynccontextmanager
async def recorded_story(folder: Path) -> AsyncIterator[dict[str, dict[str, Any]]]:
    """Fire, wait for a repeat, add an alert to the group, resolve: the four bodies, by name."""
    async with Recorder() as recorder, Alertmanager(recorder.url, folder) as manager:
        await manager.fire(DISK_DB1, annotations=DISK_NOTES)
        firing = await recorder.wait_for()
        repeat = await recorder.wait_for(after=1)
        await manager.fire(DISK_DB2, annotations=DISK_NOTES)
        added = await recorder.wait_for(lambda body: len(body["alerts"]) == 2, after=2)
        await manager.resolve(DISK_DB1, DISK_DB2)
        resolved = await recorder.wait_for(lambda body: body["status"] == "resolved", after=3)
        yield {"firing": firing, "repeat": repeat, "added": added, "resolved": resolved}


async def _record() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        async with recorded_story(Path(folder)) as bodies:
            for name, body in bodies.items():
                path = DATA / f"{name}.json"
                path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
                print(f"wrote {path}")


if __name__ == "__main__":
    asyncio.run(_record())
