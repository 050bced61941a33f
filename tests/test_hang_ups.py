"""A sender that hangs up halfway through its body is no error of ours: nothing is stored,
nothing is logged at ERROR, and the next request is served as usual."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

import pytest

from standins.local import LocalSystem
from tests.alert_integrations import add_integration


async def hang_up_halfway(system: LocalSystem, path: str, headers: dict[str, str]) -> None:
    where = urlsplit(system.url)
    _, writer = await asyncio.open_connection(where.hostname, where.port)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: 5000\r\n{head}\r\n".encode()
        + b'{"status": "firing", "key": '
    )
    await writer.drain()
    await asyncio.sleep(0.1)
    writer.transport.abort()  # a reset, as a client that gives up sends
    await asyncio.sleep(0.3)


@pytest.mark.parametrize("route", ["alerts", "reports"])
async def test_a_sender_hanging_up_mid_body_is_not_an_error(
    system: LocalSystem, caplog: pytest.LogCaptureFixture, route: str
):
    if route == "alerts":
        token = await add_integration(system)
        path, headers = f"/alerts/{token}", {}
    else:
        path, headers = urlsplit(system.report_url).path, system.report_headers()
    caplog.set_level(logging.DEBUG)
    await hang_up_halfway(system, path, headers)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    assert system.session is not None
    async with system.session.get(system.url + "/healthz") as response:
        assert response.status == 200
