"""Fuzzing the two doors anyone on the network can knock on: the report webhook and /slack/events.

One LocalSystem (the real bot, the gateway simulator and the Slack stand-in) runs for the whole
module on an event loop this module owns, so hypothesis can drive it from plain sync tests. Every
example goes over loopback HTTP to the running bot, exactly as the gateway or Slack would send it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from standins.gateway_simulator import SimulatorConfig
from standins.local import LocalSystem
from tests.stored import records

T = TypeVar("T")

MAX_REPORT_BODY = 64 * 1024
MAX_SLACK_BODY = 256 * 1024
_FIELD_LIMIT = 200  # the longest field value a report may carry
INT_MAX_STR_DIGITS = sys.get_int_max_str_digits()
ASCII_DIGITS = re.compile(r"[0-9]+")
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass
class Live:
    """The module's running system and the loop it runs on."""

    runner: asyncio.Runner
    system: LocalSystem

    def run(self, coroutine: Awaitable[T]) -> T:
        return self.runner.run(_await(coroutine))


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    database = tmp_path_factory.mktemp("fuzz") / "bot.db"
    simulator = SimulatorConfig(report_delay=0.05, retry_delay=0.05)
    # loop_factory: the runner does not install its loop as the thread's current loop, so it
    # cannot disturb the loops pytest-asyncio gives the async tests of other modules.
    runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)
    system = LocalSystem(database, simulator=simulator)
    runner.run(system.__aenter__())
    try:
        yield Live(runner, system)
    finally:
        runner.run(system.__aexit__(None, None, None))
        runner.close()


# helpers


async def post(
    system: LocalSystem, url: str, body: bytes | AsyncIterator[bytes], headers: dict[str, str]
) -> Answer:
    assert system.session is not None
    async with system.session.post(url, data=body, headers=headers) as reply:
        return Answer(reply.status, reply.content_type, await reply.text(errors="replace"))


def post_report(live: Live, body: bytes, headers: dict[str, str] | None = None) -> Answer:
    sent = {"Content-Type": "application/json;charset=utf-8", **live.system.report_headers()}
    sent.update(headers or {})
    return live.run(post(live.system, live.system.report_url, body, sent))


def assert_json_code(answer: Answer) -> int:
    """The webhook always answers the gateway's envelope: JSON with an int `code`."""
    assert answer.status < 500, answer
    assert answer.content_type == "application/json", answer
    envelope = answer.json()
    assert isinstance(envelope, dict), answer
    assert type(envelope.get("code")) is int, answer
    assert (envelope["code"] == 0) == (answer.status == 200), answer
    return int(envelope["code"])


def gateway_sends(system: LocalSystem) -> int:
    return sum(1 for operation, _ in system.gateway.requests if operation == "send")


def read_reports(live: Live) -> list[dict[str, Any]]:
    return records(live.system, "SELECT * FROM reports ORDER BY id")


# strategies

any_text = st.text(st.characters(exclude_categories=()), max_size=40)  # lone surrogates too
json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | any_text
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(any_text, children, max_size=5)
    ),
    max_leaves=25,
)
digits = st.from_regex(r"\A[0-9]{1,20}\Z")
good_report = st.fixed_dictionaries(
    {
        "msgId": digits,
        "mobile": st.from_regex(r"\A\+?[0-9]{6,15}\Z"),
        "status": st.sampled_from([0, 1, 2, "0", "1", "2"]),
    },
    optional={
        "errorCode": st.sampled_from(["DELIVRD", "UNDELIV", "EXPIRED", "16", ""]),
        "desc": st.text(max_size=40),  # no lone surrogates: this strategy must be storable
        "timestamp": st.from_regex(r"\A[0-9]{12,14}\Z"),
    },
)
not_a_string = (
    st.lists(json_leaves, max_size=3)
    | st.dictionaries(st.text(max_size=5), json_leaves, max_size=3)
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
)
wrong_for_required = {
    "msgId": not_a_string | st.none() | st.just("") | st.from_regex(r"\A[0-9]*[a-z._-][0-9]*\Z"),
    "mobile": not_a_string | st.none() | st.just("") | st.from_regex(r"\A[0-9]*[a-z._-][0-9]*\Z"),
    "status": (
        st.lists(json_leaves, max_size=3)
        | st.dictionaries(st.text(max_size=5), json_leaves, max_size=3)
        | st.booleans()
        | st.none()
        | st.from_regex(r"\A[0-9]*[a-z._-][0-9]*\Z")
    ),
}


# the report webhook


@FUZZ
@given(body=json_values)
def test_report_webhook_answers_any_json_with_an_int_code_and_refuses_non_reports(
    live: Live, body: Any
) -> None:
    answer = post_report(live, json.dumps(body).encode())
    code = assert_json_code(answer)
    if not isinstance(body, dict) or not {"msgId", "mobile", "status"} <= body.keys():
        assert answer.status == 400 and code != 0, (body, answer)


