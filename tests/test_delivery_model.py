"""Delivery tracking against a model: the real bot over HTTP, and the pure rules it stands on.

The state machine starts one `LocalSystem` (bot + gateway simulator + Slack stand-in) per run
and drives it only through its public surfaces: `/sms send` and `/sms status` as signed slash
commands, pushed reports POSTed to the webhook, and restarts of the bot on the same database.
After every step it checks the database (read-only) and the channel against a small model.

How the model stays exact: the simulator never reports on its own. Every number is "silent"
(`silent_suffixes` covers all digits) and `report_delay` is an hour, so it pushes nothing and its
status API answers every recipient with `status 1` ("no report yet"). So every delivery report
comes from the test, and `/sms status <msgId>` is a poll whose answer is known in advance: each
unfinished recipient of that send becomes `pending`, finished ones are not even asked about.
The simulator's msgIds are chosen by the test (its msgId generator is replaced on the instance),
so reports can also be pushed for the msgId the *next* send will get (gateway-api §7.7).

The model, per (msgId, mobile): `accepted` after the send; a poll or an in-flight report
(`ENROUTE`) makes it `pending`; the first final report (delivered/failed) wins for ever; anything
after that (duplicates, stale or conflicting reports) changes nothing but is kept in the report
log. What each pushed report stands for is written out here (gateway-api §7.1), not taken from
`bot.delivery`: `DELIVRD` is delivered whatever the status, `UNDELIV`/`EXPIRED` failed, a bare
`0` delivered, a bare `1` (in a push) or `2` failed.

The send path is in the model too. Each `/sms send` names its phones in any of the ways a
person writes them, repeated or not, and the gateway (the simulator's `send_*` knobs) answers
it with one outcome: accepted; a documented refusal (1001-1011), after which nothing is kept;
or an answer that leaves the SMS maybe sent (9999, an undocumented code, a body that is not
JSON, a timeout, a connection dropped after the request), after which the send is kept with
its recipients `unknown` and no msgId. A crash can come while the gateway holds a send; after
the restart that send is there, `unknown`. The properties: each command makes one gateway
request naming each phone once, and no request is ever made again on the bot's own; after
every restart `/sms status` lists the channel's latest sends with the model's counts and each
kept send has one tracked message; a final state seen in the database never changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from bot.clock import utc_now
from bot.gateway import secret_digest
from bot.services import SERVICES
from sms import phones
from sms.delivery import Report, ReportSource, State, apply, classify
from standins.gateway_simulator import SimulatorConfig
from standins.local import DEMO_CHANNEL, LocalSystem
from storage import NewRecipient, NewSend, Outbox, Reports, Sends, Store
from tests.conftest import SystemFactory
from tests.stored import rows

# Part one: the pure rules, pinned exhaustively.

FINAL = {State.DELIVERED, State.FAILED}


@pytest.mark.parametrize("current", list(State))
@pytest.mark.parametrize("incoming", list(State))
def test_apply_never_moves_a_final_state(current: State, incoming: State) -> None:
    state, outcome = apply(current, incoming)
    if current in FINAL:
        assert state == current
        assert outcome == ("duplicate" if incoming == current else "conflict")
    elif incoming in FINAL:
        assert (state, outcome) == (incoming, "applied")
    elif incoming == State.PENDING and current in (State.ACCEPTED, State.SCHEDULED):
        assert (state, outcome) == (State.PENDING, "applied")
    else:
        # Nothing in flight moves a recipient backwards or sideways.
        assert state == current
        assert outcome == ("duplicate" if incoming == current else "stale")


def test_apply_is_idempotent_and_a_final_state_absorbs_any_sequence() -> None:
    for first, second in itertools.product(State, State):
        state, _ = apply(first, second)
        assert apply(state, second)[0] == state
    for start in FINAL:
        state = start
        for incoming in [*State, *reversed(State)]:
            state, _ = apply(state, incoming)
        assert state == start


D, F, P = State.DELIVERED, State.FAILED, State.PENDING
# (status, errorCode) -> (state for a pushed report, state for a status-query answer)
CLASSIFY_TABLE: dict[tuple[int, str], tuple[State, State]] = {
    (0, "DELIVRD"): (D, D),
    (1, "DELIVRD"): (D, D),
    (2, "DELIVRD"): (D, D),
    (0, "UNDELIV"): (F, F),
    (1, "UNDELIV"): (F, F),
    (2, "UNDELIV"): (F, F),
    (0, "EXPIRED"): (F, F),
    (1, "EXPIRED"): (F, F),
    (2, "EXPIRED"): (F, F),
    (0, "REJECTD"): (F, F),
    (1, "REJECTD"): (F, F),
    (2, "REJECTD"): (F, F),
    # An in-flight operator state decides even against the number.
    (0, "ENROUTE"): (P, P),
    (1, "ENROUTE"): (P, P),
    (2, "ENROUTE"): (P, P),
    # No operator state: the number decides; `1` is "failed" in a push, "no report yet" in a poll.
    (0, ""): (D, D),
    (1, ""): (F, P),
    (2, ""): (F, F),
    # An operator code we do not know (seen in the document's own example): same as none.
    (0, "16"): (D, D),
    (1, "16"): (F, P),
    (2, "16"): (F, F),
}


@pytest.mark.parametrize(("status", "error_code"), list(CLASSIFY_TABLE))
@pytest.mark.parametrize("source", ["push", "poll"])
def test_classify_table(status: int, error_code: str, source: ReportSource) -> None:
    push, poll = CLASSIFY_TABLE[(status, error_code)]
    report = Report("240924170907169917", "2348031000010", status, error_code)
    assert classify(report, source) == (push if source == "push" else poll)


@pytest.mark.parametrize(("status", "error_code"), list(CLASSIFY_TABLE))
def test_classify_reads_error_code_case_and_spaces_loosely(status: int, error_code: str) -> None:
    loose = Report("1", "2348031000010", status, f"  {error_code.lower()} ")
    exact = Report("1", "2348031000010", status, error_code)
    for source in ("push", "poll"):
        assert classify(loose, source) == classify(exact, source)


# Part two: the running system against a model.

POOL = ("2348031000011", "2348031000022", "2348031000033", "2348031000044", "2348031000055")
TEXTS = ("Your code is 279275", "DB primary down, see #inc-42", "hello")
DIGITS = tuple("0123456789")
STEP_TIMEOUT = 5.0
# No rate limit in the way of a long run, and the bot's own status polling never due (it would
# move recipients to `pending` behind the model's back; `/sms status` is the poll we control).
QUIET_BOT = {
    "SMS_RATE_LIMIT": "100000",
    "SMS_POLL_AFTER": "86400",
    "SMS_UPDATE_INTERVAL": "0.05",
    "SMS_GATEWAY_TIMEOUT": "1.5",
}
# What a tracked message says in place of a msgId when the gateway's answer was lost.
LOST = "unknown (the gateway's answer was lost)"
# Seconds the simulator holds a send while the bot crashes (longer than the bot's timeout would
# matter only if the crash came late; it comes as soon as the request is in the gateway's hands).
HOLD = 3.0


@dataclass(frozen=True)
class Kind:
    """A pushed report's values and what the model says they stand for."""

    name: str
    status: int
    error_code: str
    means: State


