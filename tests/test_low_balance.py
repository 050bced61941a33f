"""Low balance, said once: SMS_LOW_BALANCE, SMS_ADMIN_CHANNEL and the `/sms balance` mark.

Signed slash commands to the running bot, the simulator's balance lowered or raised by the
test (each SMS costs 0.05 CNY there), and a ManualClock for the minute between checks.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest

from bot.balance import CHECK_EVERY
from bot.config import ConfigError, load_settings
from standins.local import DEMO_CHANNEL, LocalSystem
from standins.manual_clock import ManualClock
from standins.slack import ChannelMessage
from tests.alerting import add_integration, firing, notify
from tests.conftest import SystemFactory

ADMIN = "C0ADMIN"
LOW = {"SMS_LOW_BALANCE": "5", "SMS_ADMIN_CHANNEL": ADMIN}
NUMBER = "+2348031000010"


def balance_calls(system: LocalSystem) -> int:
    return sum(operation == "balance" for operation, _ in system.gateway.requests)


def warnings(system: LocalSystem, channel: str) -> list[ChannelMessage]:
    return [m for m in system.slack.channel_messages(channel) if "SMS_LOW_BALANCE" in m.text]


async def send(system: LocalSystem, clock: ManualClock, *, user_id: str = "U0ALICE") -> None:
    """`/sms send` one SMS; returns once the sender has the answer and the bot is quiet."""
    answers = len(system.slack.responses)
    status, _ = await system.slash(f"send {NUMBER} hello", user_id=user_id)
    assert status == 200
    await clock.advance_until(lambda: len(system.slack.responses) > answers, step=0.1)
    assert ":white_check_mark: Sent" in system.slack.responses[-1]["text"]
    await clock.settle()


async def low_system(
    make_system: SystemFactory, balance: str, env: dict[str, str] | None = None
) -> tuple[LocalSystem, ManualClock]:
    clock = ManualClock()
    system = await make_system(
        env=LOW if env is None else env, clock=clock, balance=Decimal(balance)
    )
    return system, clock


async def test_without_a_threshold_sends_never_ask_for_the_balance(system: LocalSystem) -> None:
    await system.slash(f"send {NUMBER} hello")
    await system.wait_for(lambda: system.slack.responses)
    assert balance_calls(system) == 0


async def test_a_fall_below_is_said_once_in_the_admin_channel(make_system: SystemFactory) -> None:
    system, clock = await low_system(make_system, "5.07")
    await send(system, clock)  # 5.02: not below
    assert balance_calls(system) == 1
    assert warnings(system, ADMIN) == []
    await clock.advance(CHECK_EVERY)
    await send(system, clock)  # 4.97: below
    assert balance_calls(system) == 2
    [warning] = warnings(system, ADMIN)
    assert "4.97 CNY" in warning.text
    assert "below SMS_LOW_BALANCE (5.00 CNY)" in warning.text
    assert warnings(system, DEMO_CHANNEL) == []
    assert warnings(system, "D0ALICE") == []
    await clock.advance(CHECK_EVERY)
    await send(system, clock)  # 4.92: still below, already said
    assert balance_calls(system) == 3
    assert len(warnings(system, ADMIN)) == 1


async def test_without_an_admin_channel_the_sender_who_crossed_it_is_told_privately(
    make_system: SystemFactory,
) -> None:
    system, clock = await low_system(make_system, "5.02", {"SMS_LOW_BALANCE": "5"})
    await send(system, clock, user_id="U0BOB")
    [warning] = warnings(system, "D0BOB")
    assert "4.97 CNY" in warning.text
    assert warnings(system, DEMO_CHANNEL) == []
    assert warnings(system, "D0ALICE") == []


async def test_going_back_above_and_falling_again_is_said_again(
    make_system: SystemFactory,
) -> None:
    system, clock = await low_system(make_system, "5.02")
    await send(system, clock)
    assert len(warnings(system, ADMIN)) == 1
    system.gateway.balance = Decimal("10.00")  # topped up
    await clock.advance(CHECK_EVERY)
    await send(system, clock)  # 9.95: above, nothing said
    assert len(warnings(system, ADMIN)) == 1
    system.gateway.balance = Decimal("5.01")
    await clock.advance(CHECK_EVERY)
    await send(system, clock)  # 4.96: a new fall
    assert balance_calls(system) == 3
    assert len(warnings(system, ADMIN)) == 2
    assert "4.96 CNY" in warnings(system, ADMIN)[-1].text


async def test_sends_within_a_minute_are_checked_once_when_the_minute_is_up(
    make_system: SystemFactory,
) -> None:
    system, clock = await low_system(make_system, "5.12")
    await send(system, clock)  # 5.07, checked at once
    checked = clock.monotonic()  # the check ran at or before this
    await send(system, clock)  # 5.02
    await send(system, clock)  # 4.97: below, but the balance was read under a minute ago
    assert balance_calls(system) == 1
    assert warnings(system, ADMIN) == []
    await clock.advance(checked + CHECK_EVERY - clock.monotonic() - 0.5)
    assert balance_calls(system) == 1
    await clock.advance(1.0)
    assert balance_calls(system) == 2
    [warning] = warnings(system, ADMIN)
    assert "4.97 CNY" in warning.text
    await clock.advance(10 * CHECK_EVERY)  # no send, no check
    assert balance_calls(system) == 2


async def test_a_restart_does_not_say_it_again(make_system: SystemFactory) -> None:
    system, clock = await low_system(make_system, "5.02")
    await send(system, clock)
    assert len(warnings(system, ADMIN)) == 1
    await system.restart_bot()
    await send(system, clock)
    assert balance_calls(system) == 2
    assert len(warnings(system, ADMIN)) == 1


async def test_a_failing_balance_check_is_logged_once_and_never_fails_a_send(
    make_system: SystemFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.balance")
    clock = ManualClock()
    system = await make_system(env=LOW, clock=clock, balance=Decimal("5.02"), balance_code=9999)
    await send(system, clock)  # 4.97, but the balance cannot be read
    await clock.advance(CHECK_EVERY)
    await send(system, clock)  # still cannot
    assert balance_calls(system) == 2
    assert warnings(system, ADMIN) == []
    failures = [r for r in caplog.records if "could not read the SMS balance" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].levelno == logging.WARNING
    system.gateway.config.balance_code = None
    await clock.advance(CHECK_EVERY)
    await send(system, clock)  # 4.87: read at last, and said
    assert balance_calls(system) == 3
    [warning] = warnings(system, ADMIN)
    assert "4.87 CNY" in warning.text


async def test_a_warning_slack_refused_is_said_at_the_next_check(
    make_system: SystemFactory,
) -> None:
    system, clock = await low_system(make_system, "5.02")
    system.slack.refuse[ADMIN] = "not_in_channel"
    await send(system, clock)
    assert warnings(system, ADMIN) == []
    del system.slack.refuse[ADMIN]  # the bot was invited
    await clock.advance(CHECK_EVERY)
    await send(system, clock)
    [warning] = warnings(system, ADMIN)
    assert "4.92 CNY" in warning.text


async def test_sms_balance_marks_a_balance_below_the_threshold(
    make_system: SystemFactory,
) -> None:
    system = await make_system(env=LOW, balance=Decimal("4.5"))
    await system.slash("balance")
    await system.wait_for(lambda: system.slack.responses)
    assert system.slack.responses[0]["text"] == (
        "Balance: 4.50 CNY :warning: below SMS_LOW_BALANCE (5.00 CNY)"
    )
    system.gateway.balance = Decimal("5")
    await system.slash("balance")
    await system.wait_for(lambda: len(system.slack.responses) == 2)
    assert system.slack.responses[1]["text"] == "Balance: 5.00 CNY"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SMS_LOW_BALANCE", "five"),
        ("SMS_LOW_BALANCE", "0"),
        ("SMS_LOW_BALANCE", "-1"),
        ("SMS_LOW_BALANCE", "NaN"),
        ("SMS_ADMIN_CHANNEL", "#ops"),
        ("SMS_ADMIN_CHANNEL", "U0ALICE"),
    ],
)
def test_a_malformed_threshold_or_admin_channel_is_named(
    tmp_path: Path, name: str, value: str
) -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "SMS_API_URL": "http://gw",
        "SMS_APP_KEY": "k",
        "SMS_APP_SECRET": "s",
        name: value,
    }
    with pytest.raises(ConfigError) as raised:
        load_settings(env)
    [problem] = raised.value.problems
    assert problem.startswith(f"{name}={value!r} is not valid")


async def test_an_alert_page_that_takes_it_below_is_said_in_the_admin_channel(
    make_system: SystemFactory,
) -> None:
    system, clock = await low_system(make_system, "5.02")
    token = await add_integration(system, "db", NUMBER)
    await notify(system, token, firing("disk", "Disk full on db-1"))
    await clock.advance_until(lambda: warnings(system, ADMIN), step=0.1)
    [warning] = warnings(system, ADMIN)
    assert "4.97 CNY" in warning.text


async def test_without_an_admin_channel_an_alert_pages_fall_is_said_to_the_next_sender(
    make_system: SystemFactory,
) -> None:
    system, clock = await low_system(make_system, "5.02", {"SMS_LOW_BALANCE": "5"})
    token = await add_integration(system, "db", NUMBER)
    await notify(system, token, firing("disk", "Disk full on db-1"))
    await clock.advance_until(lambda: balance_calls(system) == 1, step=0.1)
    await clock.settle()
    assert [m for m in system.slack.messages.values() if "SMS_LOW_BALANCE" in m.text] == []
    await clock.advance(CHECK_EVERY)
    await send(system, clock, user_id="U0BOB")
    [warning] = warnings(system, "D0BOB")
    assert "4.92 CNY" in warning.text
