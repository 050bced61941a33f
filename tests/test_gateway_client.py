"""GatewayClient over real loopback HTTP, against the simulator and small stand-in gateways."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.gateway import (
    GatewayClient,
    GatewayProtocolError,
    GatewayRejected,
    GatewayTimeout,
    GatewayUncertain,
    GatewayUnreachable,
    describe,
    secret_digest,
)
from standins.gateway_simulator import GatewaySimulator, SimulatorConfig

SECRET = "abc123"
DIGEST = "E99A18C428CB38D5F260853678922E03"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2024, 9, 24, 17, 9, 7)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


class Running(NamedTuple):
    sim: GatewaySimulator
    url: str


@pytest.fixture
async def gateway() -> AsyncIterator[Running]:
    sim = GatewaySimulator(SimulatorConfig(balance=Decimal("1000.00"), report_delay=0.05))
    yield Running(sim, await sim.start())
    await sim.stop()


@pytest.fixture
async def stand_in() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Start a one-handler gateway stand-in answering every path; returns its base URL."""
    servers: list[TestServer] = []

    async def start(handler: Handler) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        server = TestServer(app)
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield start
    for server in servers:
        await server.close()


def client_for(
    url: str,
    session: aiohttp.ClientSession,
    secret: str = SECRET,
    timeout: float = 2.0,
    hook: Callable[[str, str], None] | None = None,
) -> GatewayClient:
    return GatewayClient(url, "10002", secret, session, timeout=timeout, metrics_hook=hook)


def answering(body: Any, status: int = 200, raw: str | None = None) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        text = raw if raw is not None else json.dumps(body)
        return web.Response(status=status, text=text, content_type="application/json")

    return handler


def numbers(count: int, start: int = 2348031000000) -> list[str]:
    return [str(start + i) for i in range(count)]


def test_secret_digest_is_uppercase_md5() -> None:
    assert secret_digest("abc123") == DIGEST


def test_describe_known_code_is_a_sentence_with_the_code() -> None:
    assert describe(1009, "AmountNotEnough") == "Insufficient balance (gateway code 1009)"
    assert describe(1009, None) == "Insufficient balance (gateway code 1009)"


def test_describe_known_code_keeps_an_informative_gateway_message() -> None:
    text = describe(1007, "Illegal cell phone: 12345")
    assert text.startswith("The gateway rejected a mobile number (gateway code 1007)")
    assert "Illegal cell phone: 12345" in text


def test_describe_unknown_code_quotes_the_gateway_message() -> None:
    assert describe(4242, "whatever msg") == 'Gateway error "whatever msg" (gateway code 4242)'


async def test_send_to_two_numbers_returns_one_batch_with_a_string_msg_id(
    gateway: Running, session: aiohttp.ClientSession
) -> None:
    batches = await client_for(gateway.url, session).send(
        ["2348031000010", "2348031000011"], "【Acme】hello"
    )

    assert len(batches) == 1
    batch = batches[0]
    assert batch.error is None
    assert batch.mobiles == ("2348031000010", "2348031000011")
    assert isinstance(batch.msg_id, str) and batch.msg_id.isdigit()
    assert gateway.sim.sent == [
        {"mobile": "2348031000010,2348031000011", "content": "【Acme】hello", "msgId": batch.msg_id}
    ]


async def test_requests_carry_the_documented_headers_and_optional_fields_only_when_given(
    stand_in: Callable[[Handler], Awaitable[str]], session: aiohttp.ClientSession
) -> None:
    seen: list[tuple[dict[str, str], bytes]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.read()))
        return web.json_response({"code": 0, "msg": "ok", "data": {"msgId": "1"}})

    client = client_for(await stand_in(handler), session)
    await client.send(
        ["2348031000010"], "【签名】你好", sender_id="Acme", send_time="20240924100212"
    )
    await client.send(["2348031000010"], "plain")

    headers, body = seen[0]
    assert headers["Accept"] == "application/json"
    assert headers["Content-Type"] == "application/json;charset=utf-8"
    assert headers["appKey"] == "10002"
    assert headers["appSecret"] == DIGEST
    assert "【签名】你好".encode() in body
    assert json.loads(body) == {
        "mobile": "2348031000010",
        "content": "【签名】你好",
        "senderID": "Acme",
        "sendTime": "20240924100212",
    }
    assert json.loads(seen[1][1]) == {"mobile": "2348031000010", "content": "plain"}


async def test_send_of_nothing_makes_no_request(
    gateway: Running, session: aiohttp.ClientSession
) -> None:
    assert await client_for(gateway.url, session).send([], "hi") == []
    assert gateway.sim.requests == []


