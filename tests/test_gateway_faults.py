"""The bot against a misbehaving SMS gateway: slow, unreachable, broken or odd answers.

A tiny aiohttp stand-in plays the gateway (gateway-api.md §2, §3) with one fault each, and the
real bot (a LocalSystem whose SMS_API_URL points at the stand-in, timeout 1 s) is driven by
signed `/sms` commands. Each case checks what the user is told, that the send was never
repeated, and that the database (read from the SQLite file, read-only) says the same thing.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from aiohttp import web

from standins.local import DEMO_CHANNEL, LocalSystem
from standins.manual_clock import ManualClock
from tests.conftest import SystemFactory
from tests.stored import records

SEND_PATH = "/api/v1/international/sms/send"
BALANCE_PATH = "/api/v1/international/sms/balance"
STATUS_PATH = "/api/v1/international/sms/status"
NUMBER = "+2348031000010"
TIMEOUT = 1.0
# past the first status poll (SMS_POLL_AFTER, 300 s) and every worker round before it
PAST_EVERY_ROUND = 330.0

Handler = Callable[["FaultyGateway", web.Request], Awaitable[web.StreamResponse]]


# the stand-in gateway


@dataclass
class FaultyGateway:
    """Answers send and balance with the handlers given; records every request it gets."""

    send: Handler
    balance: Handler
    requests: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post(SEND_PATH, self._handle("send", self.send))
        app.router.add_get(BALANCE_PATH, self._handle("balance", self.balance))
        app.router.add_post(STATUS_PATH, self._handle("status", answer_json({"code": 1012})))
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.url

    async def stop(self) -> None:
        self.released.set()
        await self._runner.cleanup()

    def _handle(
        self, operation: str, handler: Handler
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw
            self.requests.append((operation, dict(request.headers), body))
            return await handler(self, request)

        return handle

    def operations(self, operation: str) -> list[Any]:
        return [body for op, _, body in self.requests if op == operation]


def answer_json(body: Any, status: int = 200) -> Handler:
    async def handler(gateway: FaultyGateway, request: web.Request) -> web.StreamResponse:
        return web.json_response(body, status=status)

    return handler


def answer_text(text: str, status: int = 200, content_type: str = "text/plain") -> Handler:
    async def handler(gateway: FaultyGateway, request: web.Request) -> web.StreamResponse:
        return web.Response(text=text, status=status, content_type=content_type)

    return handler


def answer_late(then: Handler, seconds: float = 3 * TIMEOUT) -> Handler:
    """Answer only after the bot's timeout (or when the test ends, whichever is first)."""

    async def handler(gateway: FaultyGateway, request: web.Request) -> web.StreamResponse:
        try:
            await asyncio.wait_for(gateway.released.wait(), timeout=seconds)
        except TimeoutError:
            pass
        return await then(gateway, request)

    return handler


OK_SEND = answer_json({"code": 0, "msg": "ok", "data": {"msgId": "240924162017564896"}})
OK_BALANCE = answer_json(
    {
        "code": 0,
        "msg": "ok",
        "data": {"balance": 1, "currencyName": "人民币", "currencyCode": "CNY"},
    }
)
HTML_500 = answer_text(
    "<html><head><title>500 Internal Server Error</title></head>"
    "<body><h1>Internal Server Error</h1></body></html>",
    status=500,
    content_type="text/html",
)


@dataclass(frozen=True)
class Fault:
    send: Handler | None  # None: nothing listens on the gateway's port
    balance: Handler | None
    send_outcome: Literal["unknown", "not sent"]
    balance_says: str  # words the balance error must contain