@FUZZ
@given(report=good_report)
def test_report_webhook_stores_well_formed_reports(live: Live, report: dict[str, Any]) -> None:
    answer = post_report(live, json.dumps(report).encode())
    assert answer.status == 200, (report, answer)
    assert answer.json() == {"code": 0, "msg": "ok"}


@FUZZ
@given(report=good_report, field=st.sampled_from(sorted(wrong_for_required)), data=st.data())
def test_report_with_a_wrong_type_in_a_required_field_is_a_400(
    live: Live, report: dict[str, Any], field: str, data: st.DataObject
) -> None:
    report[field] = data.draw(wrong_for_required[field], label=field)
    answer = post_report(live, json.dumps(report).encode())
    assert answer.status == 400, (report, answer)
    assert assert_json_code(answer) != 0


@FUZZ
@given(
    report=good_report,
    field=st.sampled_from(["errorCode", "desc", "timestamp"]),
    value=not_a_string,
)
def test_report_with_a_wrong_type_in_an_optional_field_never_gets_a_500(
    live: Live, report: dict[str, Any], field: str, value: Any
) -> None:
    report[field] = value
    answer = post_report(live, json.dumps(report).encode())
    assert answer.status in (200, 400), (report, answer)
    assert_json_code(answer)


@FUZZ
@given(
    report=good_report,
    field=st.sampled_from(["msgId", "mobile", "status", "errorCode", "desc", "timestamp", "x"]),
    length=st.integers(min_value=_FIELD_LIMIT + 1, max_value=60_000),
    char=st.sampled_from(["9", "a", "€", "😀", "\u202e", "\x00"]),
)
def test_report_with_a_huge_string_is_refused_or_413_never_a_500(
    live: Live, report: dict[str, Any], field: str, length: int, char: str
) -> None:
    report[field] = char * length
    body = json.dumps(report, ensure_ascii=False).encode()
    answer = post_report(live, body)
    assert_json_code(answer)
    if len(body) > MAX_REPORT_BODY:
        assert answer.status == 413, (len(body), answer)
    elif field in ("msgId", "mobile", "status"):
        assert answer.status == 400, (field, length, answer)
    else:
        assert answer.status in (200, 400), answer


@FUZZ
@given(body=st.binary(max_size=4000))
def test_report_webhook_answers_random_bytes_with_a_json_400(live: Live, body: bytes) -> None:
    answer = post_report(live, body)
    assert answer.status == 400, (body, answer)
    assert assert_json_code(answer) != 0