async def test_send_splits_2500_numbers_into_three_requests_of_at_most_1000(
    gateway: Running, session: aiohttp.ClientSession
) -> None:
    mobiles = numbers(2500)

    batches = await client_for(gateway.url, session).send(mobiles, "hi")

    assert [len(s["mobile"].split(",")) for s in gateway.sim.sent] == [1000, 1000, 500]
    assert [",".join(b.mobiles) for b in batches] == [s["mobile"] for s in gateway.sim.sent]
    assert [b.msg_id for b in batches] == [s["msgId"] for s in gateway.sim.sent]
    assert len({b.msg_id for b in batches}) == 3
    assert all(b.error is None for b in batches)


async def test_wrong_secret_is_rejected_with_gateway_code_1003(
    gateway: Running, session: aiohttp.ClientSession
) -> None:
    client = client_for(gateway.url, session, secret="wrong")

    [batch] = await client.send(["2348031000010"], "hi")
    with pytest.raises(GatewayRejected) as balance_error:
        await client.balance()

    for error in (batch.error, balance_error.value):
        assert isinstance(error, GatewayRejected)
        assert "gateway code 1003" in str(error)
        assert error.code == 1003
        assert error.outcome_unknown is False
        assert secret_digest("wrong") not in str(error) and "wrong" not in str(error)
    assert batch.msg_id is None
    assert gateway.sim.sent == []


async def test_insufficient_balance_stops_the_remaining_batches(
    session: aiohttp.ClientSession,
) -> None:
    sim = GatewaySimulator(SimulatorConfig(balance=Decimal("60.00"), price=Decimal("0.05")))
    url = await sim.start()
    try:
        batches = await client_for(url, session).send(numbers(2500), "hi")
    finally:
        await sim.stop()

    first, second, third = batches
    assert first.error is None and first.msg_id is not None
    assert isinstance(second.error, GatewayRejected)
    assert str(second.error) == "Insufficient balance (gateway code 1009)"
    assert isinstance(third.error, GatewayRejected) and third.error.code == 1009
    assert "not sent" in str(third.error).lower() and "gateway code 1009" in str(third.error)
    assert third.msg_id is None and len(third.mobiles) == 500
    assert [op for op, _ in sim.requests].count("send") == 2
    assert sim.balance == Decimal("10.00")


async def test_status_splits_1200_pairs_into_requests_of_at_most_500(
    session: aiohttp.ClientSession,
) -> None:
    clock = Clock()
    sim = GatewaySimulator(SimulatorConfig(report_delay=1.0), clock=clock)
    url = await sim.start()
    try:
        client = client_for(url, session)
        batches = await client.send(numbers(1200), "hi")
        pairs = [(b.msg_id or "", m) for b in batches for m in b.mobiles]
        clock.now += timedelta(seconds=5)
        entries = await client.status(pairs)
    finally:
        await sim.stop()

    status_bodies = [body for op, body in sim.requests if op == "status"]
    assert [len(body["data"]) for body in status_bodies] == [500, 500, 200]
    assert [(e.msg_id, e.mobile) for e in entries] == pairs
    failed = {e.mobile for e in entries if e.status == 2}
    assert failed == {m for _, m in pairs if m.endswith("9")}
    assert all(e.error_code == ("UNDELIV" if e.status == 2 else "DELIVRD") for e in entries)


async def test_status_keeps_numeric_ids_as_full_strings_and_skips_incomplete_entries(
    stand_in: Callable[[Handler], Awaitable[str]], session: aiohttp.ClientSession
) -> None:
    raw = (
        '{"code": 0, "msg": "ok", "data": ['
        '{"msgId": 240924170907169917, "mobile": 99121244155, "status": 2,'
        ' "errorCode": 16, "timestamp": "20240924050907"},'
        '{"msgId": "0123", "mobile": "2348031000010", "status": 0, "errorCode": "DELIVRD",'
        ' "desc": "ok", "timestamp": "202409240509"},'
        '{"msgId": "1", "status": 0},'
        '{"mobile": "2348031000010", "status": 0},'
        '{"msgId": "1", "mobile": "2348031000010"},'
        '"junk"]}'
    )
    client = client_for(await stand_in(answering(None, raw=raw)), session)

    entries = await client.status([("240924170907169917", "99121244155")])

    assert [(e.msg_id, e.mobile, e.status, e.error_code) for e in entries] == [
        ("240924170907169917", "99121244155", 2, "16"),
        ("0123", "2348031000010", 0, "DELIVRD"),
    ]
    assert entries[0].desc == "" and entries[1].timestamp == "202409240509"


