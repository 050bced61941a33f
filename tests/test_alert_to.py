"""The stored `<to>` of an integration: written by `/sms alerts add`, read at page time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.alerts.to import To, read_to, write_to
from listeners.commands.grammar import AlertsAddRequest, parse

TO = To(("2348031000010", "442079460000"), ("U0BOB", "W0EVE"), ("S0ONCALL",), ("oncall",))


def test_what_is_written_reads_back_the_same() -> None:
    text = write_to(TO.numbers, TO.users, TO.groups, TO.contacts)
    assert text == "+2348031000010 +442079460000 <@U0BOB> <@W0EVE> <!subteam^S0ONCALL> oncall"
    assert read_to(text) == TO


def test_the_grammar_reads_the_stored_form_as_the_same_recipients() -> None:
    text = write_to(TO.numbers, TO.users, TO.groups, TO.contacts)
    request = parse(
        f"alerts add prod {text}",
        default_region=None,
        zone=ZoneInfo("UTC"),
        now=datetime.now(UTC),
        contacts={"oncall"},
    )
    assert isinstance(request, AlertsAddRequest)
    assert (request.numbers, request.user_mentions, request.group_mentions, request.contacts) == (
        TO.numbers,
        TO.users,
        TO.groups,
        TO.contacts,
    )