@FUZZ
@given(
    report=good_report,
    junk=st.sampled_from(
        [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80", b"\xc0\xaf"]
    ),
)
def test_report_with_bad_utf8_is_a_json_400(
    live: Live, report: dict[str, Any], junk: bytes
) -> None:
    report["desc"] = "JUNK"
    body = json.dumps(report).encode().replace(b"JUNK", junk)
    answer = post_report(live, body)
    assert answer.status == 400, (body, answer)
    assert assert_json_code(answer) != 0


@pytest.mark.parametrize("body", [b"", b" ", b"\n", b"null", b"{}", b"[]"], ids=repr)
def test_report_webhook_answers_empty_or_trivial_body_with_a_json_400(
    live: Live, body: bytes
) -> None:
    answer = post_report(live, body)
    assert answer.status == 400, answer
    assert assert_json_code(answer) == 1001


OVER_CLIENT_MAX = pytest.param(1024 * 1024, id="1 MiB")


@pytest.mark.parametrize("size", [MAX_REPORT_BODY + 1, 200 * 1024, OVER_CLIENT_MAX])
def test_report_body_over_64_kib_is_a_json_413(live: Live, size: int) -> None:
    body = b'{"msgId": "1", "mobile": "2348031000010", "status": 0, "desc": "'
    body += b"x" * (size - len(body) - 2) + b'"}'
    assert len(body) == size
    answer = post_report(live, body)
    assert answer.status == 413, answer
    assert assert_json_code(answer) != 0


async def _in_pieces(head: bytes, piece: bytes, count: int, tail: bytes) -> AsyncIterator[bytes]:
    yield head
    await asyncio.sleep(0.1)
    for _ in range(count):
        yield piece
    yield tail


def test_report_body_over_64_kib_sent_in_pieces_is_a_json_413(live: Live) -> None:
    head = b'{"msgId": "1", "mobile": "2348031000010", "status": 0, "desc": "'
    body = _in_pieces(head, b"x" * 1024, 70, b'"}')
    headers = {"Content-Type": "application/json", **live.system.report_headers()}
    answer = live.run(post(live.system, live.system.report_url, body, headers))
    assert answer.status == 413, answer
    assert_json_code(answer)


def test_report_sent_in_pieces_is_read_whole(live: Live) -> None:
    head = b'{"msgId": "240924170907169917", '
    body = _in_pieces(head, b" ", 10, b'"mobile": "2348031000010", "status": 0}')
    headers = {"Content-Type": "application/json", **live.system.report_headers()}
    answer = live.run(post(live.system, live.system.report_url, body, headers))
    assert answer.status == 200, answer


def test_report_body_of_exactly_64_kib_is_read(live: Live) -> None:
    body = b'{"msgId": "1", "mobile": "2348031000010", "status": 0, "x": "'
    body += b"x" * (MAX_REPORT_BODY - len(body) - 2) + b'"}'
    assert len(body) == MAX_REPORT_BODY
    answer = post_report(live, body)
    assert answer.status == 200, answer


def test_reports_table_holds_only_complete_rows_after_fuzzing(live: Live) -> None:
    """Runs after the fuzzing above: every stored report names a digit msgId and mobile."""
    sure = {"msgId": "240924170907169917", "mobile": "2348031000010", "status": 0}
    assert post_report(live, json.dumps(sure).encode()).status == 200
    rows = read_reports(live)
    assert rows, "the well-formed reports should have been stored"
    for row in rows:
        assert isinstance(row["msg_id"], str) and ASCII_DIGITS.fullmatch(row["msg_id"]), dict(row)
        assert isinstance(row["mobile"], str) and ASCII_DIGITS.fullmatch(row["mobile"]), dict(row)
        assert row["received_at"] and row["source"] and row["outcome"], dict(row)
        assert row["status"] is None or isinstance(row["status"], int), dict(row)
        assert row["msg_id"] in row["body"] and row["mobile"] in row["body"], dict(row)


# the Slack endpoint

header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
slack_bodies = (
    st.binary(max_size=3000)
    | st.text(max_size=3000).map(str.encode)
    | st.dictionaries(st.text(max_size=20), st.text(max_size=200), max_size=8).map(
        lambda form: "&".join(f"{k}={v}" for k, v in form.items()).encode()
    )
)


@st.composite
def unsigned_headers(draw: st.DrawFn) -> dict[str, str]:
    """Headers Slack might send, with any signature but the right one."""
    headers: dict[str, str] = {}
    if draw(st.booleans()):
        headers["Content-Type"] = draw(
            st.sampled_from(["application/x-www-form-urlencoded", "text/plain", "multipart/x"])
        )
    if draw(st.booleans()):
        # a current timestamp lets the signature check itself be reached
        if draw(st.booleans()):
            stamp = int(time.time()) + draw(st.integers(min_value=-10, max_value=10))
        else:
            stamp = draw(st.integers(min_value=0, max_value=2**62))
        headers["X-Slack-Request-Timestamp"] = str(stamp)
    if draw(st.booleans()):
        headers["X-Slack-Signature"] = draw(
            st.from_regex(r"\Av0=[0-9a-f]{64}\Z") | header_text.map(str.strip)
        )
    for name, value in draw(
        st.dictionaries(st.from_regex(r"\A[A-Za-z0-9-]{1,20}\Z"), header_text, max_size=4)
    ).items():
        headers["X-Fuzz-" + name] = value.strip()
    return headers


def _is_ssl_check(body: bytes) -> bool:
    """Slack's SSL check is answered 200 by Bolt before any signature check, by design."""
    return b"ssl_check=" in body


@FUZZ
@given(body=slack_bodies, headers=unsigned_headers())
def test_slack_endpoint_refuses_unsigned_requests_with_401(
    live: Live, body: bytes, headers: dict[str, str]
) -> None:
    assume(not _is_ssl_check(body))
    answer = live.run(post(live.system, live.system.url + "/slack/events", body, headers))
    assert answer.status == 401, (body, headers, answer)


@pytest.mark.parametrize("size", [MAX_SLACK_BODY + 1, 1024 * 1024])
def test_slack_body_over_256_kib_is_a_413(live: Live, size: int) -> None:
    body = b"command=%2Fsms&text=" + b"x" * (size - 20)
    answer = live.run(post(live.system, live.system.url + "/slack/events", body, {}))
    assert answer.status == 413, answer


slash_text = st.text(max_size=5000) | st.text(
    st.sampled_from(list("<>&@!|#^\"'“” \t\n\r\x00\x07\u202e\u200f\u05d0😀👩‍👩‍👧+0123456789,-.()")),
    max_size=5000,
)
prefixes = st.sampled_from(["", "send ", "page ", "status ", "balance ", "help ", "SEND "])


def _might_send(text: str) -> bool:
    lowered = text.lower()
    return "send" in lowered or "page" in lowered


@FUZZ
@given(text=st.tuples(prefixes, slash_text).map("".join))
def test_signed_slash_command_with_any_text_is_acked_and_never_sends_by_accident(
    live: Live, text: str
) -> None:
    system = live.system
    before = gateway_sends(system)
    status, ack = live.run(system.slash(text))
    assert status == 200, (text, ack)
    words = text.split()
    answered_later = bool(words) and words[0].lower() in ("balance", "status")
    assert ack.strip() or answered_later, text
    if not _might_send(text):
        assert gateway_sends(system) == before, text


_senders = itertools.count(1)


@FUZZ
@given(message=slash_text.filter(lambda m: m.strip() and not m.lstrip().startswith("-")))
def test_signed_valid_send_with_any_message_is_acked_and_sent_at_most_once(
    live: Live, message: str
) -> None:
    system = live.system
    # a channel and a user per example: the bot paces its posts per channel, as Slack asks,
    # and limits how many sends one user makes in an hour
    n = next(_senders)
    before, answered = gateway_sends(system), len(system.slack.responses)
    command = f"send +2348031000010 -- {message}"
    status, ack = live.run(system.slash(command, user_id=f"U0FUZZ{n}", channel_id=f"C0FUZZ{n}"))
    assert status == 200 and ack.strip(), (message, ack)
    if ack.startswith("Sending your SMS"):
        live.run(system.wait_for(lambda: len(system.slack.responses) > answered, timeout=5))
        assert gateway_sends(system) == before + 1
        confirmation = system.slack.responses[answered]
        assert confirmation["response_type"] == "ephemeral"
        assert "Sent to +234 803 100 0010" in confirmation["text"], confirmation
    else:
        assert gateway_sends(system) == before


def test_slack_endpoint_still_serves_a_real_send_after_the_fuzzing(live: Live) -> None:
    system = live.system
    before = gateway_sends(system)
    status, ack = live.run(system.slash("send +2348031000010 after the storm", user_id="U0CALM"))
    assert status == 200 and "Sending your SMS to 1 number" in ack
    live.run(system.wait_for(lambda: gateway_sends(system) == before + 1))


# bodies that crashed the webhook when this file was written (fixed in 67eb484), and one
# that still does


def test_report_with_deeply_nested_json_is_a_json_400(live: Live) -> None:
    answer = post_report(live, b"[" * 30_000 + b"]" * 30_000)
    assert answer.status == 400, answer
    assert_json_code(answer)


TOO_MANY_DIGITS = pytest.param("9" * (INT_MAX_STR_DIGITS + 1), id="more digits than int() reads")


@pytest.mark.parametrize("status", ["²", "٣", "9" * 150, TOO_MANY_DIGITS])
def test_report_with_an_unreadable_digit_status_is_a_json_400(live: Live, status: str) -> None:
    body = {"msgId": "1", "mobile": "2348031000010", "status": status}
    answer = post_report(live, json.dumps(body).encode())
    assert answer.status == 400, answer
    assert_json_code(answer)


@pytest.mark.parametrize(
    "body",
    [
        b'{"msgId": "1", "mobile": "2348031000010", "status": 18446744073709551616}',
        b'{"msgId": "1", "mobile": "2348031000010", "status": 0, "desc": "\\ud800"}',
        b'{"msgId": "1", "mobile": "2348031000010", "status": 0, "desc": "\xed\xa0\x80"}',
    ],
    ids=["2**64 status", "escaped lone surrogate", "utf-8 encoded surrogate"],
)
def test_report_that_can_never_be_stored_is_a_400_not_push_again(live: Live, body: bytes) -> None:
    answer = post_report(live, body)
    assert answer.status == 400, answer
    assert_json_code(answer)


async def test_report_with_non_ascii_digits_is_refused(system: LocalSystem) -> None:
    body = json.dumps({"msgId": "٢٤٠٩٢٤", "mobile": "٢٣٤٨٠٣١٠٠٠٠١٠", "status": 0}).encode()
    answer = await post(system, system.report_url, body, system.report_headers())
    assert answer.status == 400, answer


# bodies that once crashed the Slack endpoint before its signature was checked


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{", "application/x-www-form-urlencoded"),
        (b"payload=not-json", "application/x-www-form-urlencoded"),
        (b"abc", "application/json"),
        (b"[1]", "application/json"),
    ],
)
def test_unsigned_slack_request_with_unparsable_body_is_a_401(
    live: Live, body: bytes, content_type: str
) -> None:
    headers = {"Content-Type": content_type}
    answer = live.run(post(live.system, live.system.url + "/slack/events", body, headers))
    assert answer.status == 401, answer


@pytest.mark.parametrize("stamp", ["x", "", "1.5", "0x1f"])
def test_unsigned_slack_request_with_non_numeric_timestamp_is_a_401(live: Live, stamp: str) -> None:
    headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + "0" * 64}
    answer = live.run(post(live.system, live.system.url + "/slack/events", b"a=b", headers))
    assert answer.status == 401, answer