async def test_status_answer_1012_no_report_means_no_entries(
    stand_in: Callable[[Handler], Awaitable[str]], session: aiohttp.ClientSession
) -> None:
    url = await stand_in(answering({"code": 1012, "msg": "NoReportError"}))

    assert await client_for(url, session).status([("1", "2348031000010")]) == []


async def test_balance_is_read_from_an_object(
    gateway: Running, session: aiohttp.ClientSession
) -> None:
    balance = await client_for(gateway.url, session).balance()

    assert balance.amount == Decimal("1000")
    assert balance.currency_code == "CNY" and balance.currency_name == "人民币"
    assert str(balance) == "1000.00 CNY"


async def test_balance_is_read_from_a_one_element_list_without_float_noise(
    stand_in: Callable[[Handler], Awaitable[str]], session: aiohttp.ClientSession
) -> None:
    raw = (
        '{"code": 0, "msg": "ok",'
        ' "data": [{"balance": 12.34, "currencyName": "美元", "currencyCode": "USD"}]}'
    )
    url = await stand_in(answering(None, raw=raw))

    balance = await client_for(url, session).balance()

    assert balance.amount == Decimal("12.34")
    assert (balance.currency_code, balance.currency_name) == ("USD", "美元")
    assert str(balance) == "12.34 USD"


async def test_send_timeout_is_outcome_unknown_and_never_retried(
    session: aiohttp.ClientSession,
) -> None:
    failures: list[tuple[str, str]] = []
    sim = GatewaySimulator(SimulatorConfig(send_delay=0.5))
    url = await sim.start()
    try:
        client = client_for(url, session, timeout=0.1, hook=lambda *a: failures.append(a))
        [batch] = await client.send(["2348031000010"], "hi")
    finally:
        await sim.stop()

    assert isinstance(batch.error, GatewayTimeout)
    assert batch.error.outcome_unknown is True
    assert "may or may not have been sent" in str(batch.error)
    assert batch.msg_id is None
    assert len(sim.sent) == 1
    assert [op for op, _ in sim.requests] == ["send"]
    assert failures == [("send", "timeout")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_connection_refused_is_unreachable_and_known_not_sent(
    session: aiohttp.ClientSession,
) -> None:
    failures: list[tuple[str, str]] = []
    client = client_for(
        f"http://127.0.0.1:{free_port()}", session, hook=lambda *a: failures.append(a)
    )

    [batch] = await client.send(["2348031000010"], "hi")
    with pytest.raises(GatewayUnreachable) as error:
        await client.balance()

    assert isinstance(batch.error, GatewayUnreachable)
    assert batch.error.outcome_unknown is False
    assert "Could not connect" in str(error.value)
    assert failures == [("send", "unreachable"), ("balance", "unreachable")]


async def test_http_500_with_an_html_body_is_a_protocol_error_of_unknown_outcome(
    stand_in: Callable[[Handler], Awaitable[str]], session: aiohttp.ClientSession
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=500, text="<html><h1>Oops</h1></html>", content_type="text/html")

    [batch] = await client_for(await stand_in(handler), session).send(["2348031000010"], "hi")

    assert isinstance(batch.error, GatewayProtocolError)
    assert str(batch.error).startswith("The gateway answered HTTP 500 with a non-JSON body")
    assert batch.error.outcome_unknown is True


async def test_http_error_with_a_gateway_envelope_names_the_code(
    stand_in: Callable[[Handler], Awaitable[str]], session: aiohttp.ClientSession
) -> None:
    url = await stand_in(answering({"code": 1001, "msg": "ParamError"}, status=400))

    with pytest.raises(GatewayProtocolError) as error:
        await client_for(url, session).balance()

    assert str(error.value) == (
        "The gateway answered HTTP 400: The gateway rejected a request parameter "
        "(gateway code 1001)"
    )
    assert error.value.code == 1001


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Service Unavailable", "The gateway answered with a non-JSON body"),
        ("[1, 2]", "The gateway answered with a JSON body that is not an object"),
        ('{"msg": "ok"}', "The gateway's answer has no numeric result code"),
        ('{"code": "0", "msg": "ok"}', "The gateway's answer has no numeric result code"),
        ('{"code": true, "msg": "ok"}', "The gateway's answer has no numeric result code"),
    ],
)
async def test_malformed_answers_are_protocol_errors_with_a_readable_sentence(
    stand_in: Callable[[Handler], Awaitable[str]],
    session: aiohttp.ClientSession,
    raw: str,
    expected: str,
) -> None:
    client = client_for(await stand_in(answering(None, raw=raw)), session)

    [batch] = await client.send(["2348031000010"], "hi")
    with pytest.raises(GatewayProtocolError) as balance_error:
        await client.balance()

    assert isinstance(batch.error, GatewayProtocolError)
    assert str(batch.error).startswith(expected) and batch.error.outcome_unknown is True
    assert str(balance_error.value) == expected
    assert balance_error.value.outcome_unknown is False


