"""The gateway simulator over real loopback HTTP: endpoints, validation and pushed reports."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.gateway import secret_digest
from standins.gateway_simulator import GatewaySimulator, SimulatorConfig, run_simulator

DIGEST = "E99A18C428CB38D5F260853678922E03"
SEND = "/api/v1/international/sms/send"
STATUS = "/api/v1/international/sms/status"
BALANCE = "/api/v1/international/sms/balance"
FAST = {"report_delay": 0.05, "retry_delay": 0.05}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = datetime(2024, 9, 24, 17, 9, 7)) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Receiver(NamedTuple):
    """A report receiver: what it was sent, and the answers it will give in turn."""

    url: str
    received: list[tuple[dict[str, str], Any]]
    answers: list[tuple[int, str]]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """Answers `{"code": 0}` unless the test queues other (status, body) answers first."""
    received: list[tuple[dict[str, str], Any]] = []
    answers: list[tuple[int, str]] = []

    async def handler(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.json()))
        status, text = answers.pop(0) if answers else (200, '{"code": 0, "msg": "ok"}')
        return web.Response(status=status, text=text, content_type="application/json")

    app = web.Application()
    app.router.add_post("/reports", handler)
    server = TestServer(app)
    await server.start_server()
    yield Receiver(str(server.make_url("/reports")), received, answers)
    await server.close()


@pytest.fixture
async def start() -> AsyncIterator[Callable[..., Awaitable[tuple[GatewaySimulator, str]]]]:
    """Start simulators with the given config fields; all are stopped after the test."""
    running: list[GatewaySimulator] = []

    async def starter(
        clock: Callable[[], datetime] | None = None, **fields: Any
    ) -> tuple[GatewaySimulator, str]:
        sim = GatewaySimulator(SimulatorConfig(**{**FAST, **fields}), clock=clock)
        running.append(sim)
        return sim, await sim.start()

    yield starter
    for sim in running:
        await sim.stop()


async def call(
    session: aiohttp.ClientSession,
    url: str,
    path: str,
    body: Any = None,
    *,
    key: str = "10002",
    secret: str = DIGEST,
    raw: str | None = None,
) -> dict[str, Any]:
    """One request to the simulator the way a client would make it; the parsed answer."""
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/json;charset=utf-8",
        "appKey": key,
        "appSecret": secret,
    }
    method = "GET" if path == BALANCE else "POST"
    kwargs: dict[str, Any] = {"data": raw} if raw is not None else {"json": body}
    async with session.request(method, url + path, headers=headers, **kwargs) as response:
        assert response.status == 200
        return await response.json()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_pushes_one_report_per_recipient_with_the_documented_body_and_headers(
    start: Callable[..., Awaitable[tuple[GatewaySimulator, str]]],
    receiver: Receiver,
    session: aiohttp.ClientSession,
) -> None:
    sim, url = await start(report_url=receiver.url)
    mobiles = ["2348031000010", "2348031000011", "2348031000019"]

    answer = await call(session, url, SEND, {"mobile": ",".join(mobiles), "content": "hi"})
    await sim.wait_for_pushes(3, timeout=2)
    await asyncio.sleep(0.1)

    msg_id = answer["data"]["msgId"]
    reports = sorted((body for _, body in receiver.received), key=lambda r: r["mobile"])
    assert [r["mobile"] for r in reports] == mobiles
    assert {r["msgId"] for r in reports} == {msg_id}
    assert [(r["status"], r["errorCode"]) for r in reports] == [
        (0, "DELIVRD"),
        (0, "DELIVRD"),
        (2, "UNDELIV"),
    ]
    for report in reports:
        assert set(report) == {"mobile", "msgId", "timestamp", "status", "desc", "errorCode"}
        assert re.fullmatch(r"[0-9]{14}", report["timestamp"])
    for headers, _ in receiver.received:
        assert headers["appKey"] == "10002" and headers["appSecret"] == DIGEST
    assert len(sim.pushes) == 3
    assert all(p["http_status"] == 200 and p["answer"]["code"] == 0 for p in sim.pushes)


async def test_push_headers_use_the_report_credentials_when_set(
    start: Callable[..., Awaitable[tuple[GatewaySimulator, str]]],
    receiver: Receiver,
    session: aiohttp.ClientSession,
) -> None:
    sim, url = await start(
        report_url=receiver.url, report_app_key="push-key", report_app_secret="push-secret"
    )

    await call(session, url, SEND, {"mobile": "2348031000010", "content": "hi"})
    await sim.wait_for_pushes(1, timeout=2)

    [(headers, _)] = receiver.received
    assert headers["appKey"] == "push-key"
    assert headers["appSecret"] == secret_digest("push-secret")


async def test_push_is_repeated_twice_more_when_the_receiver_answers_non_zero(
    start: Callable[..., Awaitable[tuple[GatewaySimulator, str]]],
    receiver: Receiver,
    session: aiohttp.ClientSession,
) -> None:
    receiver.answers.extend([(200, '{"code": 1, "msg": "busy"}')] * 10)
    sim, url = await start(report_url=receiver.url)

    await call(session, url, SEND, {"mobile": "2348031000010", "content": "hi"})
    await sim.wait_for_pushes(3, timeout=2)
    await asyncio.sleep(0.2)

    assert len(receiver.received) == 3
    assert [p["answer"] for p in sim.pushes] == [{"code": 1, "msg": "busy"}] * 3
    assert len({repr(body) for _, body in receiver.received}) == 1


async def test_push_stops_once_the_receiver_answers_code_0(
    start: Callable[..., Awaitable[tuple[GatewaySimulator, str]]],
    receiver: Receiver,
    session: aiohttp.ClientSession,
) -> None:
    receiver.answers.extend([(500, "<html>down</html>"), (200, '{"code": false}')])
    sim, url = await start(report_url=receiver.url)

    await call(session, url, SEND, {"mobile": "2348031000010", "content": "hi"})
    await sim.wait_for_pushes(3, timeout=2)
    await asyncio.sleep(0.2)

    assert [(p["http_status"], p["answer"]) for p in sim.pushes] == [
        (500, None),
        (200, {"code": False}),
        (200, {"code": 0, "msg": "ok"}),
    ]


async def test_push_to_a_closed_port_is_attempted_three_times(
    start: Callable[..., Awaitable[tuple[GatewaySimulator, str]]],
    session: aiohttp.ClientSession,
) -> None:
    sim, url = await start(report_url=f"http://127.0.0.1:{free_port()}/reports")

    await call(session, url, SEND, {"mobile": "2348031000010", "content": "hi"})
    await sim.wait_for_pushes(3, timeout=2)
    await asyncio.sleep(0.2)

    assert [(p["http_status"], p["answer"]) for p in sim.pushes] == [(None, None)] * 3


async def test_silent_numbers_get_no_push_and_status_says_no_report_yet(
    start: Callable[..., Awaitable[tuple[GatewaySimulator, str]]],
    receiver: Receiver,
    session: aiohttp.ClientSession,
) -> None:
    clock = Clock()
    sim, url = await start(clock, report_url=receiver.url, silent_suffixes=("7",))

    answer = await call(
        session, url, SEND, {"mobile": "2348031000010,2348031000017", "content": "hi"}
    )
    msg_id = answer["data"]["msgId"]
    await sim.wait_for_pushes(1, timeout=2)
    await asyncio.sleep(0.2)
    clock.now += timedelta(minutes=5)
    status = await call(
        session,
        url,
        STATUS,
        {"data": [{"msgId": msg_id, "mobile": m} for m in ("2348031000010", "2348031000017")]},
    )

    assert [body["mobile"] for _, body in receiver.received] == ["2348031000010"]
    assert [(e["mobile"], e["status"]) for e in status["data"]] == [
        ("2348031000010", 0),
        ("2348031000017", 1),
    ]


async def test_status_says_no_report_yet_until_the_report_time_has_passed(
    start: Callable[..., Awaitable[tuple[GatewaySimulator, str]]],
    session: aiohttp.ClientSession,
) -> None:
    clock = Clock()
    _, url = await start(clock, report_delay=30)
    answer = await call(session, url, SEND, {"mobile": "2348031000019", "content": "hi"})
    query = {"data": [{"msgId": answer["data"]["msgId"], "mobile": "2348031000019"}]}

    before = await call(session, url, STATUS, query)
    clock.now += timedelta(seconds=31)
    after = await call(session, url, STATUS, query)

    assert before["data"][0]["status"] == 1
    assert after == {
        "code": 0,
        "msg": "ok",
        "data": [
            {
                "mobile": "2348031000019",
                "msgId": answer["data"]["msgId"],
                "timestamp": "20240924170937",
                "status": 2,
                "desc": "",
                "errorCode": "UNDELIV",
            }
        ],
    }


async def test_status_leaves_out_unknown_pairs_and_sends_older_than_30_days(
    start: Callable[..., Awaitable[tuple[GatewaySimulator, str]]],
    session: aiohttp.ClientSession,
) -> None:
    clock = Clock()
    _, url = await start(clock)
    old = await call(session, url, SEND, {"mobile": "2348031000010", "content": "hi"})
    clock.now += timedelta(days=31)
    new = await call(session, url, SEND, {"mobile": "2348031000010", "content": "hi"})
    clock.now += timedelta(minutes=1)

    status = await call(
        session,
        url,
        STATUS,
        {
            "data": [
                {"msgId": old["data"]["msgId"], "mobile": "2348031000010"},
                {"msgId": new["data"]["msgId"], "mobile": "2348031000010"},
                {"msgId": new["data"]["msgId"], "mobile": "2348031000099"},
                {"msgId": "999", "mobile": "2348031000010"},
            ]
        },
    )

    assert [e["msgId"] for e in status["data"]] == [new["data"]["msgId"]]


async def test_msg_ids_are_unique_digit_strings_starting_with_the_send_time(
    start: Callable[..., Awaitable[tuple[GatewaySimulator, str]]],
    session: aiohttp.ClientSession,
) -> None:
    sim, url = await start(Clock())

    ids = [
        (await call(session, url, SEND, {"mobile": "2348031000010", "content": "hi"}))["data"][
            "msgId"
        ]
        for _ in range(20)
    ]

    assert all(isinstance(i, str) and re.fullmatch(r"240924170907[0-9]{6}", i) for i in ids)
    assert len(set(ids)) == 20
    assert [s["msgId"] for s in sim.sent] == ids


@pytest.mark.parametrize(
    ("key", "secret", "code"),
    [
        ("wrong", "wrong", 1002),
        ("10002", "wrong", 1003),
        ("10002", DIGEST.lower(), 1003),
        ("10002", "abc123", 1003),
    ],
)
@pytest.mark.parametrize("path", [SEND, BALANCE, STATUS])
async def test_credentials_are_checked_key_first_then_the_secret_digest(
    start: Callable[..., Awaitable[tuple[GatewaySimulator, str]]],
    session: aiohttp.ClientSession,
    key: str,
    secret: str,
    code: int,
    path: str,
) -> None:
    sim, url = await start()

    answer = await call(
        session, url, path, {"mobile": "2348031000010", "content": "hi"}, key=key, secret=secret
    )

    assert answer["code"] == code and "data" not in answer
    assert sim.sent == []


@pytest.mark.parametrize(
    ("body", "raw", "code", "named"),
    [
        (None, "{not json", 1001, None),
        (None, "[]", 1001, None),
        ({"content": "hi"}, None, 1001, None),
        ({"mobile": "2348031000010"}, None, 1001, None),
        ({"mobile": ",".join(["2348031000010"] * 1001), "content": "hi"}, None, 1001, None),
        ({"mobile": "2348031000010,12345", "content": "hi"}, None, 1007, "12345"),
        ({"mobile": "+2348031000010", "content": "hi"}, None, 1007, "+2348031000010"),
        ({"mobile": "1234567890123456", "content": "hi"}, None, 1007, "1234567890123456"),
        ({"mobile": "2348031000010", "content": "hi", "sendTime": "2024-09-24"}, None, 1011, None),
        (
            {"mobile": "2348031000010", "content": "hi", "sendTime": "20241332100212"},
            None,
            1011,
            None,
        ),
    ],
)
async def test_send_validation_answers_the_documented_codes(
    start: Callable[..., Awaitable[tuple[GatewaySimulator, str]]],
    session: aiohttp.ClientSession,
    body: Any,
    raw: str | None,
    code: int,
    named: str | None,
) -> None:
    sim, url = await start()

    answer = await call(session, url, SEND, body, raw=raw)

    assert answer["code"] == code and "data" not in answer
    if named is not None:
        assert named in answer["msg"]
    assert sim.sent == [] and sim.balance == Decimal("100.00")


async def test_status_query_of_more_than_500_entries_is_a_parameter_error(
    start: Callable[..., Awaitable[tuple[GatewaySimulator, str]]],
    session: aiohttp.ClientSession,
) -> None:
    _, url = await start()

    answer = await call(
        session, url, STATUS, {"data": [{"msgId": "1", "mobile": "2348031000010"}] * 501}
    )

    assert answer["code"] == 1001


async def test_each_number_is_charged_and_insufficient_balance_charges_nothing(
    start: Callable[..., Awaitable[tuple[GatewaySimulator, str]]],
    session: aiohttp.ClientSession,
) -> None:
    sim, url = await start(balance=Decimal("1.00"), price=Decimal("0.30"))

    ok = await call(session, url, SEND, {"mobile": "2348031000010,2348031000011", "content": "x"})
    refused = await call(
        session, url, SEND, {"mobile": "2348031000010,2348031000011", "content": "x"}
    )
    balance = await call(session, url, BALANCE)

    assert ok["code"] == 0 and refused["code"] == 1009
    assert sim.balance == Decimal("0.40")
    assert balance == {
        "code": 0,
        "msg": "ok",
        "data": {"balance": 0.4, "currencyName": "人民币", "currencyCode": "CNY"},
    }


async def test_scheduled_send_pushes_after_its_time_only_when_within_a_minute(
    start: Callable[..., Awaitable[tuple[GatewaySimulator, str]]],
    receiver: Receiver,
    session: aiohttp.ClientSession,
) -> None:
    clock = Clock(datetime(2024, 9, 24, 17, 9, 7, 800_000))
    sim, url = await start(clock, report_url=receiver.url)

    await call(
        session,
        url,
        SEND,
        {"mobile": "2348031000010", "content": "soon", "sendTime": "20240924170908"},
    )
    await call(
        session,
        url,
        SEND,
        {"mobile": "2348031000011", "content": "later", "sendTime": "20240924180000"},
    )
    await asyncio.sleep(0.1)
    assert receiver.received == []
    await sim.wait_for_pushes(1, timeout=2)
    await asyncio.sleep(0.2)

    assert [body["mobile"] for _, body in receiver.received] == ["2348031000010"]
    assert receiver.received[0][1]["timestamp"] == "20240924170908"


async def test_stop_drops_pending_pushes(
    receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    sim = GatewaySimulator(SimulatorConfig(report_url=receiver.url, report_delay=30))
    url = await sim.start()
    await call(session, url, SEND, {"mobile": "2348031000010", "content": "hi"})

    await asyncio.wait_for(sim.stop(), timeout=2)

    assert sim.pushes == [] and receiver.received == []


async def test_the_app_can_be_served_by_another_runner(
    receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    sim = GatewaySimulator(SimulatorConfig(report_url=receiver.url, **FAST))
    server = TestServer(sim.app)
    await server.start_server()
    try:
        url = str(server.make_url("")).rstrip("/")
        await call(session, url, SEND, {"mobile": "2348031000010", "content": "hi"})
        await sim.wait_for_pushes(1, timeout=2)
    finally:
        await server.close()

    assert len(receiver.received) == 1


async def test_run_simulator_serves_until_cancelled(session: aiohttp.ClientSession) -> None:
    port = free_port()
    task = asyncio.create_task(run_simulator(SimulatorConfig(), "127.0.0.1", port))
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            with contextlib.suppress(aiohttp.ClientConnectorError):
                answer = await call(session, url, BALANCE)
                break
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    assert answer["code"] == 0
    with pytest.raises(aiohttp.ClientConnectorError):
        await call(session, url, BALANCE)
