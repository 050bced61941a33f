"""The delivery-report webhook (gateway-api.md §5, §7) over real HTTP to the running bot.

Every test posts to `SMS_REPORT_PATH` the way the gateway does, with the account's appKey
and the uppercase MD5 of its appSecret, and reads what the bot answered, what `/metrics`
counts, and what the channel's tracked message shows.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from bot.gateway import secret_digest
from standins.gateway_simulator import SimulatorConfig
from standins.local import DEMO_CHANNEL, LocalSystem
from standins.manual_clock import ManualClock
from standins.slack import ChannelMessage, plain
from tests.conftest import SystemFactory

DELIVERS = "+2348031000010"
MOBILE = "2348031000010"


# helpers


async def post_raw(
    system: LocalSystem, body: bytes | Any, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """POST a body (bytes as given, anything else as JSON) and return (HTTP status, JSON answer)."""
    assert system.session is not None
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent_headers = {"Content-Type": "application/json;charset=utf-8"}
    sent_headers.update(system.report_headers() if headers is None else headers)
    async with system.session.post(system.report_url, data=data, headers=sent_headers) as reply:
        text = await reply.text()
        try:
            answer = json.loads(text)
        except ValueError:
            answer = text
        return reply.status, answer


def report(msg_id: str, status: Any = 0, error_code: str = "DELIVRD", **extra: Any) -> dict:
    return {
        "mobile": MOBILE,
        "msgId": msg_id,
        "timestamp": "20240924050907",
        "status": status,
        "desc": "",
        "errorCode": error_code,
        **extra,
    }


async def metric_samples(system: LocalSystem) -> list[tuple[str, dict[str, str], float]]:
    assert system.session is not None
    async with system.session.get(system.url + "/metrics") as reply:
        assert reply.status == 200
        text = await reply.text()
    return [
        (s.name, dict(s.labels), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


async def metric(system: LocalSystem, name: str, **labels: str) -> float:
    """One sample's value; 0.0 when the labelled counter was never incremented."""
    for sample_name, sample_labels, value in await metric_samples(system):
        if sample_name == name and sample_labels == labels:
            return value
    return 0.0


async def recipients(system: LocalSystem) -> dict[str, float]:
    """The `smsbot_recipients` gauge by state, read fresh from the database."""
    return {
        labels["state"]: value
        for name, labels, value in await metric_samples(system)
        if name == "smsbot_recipients"
    }


def tracked(system: LocalSystem) -> ChannelMessage | None:
    messages = system.slack.channel_messages(DEMO_CHANNEL)
    return messages[0] if messages else None


async def shows(system: LocalSystem, words: str) -> ChannelMessage:
    """Wait until the tracked message's plain text carries `words`."""
    return await system.wait_for(
        lambda: (m := tracked(system)) is not None and words in m.text and m, timeout=5
    )


async def send_one(system: LocalSystem, to: str = DELIVERS) -> str:
    """`/sms send` to one number; returns its msgId once the send is stored and posted."""
    status, _ = await system.slash(f"send {to} hi")
    assert status == 200
    await system.wait_for(lambda: tracked(system), timeout=5)
    return str(system.gateway.sent[0]["msgId"])


@pytest.fixture
async def quiet(make_system: SystemFactory) -> LocalSystem:
    """A system whose simulator never pushes on its own within a test's lifetime."""
    return await make_system(report_delay=60)


# credentials


async def test_valid_report_for_sent_msgid_is_acknowledged_and_shown_delivered(
    quiet: LocalSystem,
) -> None:
    msg_id = await send_one(quiet)
    assert await post_raw(quiet, report(msg_id)) == (200, {"code": 0, "msg": "ok"})
    message = await shows(quiet, "1 delivered, 0 failed, 0 pending")
    assert msg_id in message.text
    assert (await recipients(quiet))["delivered"] == 1
    assert await metric(quiet, "smsbot_reports_received_total", source="push", outcome="applied")


async def test_wrong_app_secret_is_refused_with_401_and_not_applied(quiet: LocalSystem) -> None:
    msg_id = await send_one(quiet)
    headers = dict(quiet.report_headers(), appSecret=secret_digest("not-the-secret"))
    status, answer = await post_raw(quiet, report(msg_id), headers)
    assert status == 401
    assert isinstance(answer["code"], int) and answer["code"] != 0
    assert answer["code"] == 1003
    counts = await recipients(quiet)
    assert counts["delivered"] == 0 and counts["accepted"] == 1
    assert await metric(quiet, "smsbot_reports_rejected_total", reason="credentials") == 1
    assert (
        await metric(quiet, "smsbot_reports_received_total", source="push", outcome="applied") == 0
    )