@pytest.mark.parametrize("code", [4242, 9999, 1012])
async def test_a_send_code_that_is_not_a_documented_refusal_leaves_the_outcome_unknown(
    stand_in: Callable[[Handler], Awaitable[str]], session: aiohttp.ClientSession, code: int
) -> None:
    url = await stand_in(answering({"code": code, "msg": "whatever msg"}))
    client = client_for(url, session)

    [batch] = await client.send(["2348031000010"], "hi")
    with pytest.raises(GatewayRejected) as balance_error:
        await client.balance()

    assert isinstance(batch.error, GatewayUncertain)
    assert f"(gateway code {code})" in str(batch.error)
    assert str(batch.error).endswith("the messages may or may not have been sent")
    assert batch.error.code == code and batch.error.outcome_unknown is True
    assert balance_error.value.code == code and balance_error.value.outcome_unknown is False


async def test_unknown_code_4242_on_balance_is_rejected_with_the_gateway_message(
    stand_in: Callable[[Handler], Awaitable[str]], session: aiohttp.ClientSession
) -> None:
    url = await stand_in(answering({"code": 4242, "msg": "whatever msg"}))

    with pytest.raises(GatewayRejected) as error:
        await client_for(url, session).balance()

    assert str(error.value) == 'Gateway error "whatever msg" (gateway code 4242)'


async def test_a_non_account_rejection_does_not_stop_later_batches(
    stand_in: Callable[[Handler], Awaitable[str]], session: aiohttp.ClientSession
) -> None:
    answers = iter([{"code": 1006, "msg": "ContentError"}, {"code": 0, "data": {"msgId": "7"}}])

    async def handler(request: web.Request) -> web.Response:
        return web.json_response(next(answers))

    batches = await client_for(await stand_in(handler), session).send(numbers(1500), "hi")

    assert [b.error.code if b.error else None for b in batches] == [1006, None]
    assert batches[1].msg_id == "7"


async def test_numeric_msg_id_keeps_every_digit(
    stand_in: Callable[[Handler], Awaitable[str]], session: aiohttp.ClientSession
) -> None:
    raw = '{"code": 0, "msg": "ok", "data": {"msgId": 240924162017564896}}'

    [batch] = await client_for(await stand_in(answering(None, raw=raw)), session).send(
        ["2348031000010"], "hi"
    )

    assert batch.msg_id == "240924162017564896"


@pytest.mark.parametrize(
    ("operation", "data"),
    [
        ("send", {"id": "1"}),
        ("send", "240924162017564896"),
        ("send", {"msgId": 2.4e17}),
        ("balance", "lots"),
        ("balance", {"currencyCode": "CNY"}),
        ("balance", []),
        ("status", {"msgId": "1"}),
    ],
)
async def test_data_of_the_wrong_shape_is_a_protocol_error(
    stand_in: Callable[[Handler], Awaitable[str]],
    session: aiohttp.ClientSession,
    operation: str,
    data: Any,
) -> None:
    failures: list[tuple[str, str]] = []
    url = await stand_in(answering({"code": 0, "msg": "ok", "data": data}))
    client = client_for(url, session, hook=lambda *a: failures.append(a))

    if operation == "send":
        [batch] = await client.send(["2348031000010"], "hi")
        error = batch.error
        assert error is not None and error.outcome_unknown is True
    else:
        with pytest.raises(GatewayProtocolError) as raised:
            await (client.balance() if operation == "balance" else client.status([("1", "2")]))
        error = raised.value

    assert isinstance(error, GatewayProtocolError)
    assert str(error).startswith("The gateway")
    assert failures == [(operation, "protocol")]


async def test_secret_never_appears_in_errors_or_logs(
    stand_in: Callable[[Handler], Awaitable[str]],
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    for handler in (
        answering({"code": 1003, "msg": f"bad secret {DIGEST}"}),
        answering(None, status=500, raw="<html/>"),
        answering({"code": 0, "data": None}),
    ):
        client = client_for(await stand_in(handler), session)
        errors.extend(b.error for b in await client.send(["2348031000010"], "hi") if b.error)
        try:
            await client.balance()
        except GatewayRejected as error:
            errors.append(error)
        except GatewayProtocolError as error:
            errors.append(error)

    assert len(errors) == 6
    texts = [str(e) for e in errors] + [r.getMessage() for r in caplog.records]
    assert not [t for t in texts if SECRET in t or DIGEST in t.upper()]
    assert SECRET not in repr(client) and DIGEST not in repr(client)