KINDS = (
    Kind("delivered", 0, "DELIVRD", State.DELIVERED),
    Kind("failed", 2, "UNDELIV", State.FAILED),
    Kind("status 1 UNDELIV", 1, "UNDELIV", State.FAILED),
    Kind("status 2 DELIVRD", 2, "DELIVRD", State.DELIVERED),
    Kind("bare 0", 0, "", State.DELIVERED),
    Kind("bare 1 in a push", 1, "", State.FAILED),
    Kind("status 2 code 16", 2, "16", State.FAILED),
    Kind("expired", 2, "EXPIRED", State.FAILED),
    Kind("in flight", 1, "ENROUTE", State.PENDING),
)


@dataclass(frozen=True)
class Outcome:
    """How the gateway answers one send (simulator knobs) and what the model says it means:
    `sent` (a msgId comes back), `refused` (a documented "not sent" code) or `unknown`."""

    name: str
    knobs: tuple[tuple[str, Any], ...]
    means: str


ACCEPTED = Outcome("accepted", (), "sent")
REFUSALS = tuple(
    Outcome(f"refused {code}", (("send_code", code),), "refused") for code in range(1001, 1012)
)
MAYBE_SENT = (
    Outcome("9999", (("send_code", 9999),), "unknown"),
    Outcome("undocumented code", (("send_code", 4242),), "unknown"),
    Outcome("body not JSON", (("send_body", "OK, queued"),), "unknown"),
    Outcome("timeout", (("send_delay", 2.0),), "unknown"),
    Outcome("connection dropped after the request", (("send_drop", True),), "unknown"),
)
NO_FAULT = (("send_code", None), ("send_body", None), ("send_delay", 0.0), ("send_drop", False))
# One recipient written as a person would: +234…, 234… or "+234 803 100 0011" (in quotes).
RECIPIENTS = st.lists(st.tuples(st.sampled_from(POOL), st.integers(0, 2)), min_size=1, max_size=4)