async def test_plain_app_secret_instead_of_its_digest_is_refused(quiet: LocalSystem) -> None:
    msg_id = await send_one(quiet)
    headers = dict(quiet.report_headers(), appSecret=quiet.gateway.config.app_secret)
    status, answer = await post_raw(quiet, report(msg_id), headers)
    assert status == 401 and answer["code"] != 0
    assert (await recipients(quiet))["delivered"] == 0


async def test_wrong_app_key_is_refused_with_401(quiet: LocalSystem) -> None:
    msg_id = await send_one(quiet)
    headers = dict(quiet.report_headers(), appKey="99999")
    status, answer = await post_raw(quiet, report(msg_id), headers)
    assert status == 401
    assert answer["code"] == 1002
    assert (await recipients(quiet))["delivered"] == 0


async def test_missing_credential_headers_are_refused(quiet: LocalSystem) -> None:
    status, answer = await post_raw(quiet, report("240924162017564896"), headers={})
    assert status == 401 and answer["code"] != 0


async def test_lowercase_digest_is_accepted(quiet: LocalSystem) -> None:
    msg_id = await send_one(quiet)
    headers = quiet.report_headers()
    headers["appSecret"] = headers["appSecret"].lower()
    assert await post_raw(quiet, report(msg_id), headers) == (200, {"code": 0, "msg": "ok"})