FAULTS: dict[str, Fault] = {
    "slow past the timeout": Fault(
        answer_late(OK_SEND), answer_late(OK_BALANCE), "unknown", "did not answer within 1 s"
    ),
    "connection refused": Fault(None, None, "not sent", "Could not connect"),
    "HTTP 500 with an HTML body": Fault(HTML_500, HTML_500, "unknown", "HTTP 500"),
    "non-JSON 200": Fault(
        answer_text("OK, message queued"), answer_text("balance=1.00"), "unknown", "non-JSON"
    ),
    "unknown result code 4242": Fault(
        answer_json({"code": 4242, "msg": "mystery"}),
        answer_json({"code": 4242, "msg": "mystery"}),
        "unknown",
        "4242",
    ),
    "documented refusal 1007": Fault(
        answer_json({"code": 1007, "msg": "Illegal cell phone"}),
        answer_json({"code": 1004, "msg": "BindIpError"}),
        "not sent",
        "1004",
    ),
    "data is a list": Fault(
        answer_json({"code": 0, "msg": "ok", "data": [{"msgId": "240924162017564896"}, 1]}),
        answer_json({"code": 0, "msg": "ok", "data": [{"balance": 1}, {"balance": 2}]}),
        "unknown",
        "no readable balance",
    ),
    "msgId missing": Fault(
        answer_json({"code": 0, "msg": "ok", "data": {"id": "240924162017564896"}}),
        answer_json({"code": 0, "msg": "ok", "data": {"currencyCode": "CNY"}}),
        "unknown",
        "no readable balance",
    ),
}