def written(mobile: str, form: int) -> str:
    if form == 2:
        return f'"+{mobile[:3]} {mobile[3:6]} {mobile[6:9]} {mobile[9:]}"'
    return ("+" if form == 0 else "") + mobile


def model_next(current: State, incoming: State) -> State:
    """First final report wins for ever; before that anything in flight means pending."""
    if current in FINAL:
        return current
    return incoming


async def push_report(system: LocalSystem, body: dict[str, Any]) -> None:
    """POST one report to the bot's webhook as the gateway does; it must answer code 0, and
    the model's next step sees the report applied."""
    assert system.session is not None and system.settings is not None
    config = system.gateway.config
    headers = {
        "Content-Type": "application/json;charset=utf-8",
        "appKey": config.app_key,
        "appSecret": secret_digest(config.app_secret),
    }
    url = system.url + system.settings.sms_report_path  # a restart changes system.url
    async with system.session.post(url, json=body, headers=headers) as response:
        answer = await response.json(content_type=None)
        assert (response.status, answer) == (200, {"code": 0, "msg": "ok"}), body
    await system.reports_applied()  # stored when answered, applied just after


def report_body(msg_id: str, mobile: str, kind: Kind) -> dict[str, Any]:
    return {
        "mobile": mobile,
        "msgId": msg_id,
        "timestamp": "20240924050907",
        "status": kind.status,
        "desc": "",
        "errorCode": kind.error_code,
    }


async def crash_bot(system: LocalSystem) -> None:
    """What a crash does to the commands in flight: each stops where it stands (here, waiting
    for the gateway's answer) and writes nothing more. Then the bot starts on the same database.
    """
    assert system.app is not None
    tasks = list(system.app[SERVICES].inflight._tasks)
    assert tasks, "no command in flight to crash"
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await system.restart_bot()


@dataclass(frozen=True)
class StoredSend:
    """A send the bot keeps: its msgId (None when the gateway's answer was lost), its phones,
    and its tracked message."""

    msg_id: str | None
    mobiles: tuple[str, ...]
    ts: str