# malformed bodies


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"msgId": "1", "mobile": ', "truncated JSON"),
        (b"not json at all", "not JSON"),
        (json.dumps([report("240924162017564896")]).encode(), "a JSON array of reports"),
        (json.dumps({"mobile": MOBILE, "status": 0}).encode(), "missing msgId"),
        (json.dumps({"msgId": "240924162017564896", "status": 0}).encode(), "missing mobile"),
        (json.dumps(report("240924162017564896", status="delivered")).encode(), "word status"),
        (json.dumps(report("240924162017564896", status=None)).encode(), "null status"),
        (json.dumps(report("240924162017564896", mobile="+")).encode(), "mobile not digits"),
        (json.dumps(report("abc")).encode(), "msgId not digits"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
async def test_malformed_report_is_answered_400_with_code_1001(
    quiet: LocalSystem, body: bytes, why: str
) -> None:
    status, answer = await post_raw(quiet, body)
    assert status == 400, why
    assert answer["code"] == 1001
    assert isinstance(answer["msg"], str) and answer["msg"]
    assert await metric(quiet, "smsbot_reports_rejected_total", reason="malformed") == 1


async def test_missing_msgid_is_named_in_the_answer(quiet: LocalSystem) -> None:
    status, answer = await post_raw(quiet, {"mobile": MOBILE, "status": 0})
    assert status == 400
    assert "msgId" in answer["msg"]


async def test_body_over_64_kib_is_refused_with_413(quiet: LocalSystem) -> None:
    body = json.dumps(report("240924162017564896", desc="x" * (65 * 1024))).encode()
    assert len(body) > 64 * 1024
    status, answer = await post_raw(quiet, body)
    assert status == 413
    assert answer["code"] != 0
    assert await metric(quiet, "smsbot_reports_rejected_total", reason="too_large") == 1


async def test_bad_utf8_is_a_400_never_a_500(quiet: LocalSystem) -> None:
    body = b'{"msgId": "240924162017564896", "mobile": "\xff\xfe", "status": 0}'
    status, answer = await post_raw(quiet, body)
    assert status == 400
    assert answer["code"] == 1001


# what reports do to a recipient


async def test_numeric_msgid_and_mobile_are_accepted_as_strings(quiet: LocalSystem) -> None:
    msg_id = await send_one(quiet)
    body = report(msg_id, msgId=int(msg_id), mobile=int(MOBILE))
    assert await post_raw(quiet, body) == (200, {"code": 0, "msg": "ok"})
    await shows(quiet, "1 delivered, 0 failed, 0 pending")
    assert await metric(quiet, "smsbot_reports_received_total", source="push", outcome="applied")


async def test_duplicate_delivered_report_is_ok_and_changes_nothing(quiet: LocalSystem) -> None:
    msg_id = await send_one(quiet)
    assert (await post_raw(quiet, report(msg_id)))[1] == {"code": 0, "msg": "ok"}
    await shows(quiet, "1 delivered, 0 failed, 0 pending")
    assert (await post_raw(quiet, report(msg_id)))[1] == {"code": 0, "msg": "ok"}
    await quiet.reports_applied()  # answered once stored; counted once applied
    counts = await recipients(quiet)
    assert counts["delivered"] == 1 and counts["failed"] == 0
    received = "smsbot_reports_received_total"
    assert await metric(quiet, received, source="push", outcome="duplicate") == 1
    assert await metric(quiet, received, source="push", outcome="applied") == 1


async def test_failed_report_after_delivered_does_not_change_final_state(
    make_system: SystemFactory,
) -> None:
    clock = ManualClock()
    quiet = await make_system(report_delay=60, clock=clock)
    await quiet.slash(f"send {DELIVERS} hi")
    await clock.advance_until(lambda: tracked(quiet), step=0.2)
    msg_id = str(quiet.gateway.sent[0]["msgId"])
    await post_raw(quiet, report(msg_id))
    delivered = "1 delivered, 0 failed, 0 pending"
    await clock.advance_until(lambda: (m := tracked(quiet)) and delivered in m.text, step=0.2)
    stale = report(msg_id, status=2, error_code="UNDELIV")
    assert await post_raw(quiet, stale) == (200, {"code": 0, "msg": "ok"})
    await quiet.reports_applied()
    assert (
        await metric(quiet, "smsbot_reports_received_total", source="push", outcome="conflict") == 1
    )
    counts = await recipients(quiet)
    assert counts["delivered"] == 1 and counts["failed"] == 0
    await clock.advance(10.0)  # the worker's rounds after it: none may repaint it as failed
    message = tracked(quiet)
    assert message is not None
    assert delivered in message.text
    assert quiet.slack.thread(DEMO_CHANNEL, message.ts) == []


async def test_push_status_1_with_undeliv_is_failed_with_reason(quiet: LocalSystem) -> None:
    msg_id = await send_one(quiet)
    assert (await post_raw(quiet, report(msg_id, status=1, error_code="UNDELIV")))[0] == 200
    message = await shows(quiet, "0 delivered, 1 failed, 0 pending")
    assert "undeliverable (UNDELIV)" in plain(message)


async def test_push_status_1_without_error_code_counts_as_failed(quiet: LocalSystem) -> None:
    msg_id = await send_one(quiet)
    assert (await post_raw(quiet, report(msg_id, status=1, error_code="")))[0] == 200
    await shows(quiet, "0 delivered, 1 failed, 0 pending")


async def test_delivrd_error_code_wins_over_status_2(quiet: LocalSystem) -> None:
    msg_id = await send_one(quiet)
    assert (await post_raw(quiet, report(msg_id, status=2, error_code="DELIVRD")))[0] == 200
    await shows(quiet, "1 delivered, 0 failed, 0 pending")
    assert (await recipients(quiet))["failed"] == 0


async def test_status_as_digit_string_is_read_as_number(quiet: LocalSystem) -> None:
    msg_id = await send_one(quiet)
    body = report(msg_id, status="2", error_code="")
    assert (await post_raw(quiet, body))[0] == 200
    await shows(quiet, "0 delivered, 1 failed, 0 pending")


async def test_report_for_unknown_msgid_is_kept_and_counted_as_orphan(quiet: LocalSystem) -> None:
    assert await post_raw(quiet, report("240924170907169917")) == (200, {"code": 0, "msg": "ok"})
    await quiet.reports_applied()
    assert (
        await metric(quiet, "smsbot_reports_received_total", source="push", outcome="orphan") == 1
    )
    assert (await recipients(quiet))["delivered"] == 0


async def test_simulator_pushes_are_answered_ok_and_applied(make_system: SystemFactory) -> None:
    system = await make_system(report_delay=0.1)
    await system.slash(f"send {DELIVERS},+2348031000019 hi")
    await system.gateway.wait_for_pushes(2, timeout=5)
    assert [p["answer"] for p in system.gateway.pushes] == [{"code": 0, "msg": "ok"}] * 2
    await shows(system, "1 delivered, 1 failed, 0 pending")


# odd bodies never crash the webhook

ODD_BODIES: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("null", b"null"),
    ("empty object", b"{}"),
    ("string", b'"hello"'),
    ("number", b"42"),
    ("true", b"true"),
    ("huge msgId", json.dumps(report("1" * 5000)).encode()),
    ("huge desc", json.dumps(report("240924162017564896", desc="d" * 20000)).encode()),
    ("huge errorCode", json.dumps(report("240924162017564896", error_code="E" * 9000)).encode()),
    ("nested msgId", json.dumps(report("1", msgId={"id": "1"})).encode()),
    ("nested mobile", json.dumps(report("1", mobile=[MOBILE])).encode()),
    ("nested desc", json.dumps(report("1", desc={"a": [1, 2]})).encode()),
    ("status true", json.dumps(report("1", status=True)).encode()),
    ("status false", json.dumps(report("1", status=False)).encode()),
    ("status float", json.dumps(report("1", status=0.5)).encode()),
    ("status list", json.dumps(report("1", status=[0])).encode()),
    ("msgId true", json.dumps(report("1", msgId=True)).encode()),
    ("float msgId", json.dumps(report("1", msgId=1.5)).encode()),
    ("NaN status", b'{"msgId": "1", "mobile": "2348031000010", "status": NaN}'),
    ("BOM", b"\xef\xbb\xbf" + json.dumps(report("1")).encode()),
    ("NUL bytes", b"\x00" * 100),
    ("duplicate keys", b'{"msgId": "1", "msgId": {}, "mobile": "1", "status": 0}'),
]