def closed_port_url() -> str:
    """A loopback URL on which nothing listens, so connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class Rig:
    fault: Fault
    system: LocalSystem
    gateway: FaultyGateway | None
    clock: ManualClock


@pytest.fixture
async def rig(request: pytest.FixtureRequest, make_system: SystemFactory) -> AsyncIterator[Rig]:
    fault: Fault = FAULTS[request.param]
    gateway = None
    if fault.send is not None and fault.balance is not None:
        gateway = FaultyGateway(fault.send, fault.balance)
        url = await gateway.start()
    else:
        url = closed_port_url()
    try:
        clock = ManualClock()
        env = {"SMS_API_URL": url, "SMS_GATEWAY_TIMEOUT": str(TIMEOUT)}
        system = await make_system(env=env, clock=clock)
        yield Rig(fault, system, gateway, clock)
    finally:
        if gateway is not None:
            gateway.released.set()
            await gateway.stop()


# reading what the bot did


def sends_and_recipients(
    system: LocalSystem,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return records(system, "SELECT * FROM sends"), records(system, "SELECT * FROM recipients")


async def told(system: LocalSystem, clock: ManualClock | None = None) -> dict[str, Any]:
    """The one ephemeral answer the command's user gets after the ack (with the bot's time
    moved, if it runs on a ManualClock, so that its tracked message is posted)."""
    if clock is None:
        responses = await system.wait_for(lambda: system.slack.responses, timeout=10)
    else:
        responses = await clock.advance_until(lambda: system.slack.responses, step=0.5)
    return responses[0]


def faults(*names: str) -> pytest.MarkDecorator:
    chosen = names or tuple(FAULTS)
    return pytest.mark.parametrize("rig", chosen, indirect=True)


UNKNOWN_OUTCOME = [name for name, fault in FAULTS.items() if fault.send_outcome == "unknown"]
NOT_SENT = [name for name, fault in FAULTS.items() if fault.send_outcome == "not sent"]


# sends


@faults(*UNKNOWN_OUTCOME)
async def test_send_with_unknown_outcome_is_said_maybe_sent_recorded_unknown_and_never_resent(
    rig: Rig,
) -> None:
    system, gateway = rig.system, rig.gateway
    assert gateway is not None
    status, ack = await system.slash(f"send {NUMBER} hi")
    assert status == 200 and "Sending your SMS to 1 number" in ack

    answer = await told(system, rig.clock)
    assert answer["response_type"] == "ephemeral"
    assert "may or may not have been sent" in answer["text"], answer["text"]
    assert "will not re-send" in answer["text"], answer["text"]
    assert "Something went wrong" not in answer["text"]

    message = await rig.clock.advance_until(
        lambda: system.slack.channel_messages(DEMO_CHANNEL), step=0.5
    )
    assert len(message) == 1 and "1 unknown" in message[0].text, message

    sends, recipients = sends_and_recipients(system)
    assert len(sends) == 1
    assert len(recipients) == 1
    assert recipients[0]["send_id"] == sends[0]["id"]
    assert recipients[0]["mobile"] == NUMBER.lstrip("+")
    assert recipients[0]["state"] == "unknown"
    assert recipients[0]["msg_id"] is None

    await rig.clock.advance(PAST_EVERY_ROUND)
    assert len(gateway.operations("send")) == 1
    assert gateway.operations("send")[0]["mobile"] == NUMBER.lstrip("+")


@faults(*NOT_SENT)
async def test_send_that_definitely_failed_says_nothing_was_sent_and_stores_nothing(
    rig: Rig,
) -> None:
    system, gateway = rig.system, rig.gateway
    status, ack = await system.slash(f"send {NUMBER} hi")
    assert status == 200 and "Sending your SMS to 1 number" in ack

    answer = await told(system, rig.clock)
    assert answer["response_type"] == "ephemeral"
    assert "Nothing was sent" in answer["text"], answer["text"]
    assert "may or may not" not in answer["text"]
    if gateway is not None:
        assert "gateway code 1007" in answer["text"]
        assert len(gateway.operations("send")) == 1
    else:
        assert "Could not connect" in answer["text"]

    await rig.clock.advance(PAST_EVERY_ROUND)
    assert system.slack.calls_to("chat.postMessage") == []
    assert system.slack.channel_messages(DEMO_CHANNEL) == []
    sends, recipients = sends_and_recipients(system)
    assert sends == [] and recipients == []
    if gateway is not None:
        assert len(gateway.operations("send")) == 1


# balance


@faults()
async def test_balance_on_a_faulty_gateway_is_a_clear_sentence(rig: Rig) -> None:
    system = rig.system
    status, _ = await system.slash("balance")
    assert status == 200
    answer = await told(system, rig.clock)
    text = answer["text"]
    assert answer["response_type"] == "ephemeral"
    assert text.startswith(":warning: Could not read the balance:"), text
    assert rig.fault.balance_says in text, text
    assert "Something went wrong" not in text
    assert "may or may not have been sent" not in text
    assert "Traceback" not in text and "Exception" not in text
    assert len(text) < 400, text
    if rig.gateway is not None:
        assert rig.gateway.operations("balance")


# the stand-in is what the tests think it is


async def test_bot_against_a_well_behaved_stand_in_sends_and_reads_the_balance(
    make_system: SystemFactory,
) -> None:
    gateway = FaultyGateway(OK_SEND, OK_BALANCE)
    url = await gateway.start()
    try:
        system = await make_system(env={"SMS_API_URL": url, "SMS_GATEWAY_TIMEOUT": str(TIMEOUT)})
        await system.slash(f"send {NUMBER} hi")
        answer = await told(system)
        assert "Sent to +234 803 100 0010" in answer["text"], answer["text"]
        assert "240924162017564896" in answer["text"]
        await system.slash("balance")
        balance = await system.wait_for(lambda: system.slack.responses[1:])
        assert balance[0]["text"] == "Balance: 1.00 CNY"
        _, headers, body = gateway.requests[0]
        assert headers["appKey"] == system.gateway.config.app_key
        assert body["mobile"] == NUMBER.lstrip("+") and body["content"] == "hi"
    finally:
        await gateway.stop()


# wording: what the sender and the channel are told about an unknown outcome


@faults(*UNKNOWN_OUTCOME)
async def test_unknown_outcome_sentence_says_it_once_and_does_not_contradict_itself(
    rig: Rig,
) -> None:
    await rig.system.slash(f"send {NUMBER} hi")
    text = (await told(rig.system, rig.clock))["text"]
    assert text.count("may or may not have been sent") == 1, text
    if rig.fault.balance_says != "did not answer within 1 s":
        assert "did not answer" not in text, text


@faults("slow past the timeout")
async def test_tracked_message_of_unknown_send_does_not_claim_it_was_not_accepted(
    rig: Rig,
) -> None:
    system = rig.system
    await system.slash(f"send {NUMBER} hi")
    message = await rig.clock.advance_until(
        lambda: system.slack.channel_messages(DEMO_CHANNEL), step=0.5
    )
    assert "1 unknown" in message[0].text
    assert "not accepted" not in message[0].text, message[0].text