class DeliveryMachine(RuleBasedStateMachine):
    """One LocalSystem per run; see the module docstring for how the model stays exact."""

    sends = Bundle("sends")

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="smsbot-model-"))
        self.database = self.folder / "bot.db"
        self.runner = asyncio.Runner()
        self.system = LocalSystem(
            self.database,
            env=QUIET_BOT,
            simulator=SimulatorConfig(
                report_delay=3600, fail_suffixes=(), silent_suffixes=DIGITS, retry_delay=0.1
            ),
        )
        self._ids = itertools.count(1)
        self.next_msg_id = self._fresh_msg_id()
        try:
            self.runner.run(self.system.__aenter__())
        except BaseException:
            self.runner.close()
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        self.system.gateway._new_msg_id = self._take_msg_id  # type: ignore[method-assign]
        # The model.
        self.states: dict[tuple[str, str], State] = {}
        self.sent: dict[str, StoredSend] = {}  # sends with a msgId, by msgId
        self.stored: list[StoredSend] = []  # every send the bot keeps, oldest first
        self.orphans: Counter[tuple[str, str]] = Counter()
        self.early: list[tuple[str, State]] = []  # reports pushed for `next_msg_id`, in order
        self.report_rows = 0
        self.posted: list[dict[str, Any]] = []
        self.commands = 0  # send commands that reached the gateway: one request each
        self.finals: dict[tuple[str, str], State] = {}  # final states seen in the database

    def teardown(self) -> None:
        try:
            self.runner.run(self.system.__aexit__(None, None, None))
        finally:
            self.runner.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    # msgIds: 18 digits like the gateway's, chosen here so reports can come before the send

    def _fresh_msg_id(self) -> str:
        return f"25010112{next(self._ids):010d}"

    def _take_msg_id(self, _now: datetime) -> str:
        msg_id, self.next_msg_id = self.next_msg_id, self._fresh_msg_id()
        return msg_id

    # talking to the system

    def push(self, msg_id: str, mobile: str, kind: Kind) -> None:
        self.repost(report_body(msg_id, mobile, kind), kind.means)

    def repost(self, body: dict[str, Any], means: State) -> None:
        self.runner.run(push_report(self.system, body))
        self.posted.append({**body, "means": means})
        self.report_rows += 1
        key = (body["msgId"], body["mobile"])
        if key in self.states:
            self.states[key] = model_next(self.states[key], means)
        elif body["msgId"] == self.next_msg_id:
            self.early.append((body["mobile"], means))
        else:
            self.orphans[key] += 1

    def gateway_sends(self) -> list[dict[str, Any]]:
        return [body for op, body in self.system.gateway.requests if op == "send"]

    def configure(self, knobs: tuple[tuple[str, Any], ...]) -> None:
        for name, value in (*NO_FAULT, *knobs):
            setattr(self.system.gateway.config, name, value)

    def new_message(self, known: set[str]) -> Any:
        fresh = [m for m in self.system.slack.channel_messages(DEMO_CHANNEL) if m.ts not in known]
        return fresh[0] if fresh else None

    async def _send(self, words: str, text: str, outcome: Outcome) -> StoredSend | None:
        system = self.system
        known = {m.ts for m in system.slack.channel_messages(DEMO_CHANNEL)}
        answers = len(system.slack.responses)
        msg_id = self.next_msg_id
        status, ack = await system.slash(f"send {words} {text}")
        assert status == 200 and "Sending your SMS" in ack, ack
        await system.wait_for(lambda: len(system.slack.responses) > answers, STEP_TIMEOUT)
        told = str(system.slack.responses[answers]["text"])
        if outcome.means == "refused":
            assert "Nothing was sent" in told and "may or may not" not in told, told
            return None
        message = await system.wait_for(lambda: self.new_message(known), STEP_TIMEOUT)
        if outcome.means == "unknown":
            assert "may or may not have been sent" in told and "will not re-send" in told, told
            assert LOST in message.text, message.text
            return StoredSend(None, (), message.ts)
        assert msg_id in told and msg_id in message.text, (told, message.text)
        assert system.gateway.sent[-1]["msgId"] == msg_id
        return StoredSend(msg_id, (), message.ts)

    def one_request(self, before: int, mobiles: tuple[str, ...]) -> None:
        """The command made one gateway request, naming each of its phones once."""
        made = self.gateway_sends()[before:]
        assert len(made) == 1, made
        phones_sent = made[0]["mobile"].split(",")
        assert sorted(phones_sent) == sorted(mobiles), (phones_sent, mobiles)
        self.commands += 1

    def lost_msg_id(self, consumed: str) -> None:
        """The gateway took `consumed` for a send whose answer the bot never read: reports
        pushed early for it stay orphans."""
        for mobile, _ in self.early:
            self.orphans[(consumed, mobile)] += 1
        self.early = []

    def keep(self, send: StoredSend) -> None:
        self.stored.append(send)
        if send.msg_id is not None:
            self.sent[send.msg_id] = send

    def recent_sends_are_listed(self) -> None:
        """`/sms status` in the channel lists its latest sends, each with the model's counts."""
        system = self.system
        answers = len(system.slack.responses)

        async def run() -> str:
            status, _ = await system.slash("status")
            assert status == 200
            await system.wait_for(lambda: len(system.slack.responses) > answers, STEP_TIMEOUT)
            return str(system.slack.responses[-1]["text"])

        text = self.runner.run(run())
        lines = [line for line in text.splitlines() if line.startswith("• ")]
        recent = self.stored[::-1][:5]
        assert len(lines) == len(recent), text
        for line, send in zip(lines, recent, strict=True):
            assert f"msgId {send.msg_id or 'no msgId'}: {self.counts(send)}" in line, (line, send)

    # rules

    @rule(
        target=sends,
        recipients=RECIPIENTS,
        text=st.sampled_from(TEXTS),
        outcome=st.one_of(
            st.just(ACCEPTED), st.sampled_from(REFUSALS), st.sampled_from(MAYBE_SENT)
        ),
    )
    def send(self, recipients: list[tuple[str, int]], text: str, outcome: Outcome) -> Any:
        mobiles = tuple(dict.fromkeys(mobile for mobile, _ in recipients))
        words = " ".join(written(mobile, form) for mobile, form in recipients)
        before, msg_id = len(self.gateway_sends()), self.next_msg_id
        self.configure(outcome.knobs)
        try:
            sent = self.runner.run(self._send(words, text, outcome))
        finally:
            self.configure(())
        self.one_request(before, mobiles)
        if sent is None or sent.msg_id is None:
            if self.next_msg_id != msg_id:
                self.lost_msg_id(msg_id)
            if sent is not None:
                self.keep(StoredSend(None, mobiles, sent.ts))
            return multiple()
        self.keep(StoredSend(msg_id, mobiles, sent.ts))
        for mobile in mobiles:
            self.states[(msg_id, mobile)] = State.ACCEPTED
        # Reports that came before the send apply now, in the order they arrived.
        for mobile, means in self.early:
            key = (msg_id, mobile)
            if key in self.states:
                self.states[key] = model_next(self.states[key], means)
            else:
                self.orphans[key] += 1
        self.early = []
        return msg_id

    @rule(recipients=RECIPIENTS, text=st.sampled_from(TEXTS))
    def crash_while_the_gateway_holds_a_send(
        self, recipients: list[tuple[str, int]], text: str
    ) -> None:
        mobiles = tuple(dict.fromkeys(mobile for mobile, _ in recipients))
        words = " ".join(written(mobile, form) for mobile, form in recipients)
        before, msg_id = len(self.gateway_sends()), self.next_msg_id
        system = self.system
        known = {m.ts for m in system.slack.channel_messages(DEMO_CHANNEL)}

        async def run() -> Any:
            status, _ = await system.slash(f"send {words} {text}")
            assert status == 200
            await system.wait_for(lambda: len(self.gateway_sends()) > before, STEP_TIMEOUT)
            await crash_bot(system)
            return await system.wait_for(lambda: self.new_message(known), STEP_TIMEOUT)

        self.configure((("send_delay", HOLD),))
        try:
            message = self.runner.run(run())
        finally:
            self.configure(())
        self.one_request(before, mobiles)
        self.lost_msg_id(msg_id)
        assert LOST in message.text, message.text
        self.keep(StoredSend(None, mobiles, message.ts))
        self.recent_sends_are_listed()

    @rule(msg_id=sends, pick=st.integers(0, 2), kind=st.sampled_from(KINDS))
    def push_report(self, msg_id: str, pick: int, kind: Kind) -> None:
        mobiles = self.sent[msg_id].mobiles
        self.push(msg_id, mobiles[pick % len(mobiles)], kind)

    @precondition(lambda self: any(s in FINAL for s in self.states.values()))
    @rule(data=st.data())
    def conflicting_report(self, data: st.DataObject) -> None:
        finished = sorted(k for k, s in self.states.items() if s in FINAL)
        msg_id, mobile = data.draw(st.sampled_from(finished), label="recipient")
        other = State.FAILED if self.states[(msg_id, mobile)] == State.DELIVERED else D
        kind = data.draw(st.sampled_from([k for k in KINDS if k.means == other]), label="kind")
        self.push(msg_id, mobile, kind)

    @precondition(lambda self: bool(self.posted))
    @rule(data=st.data())
    def repeat_report(self, data: st.DataObject) -> None:
        posted = data.draw(st.sampled_from(self.posted), label="report")
        body = {k: v for k, v in posted.items() if k != "means"}
        self.repost(body, posted["means"])

    @rule(suffix=st.integers(0, 10**6), mobile=st.sampled_from(POOL), kind=st.sampled_from(KINDS))
    def orphan_report(self, suffix: int, mobile: str, kind: Kind) -> None:
        self.push(f"77{suffix:016d}", mobile, kind)

    @rule(mobile=st.sampled_from(POOL), kind=st.sampled_from(KINDS))
    def report_before_send(self, mobile: str, kind: Kind) -> None:
        self.push(self.next_msg_id, mobile, kind)

    @rule(msg_id=sends)
    def poll(self, msg_id: str) -> None:
        system = self.system
        answers = len(system.slack.responses)

        async def run() -> str:
            status, _ = await system.slash(f"status {msg_id}")
            assert status == 200
            await system.wait_for(lambda: len(system.slack.responses) > answers, STEP_TIMEOUT)
            return str(system.slack.responses[-1]["text"])

        text = self.runner.run(run())
        for mobile in self.sent[msg_id].mobiles:
            if self.states[(msg_id, mobile)] not in FINAL:
                self.states[(msg_id, mobile)] = State.PENDING
                self.report_rows += 1
        assert f"*msgId {msg_id}*: {self.counts(self.sent[msg_id])}" in text, text

    @rule()
    def restart(self) -> None:
        self.runner.run(self.system.restart_bot())
        self.recent_sends_are_listed()

    # invariants

    def counts(self, send: StoredSend) -> str:
        if send.msg_id is None:
            return f"0 delivered, 0 failed, 0 pending, {len(send.mobiles)} unknown"
        states = Counter(self.states[(send.msg_id, m)] for m in send.mobiles)
        pending = len(send.mobiles) - states[D] - states[F]
        return f"{states[D]} delivered, {states[F]} failed, {pending} pending"

    def read(self, sql: str) -> list[tuple[Any, ...]]:
        return rows(self.system, sql)

    @invariant()
    def database_matches_model(self) -> None:
        stored = {
            (m, n): State(s)
            for m, n, s in self.read(
                "SELECT msg_id, mobile, state FROM recipients WHERE msg_id IS NOT NULL"
            )
        }
        assert stored == self.states
        lost: dict[int, list[str]] = {}
        for send_id, mobile, state in self.read(
            "SELECT send_id, mobile, state FROM recipients WHERE msg_id IS NULL ORDER BY id"
        ):
            assert state == State.UNKNOWN, (send_id, mobile, state)
            lost.setdefault(send_id, []).append(mobile)
        unanswered = [sorted(s.mobiles) for s in self.stored if s.msg_id is None]
        assert [sorted(lost[k]) for k in sorted(lost)] == unanswered
        assert self.read("SELECT count(*) FROM sends")[0][0] == len(self.stored)
        counted = dict(self.read("SELECT state, count(*) FROM recipients GROUP BY state"))
        kept = dict(self.read("SELECT state, n FROM state_counts WHERE n != 0"))
        assert kept == counted, "the state counts /metrics reads drifted from the rows"
        assert self.read("SELECT count(*) FROM reports")[0][0] == self.report_rows
        orphans = self.read(
            "SELECT msg_id, mobile, count(*) FROM reports WHERE outcome = 'orphan' "
            "GROUP BY msg_id, mobile"
        )
        assert Counter({(m, n): c for m, n, c in orphans}) == self.orphans + Counter(
            (self.next_msg_id, mobile) for mobile, _ in self.early
        )

    @invariant()
    def a_final_state_never_changes(self) -> None:
        for msg_id, mobile, state in self.read(
            "SELECT msg_id, mobile, state FROM recipients WHERE msg_id IS NOT NULL"
        ):
            seen = self.finals.get((msg_id, mobile))
            if seen is not None:
                assert State(state) == seen, (msg_id, mobile, seen, state)
            elif State(state) in FINAL:
                self.finals[(msg_id, mobile)] = State(state)

    @invariant()
    def no_phone_is_sent_again(self) -> None:
        """Every send request the gateway ever got came from a command, once."""
        assert len(self.gateway_sends()) == self.commands

    def channel_problems(self) -> list[str]:
        """What the channel shows that the model disagrees with (empty once settled)."""
        problems = []
        if self.read("SELECT count(*) FROM outbox")[0][0]:
            problems.append("outbox not empty")
        if self.read("SELECT count(*) FROM sends WHERE phase = 'calling'")[0][0]:
            problems.append("a send is still waiting for the gateway")
        shown = self.system.slack.channel_messages(DEMO_CHANNEL)
        if len(shown) != len(self.stored):
            problems.append(f"{len(shown)} tracked messages for {len(self.stored)} sends")
        messages = {m.ts: m for m in shown}
        for sent in self.stored:
            text = messages[sent.ts].text
            label = sent.msg_id or LOST
            if f"{label} from <@U0ALICE>: {self.counts(sent)}" not in text:
                problems.append(f"tracked message {text!r}, model {self.counts(sent)}")
            thread = "\n".join(r.text for r in self.system.slack.thread(DEMO_CHANNEL, sent.ts))
            for mobile in sent.mobiles:
                named = thread.count(phones.mask(mobile))
                failed = bool(sent.msg_id) and self.states[(sent.msg_id, mobile)] == F
                if named != int(failed):
                    problems.append(
                        f"{mobile} of {label} named {named} times in the thread: {thread!r}"
                    )
        return problems

    @invariant()
    def channel_settles_on_model(self) -> None:
        async def settle() -> None:
            try:
                await self.system.wait_for(lambda: not self.channel_problems(), STEP_TIMEOUT)
            except TimeoutError:
                pass

        self.runner.run(settle())
        problems = self.channel_problems()
        assert not problems, problems