DEEP_NESTING = pytest.param(b"[" * 5000 + b"]" * 5000, id="deep nesting")


@pytest.mark.parametrize(
    "body",
    [*(pytest.param(body, id=name) for name, body in ODD_BODIES), DEEP_NESTING],
)
async def test_odd_body_never_gets_a_500(quiet: LocalSystem, body: bytes) -> None:
    status, answer = await post_raw(quiet, body)
    assert status in (200, 400, 413)
    assert isinstance(answer, dict) and type(answer["code"]) is int
    assert (answer["code"] == 0) == (status == 200)


# bugs found while writing these tests (see the reasons)


async def test_status_of_non_decimal_digit_characters_is_a_400(quiet: LocalSystem) -> None:
    status, answer = await post_raw(quiet, report("240924162017564896", status="²"))
    assert status == 400
    assert isinstance(answer, dict) and answer["code"] == 1001


async def test_status_beyond_64_bits_is_a_400_not_a_retry_request(quiet: LocalSystem) -> None:
    status, answer = await post_raw(quiet, report("240924162017564896", status=2**64))
    assert status == 400
    assert answer["code"] == 1001


async def test_lone_surrogate_in_a_field_is_a_400_not_a_retry_request(
    quiet: LocalSystem,
) -> None:
    body = b'{"msgId": "240924162017564896", "mobile": "2348031000010", "status": 0, '
    body += b'"errorCode": "\\ud800"}'
    status, answer = await post_raw(quiet, body)
    assert status == 400
    assert answer["code"] == 1001


async def test_report_body_arriving_in_pieces_is_read_whole(quiet: LocalSystem) -> None:
    msg_id = await send_one(quiet)
    whole = json.dumps(report(msg_id)).encode()

    async def pieces() -> AsyncIterator[bytes]:
        yield whole[:20]
        await asyncio.sleep(0.2)
        yield whole[20:]

    assert quiet.session is not None
    async with quiet.session.post(
        quiet.report_url, data=pieces(), headers=quiet.report_headers()
    ) as reply:
        assert reply.status == 200
        assert await reply.json() == {"code": 0, "msg": "ok"}
    await shows(quiet, "1 delivered, 0 failed, 0 pending")


# property: any JSON value is answered 200 or 400 with an int code

_leaves = (
    st.none()
    | st.booleans()
    # bounded to SQLite's integer range: larger ones have a test of their own above
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    _leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
report_shaped = st.fixed_dictionaries(
    {
        "msgId": st.from_regex(r"\A[0-9]{1,20}\Z") | json_values,
        "mobile": st.from_regex(r"\A\+?[0-9]{6,15}\Z") | json_values,
        "status": st.sampled_from([0, 1, 2, "0", "2"]) | json_values,
    },
    optional={
        "errorCode": st.sampled_from(["DELIVRD", "UNDELIV", "EXPIRED", "16", ""]) | json_values,
        "desc": json_values,
        "timestamp": json_values,
    },
)


@pytest.fixture
def owned_system(tmp_path: Path) -> Iterator[tuple[asyncio.Runner, LocalSystem]]:
    """A LocalSystem on a loop this test owns, so hypothesis can drive it synchronously."""
    with asyncio.Runner() as runner:
        system = LocalSystem(tmp_path / "property.db", simulator=SimulatorConfig(report_delay=60))
        runner.run(system.__aenter__())
        try:
            yield runner, system
        finally:
            runner.run(system.__aexit__(None, None, None))


def test_any_json_body_is_answered_200_or_400_with_an_int_code(
    owned_system: tuple[asyncio.Runner, LocalSystem],
) -> None:
    runner, system = owned_system
    seen: list[int] = []

    @settings(
        max_examples=50,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(body=json_values | report_shaped)
    def answered(body: Any) -> None:
        status, answer = runner.run(post_raw(system, body))
        seen.append(status)
        assert status in (200, 400), (status, answer)
        assert isinstance(answer, dict) and type(answer["code"]) is int
        assert (answer["code"] == 0) == (status == 200)

    answered()
    assert len(seen) >= 50
    assert {200, 400} <= set(seen), "the examples should reach both the store and the refusals"
    # the webhook is still healthy after the barrage
    assert runner.run(post_raw(system, report("240924170907169917")))[0] == 200