def test_delivery_tracking_matches_model() -> None:
    """The machine: what was sent, stored states, channel counts and thread replies all follow
    the model, through every gateway outcome of a send, restarts and crashes mid-send."""
    run_state_machine_as_test(
        DeliveryMachine,
        settings=settings(max_examples=15, stateful_step_count=12, deadline=None),
    )


async def test_failure_reported_before_the_send_is_said_in_the_thread(
    make_system: SystemFactory,
) -> None:
    system = await make_system(
        env=QUIET_BOT, report_delay=3600, silent_suffixes=DIGITS, fail_suffixes=()
    )
    msg_id = "250101129999999999"
    system.gateway._new_msg_id = lambda _now: msg_id  # type: ignore[method-assign]
    fails, delivers = POOL[0], POOL[1]
    await push_report(system, report_body(msg_id, fails, KINDS[1]))
    await system.slash(f"send +{fails},+{delivers} early failure")
    message = await system.wait_for(
        lambda: next(
            (m for m in system.slack.channel_messages(DEMO_CHANNEL) if "1 failed" in m.text), None
        )
    )
    assert f"{msg_id} from <@U0ALICE>: 0 delivered, 1 failed, 1 pending" in message.text
    with contextlib.suppress(TimeoutError):
        await system.wait_for(lambda: system.slack.thread(DEMO_CHANNEL, message.ts), timeout=3)
    replies = system.slack.thread(DEMO_CHANNEL, message.ts)
    assert [phones.mask(fails) in r.text for r in replies] == [True]


async def test_update_queued_while_a_round_is_in_flight_is_not_lost(tmp_path: Path) -> None:
    store = Store(tmp_path / "bot.db", utc_now)
    await store.open()
    sends, reports, outbox = Sends(store), Reports(store), Outbox(store)
    try:
        send = NewSend("T0DEMO", "U0ALICE", DEMO_CHANNEL, "send", "hello")
        msg_id, mobile = "250101129999999998", POOL[0]
        send_id = await sends.begin(send, [NewRecipient(mobile, None, State.UNKNOWN)])
        await sends.answer(send_id, [NewRecipient(mobile, msg_id, State.ACCEPTED)])
        await sends.finish(send_id)
        # The notifier's round reads the outbox while the command is posting the message...
        (seen,) = await outbox.pending(due=utc_now())
        # ...which then records where the message is (and that it shows version 1)...
        await outbox.set_tracked_message(send_id, DEMO_CHANNEL, "1.000001", None, seen.version)
        stale = await sends.load(send_id)
        assert stale is not None and stale.message_ts is not None
        # ...a failure report comes in while the round is editing with what it loaded...
        body = report_body(msg_id, mobile, KINDS[1])
        report = Report(msg_id, mobile, KINDS[1].status, KINDS[1].error_code)
        assert await reports.record([(report, str(body))], "push") == ["applied"]
        # ...and the round finishes with the version it read.
        await outbox.mark_updated(send_id, seen.version)
        assert [p.send_id for p in await outbox.pending()] == [send_id]
    finally:
        await store.close()
