"""Saved contacts: `/sms contacts …` through signed Slack requests, and the Contacts queries.

The slash command tests read the ack (what the user sees at once) and the ephemeral
follow-ups in `system.slack.responses`; the class tests run against a real Store on a
temporary SQLite file.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from standins.local import LocalSystem
from storage import Store
from storage.contacts import Contact, Contacts
from tests.conftest import SystemFactory

BOB = "<@U0BOB|bob>"
ONCALL = f"contacts add oncall +2348031000010 {BOB}"


async def reply(system: LocalSystem, text: str, **kwargs: Any) -> dict[str, Any]:
    """Type `/sms <text>` and return the one ephemeral answer, forgetting it for the next step."""
    status, ack = await system.slash(text, **kwargs)
    assert status == 200
    assert ack == ""
    responses = await system.wait_for(lambda: system.slack.responses, timeout=5)
    assert len(responses) == 1, responses
    response = responses[0]
    system.slack.responses.clear()
    return response


async def nothing_answered_later(system: LocalSystem) -> None:
    await asyncio.sleep(0.3)  # the handler runs after the ack: give it time to misbehave
    assert system.slack.responses == []
    assert system.gateway.requests == []


# add, list, update, remove through Slack


async def test_add_confirms_privately_with_the_full_numbers_and_mentions(
    system: LocalSystem,
) -> None:
    response = await reply(system, f"contacts add OnCall +2348031000010,2348031000011 {BOB}")
    assert response["response_type"] == "ephemeral"
    assert response["text"].startswith(
        ":white_check_mark: Saved contact `oncall`: +234 803 100 0010, +234 803 100 0011, <@U0BOB>"
    )
    assert "/sms send oncall" in response["text"]
    assert system.gateway.requests == []
    assert system.slack.calls_to("chat.postMessage") == []


async def test_list_masks_numbers_as_the_channel_does(system: LocalSystem) -> None:
    await reply(system, ONCALL)
    await reply(system, "contacts add ops <!subteam^S0OPS|@ops> +2348031000019")
    response = await reply(system, "contacts list")
    assert response["response_type"] == "ephemeral"
    lines = response["text"].splitlines()
    assert lines[0] == "*Contacts in this workspace* (2)"
    assert lines[1:] == [
        "• `oncall` — +234 803 ••• 0010, <@U0BOB>",
        "• `ops` — +234 803 ••• 0019, <!subteam^S0OPS>",
    ]
    assert "100 0010" not in response["text"]


async def test_list_shows_full_numbers_when_masking_is_off(make_system: SystemFactory) -> None:
    system = await make_system({"SMS_MASK_NUMBERS": "false"})
    await reply(system, ONCALL)
    assert "+234 803 100 0010" in (await reply(system, "contacts"))["text"]


async def test_an_empty_workspace_is_told_how_to_add_one(system: LocalSystem) -> None:
    text = (await reply(system, "contacts"))["text"]
    assert text.startswith("No contacts saved yet in this workspace.")
    assert "/sms contacts add oncall" in text


async def test_adding_an_existing_name_updates_it_in_any_case(system: LocalSystem) -> None:
    await reply(system, ONCALL)
    response = await reply(system, "contacts add ONCALL +2348031000011", user_id="U0CAROL")
    assert response["text"].startswith(":white_check_mark: Updated contact `oncall`: ")
    assert "+234 803 100 0011" in response["text"]
    listed = (await reply(system, "contacts list"))["text"]
    assert "• `oncall` — +234 803 ••• 0011" in listed
    assert "U0BOB" not in listed
    assert "(1)" in listed


async def test_remove_deletes_and_the_list_is_empty_again(system: LocalSystem) -> None:
    await reply(system, ONCALL)
    assert (await reply(system, "contacts remove OnCall"))["text"] == "Removed contact `oncall`."
    assert (await reply(system, "contacts list"))["text"].startswith("No contacts saved yet")


async def test_removing_an_unknown_name_says_so_and_suggests_a_close_one(
    system: LocalSystem,
) -> None:
    await reply(system, ONCALL)
    text = (await reply(system, "contacts remove oncal"))["text"]
    assert text == "There is no contact `oncal` in this workspace. Did you mean `oncall`?"
    text = (await reply(system, "contacts remove zebra"))["text"]
    assert "There is no contact `zebra`" in text
    assert "/sms contacts list" in text


async def test_contacts_belong_to_their_workspace(
    system: LocalSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    await reply(system, ONCALL)
    monkeypatch.setattr("standins.slack_requests.TEAM_ID", "T0OTHER")
    assert (await reply(system, "contacts list"))["text"].startswith("No contacts saved yet")
    assert "There is no contact `oncall`" in (await reply(system, "contacts remove oncall"))["text"]
    _, ack = await system.slash("send oncall hi")
    assert "Who should get it?" in ack
    monkeypatch.undo()
    assert "`oncall`" in (await reply(system, "contacts list"))["text"]


async def test_contacts_survive_a_restart(system: LocalSystem) -> None:
    await reply(system, ONCALL)
    await system.restart_bot()
    assert "• `oncall`" in (await reply(system, "contacts"))["text"]


# mistakes are answered in the ack and store nothing


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("contacts add send +2348031000010", "it is a subcommand"),
        ("contacts add oncall", "Who is `oncall`?"),
        ("contacts add oncall +2348031000010 call me", "“call”"),
        ("contacts add 9lives +2348031000010", "can't be a contact name"),
        ("contacts add oncall +23480", "not a valid phone number"),
        ("contacts purge", "use `add`, `list` or `remove`"),
    ],
)
async def test_a_bad_contacts_command_is_refused_in_the_ack(
    system: LocalSystem, text: str, said: str
) -> None:
    status, ack = await system.slash(text)
    assert status == 200
    assert said in ack
    assert "Usage: `/sms contacts add NAME" in ack
    await nothing_answered_later(system)
    assert (await reply(system, "contacts"))["text"].startswith("No contacts saved yet")


async def test_a_contact_cannot_be_saved_inside_another(system: LocalSystem) -> None:
    await reply(system, ONCALL)
    _, ack = await system.slash("contacts add team oncall,+2348031000011")
    assert "can't contain another contact (`oncall`)" in ack
    await nothing_answered_later(system)


async def test_the_grammar_knows_the_saved_names_and_suggests_one_on_a_typo(
    system: LocalSystem,
) -> None:
    await reply(system, ONCALL)
    _, ack = await system.slash("send oncal DB primary down")
    assert "Did you mean the contact `oncall`?" in ack
    await nothing_answered_later(system)


async def test_help_lists_the_contacts_subcommand(system: LocalSystem) -> None:
    _, ack = await system.slash("help")
    assert "/sms contacts add NAME" in ack


# the Contacts queries against a real Store


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def contacts(tmp_path: Path, clock: Clock) -> AsyncIterator[Contacts]:
    store = Store(tmp_path / "contacts.db", clock)
    await store.open()
    try:
        yield Contacts(store, clock)
    finally:
        await store.close()


async def test_save_creates_then_replaces_keeping_the_creator(
    contacts: Contacts, clock: Clock
) -> None:
    assert await contacts.save("T1", "OnCall", ["2348031000010"], ["U1"], ["S1"], "U0ALICE")
    clock.now += timedelta(minutes=5)
    assert not await contacts.save("T1", "oncall", ["2348031000011"], [], [], "U0BOB")
    saved = await contacts.get("T1", ["ONCALL"])
    assert saved == {
        "oncall": Contact(
            name="oncall",
            numbers=("2348031000011",),
            users=(),
            groups=(),
            created_by="U0ALICE",
            updated="2025-01-10T12:05:00.000+00:00",
        )
    }


async def test_names_all_and_get_are_per_workspace(contacts: Contacts) -> None:
    await contacts.save("T1", "oncall", ["2348031000010"], [], [], "U1")
    await contacts.save("T1", "alice", [], ["U0ALICE"], [], "U1")
    await contacts.save("T2", "oncall", ["2348031000019"], [], [], "U2")
    assert await contacts.names("T1") == {"oncall", "alice"}
    assert await contacts.names("T2") == {"oncall"}
    assert await contacts.names("T3") == set()
    assert [c.name for c in await contacts.all("T1")] == ["alice", "oncall"]
    assert (await contacts.get("T2", ["oncall"]))["oncall"].numbers == ("2348031000019",)
    assert await contacts.get("T2", ["alice", "nobody"]) == {}
    assert await contacts.get("T1", []) == {}


async def test_remove_only_touches_its_own_workspace(contacts: Contacts) -> None:
    await contacts.save("T1", "oncall", ["2348031000010"], [], [], "U1")
    await contacts.save("T2", "oncall", ["2348031000019"], [], [], "U2")
    assert await contacts.remove("T1", "OnCall")
    assert not await contacts.remove("T1", "oncall")
    assert await contacts.names("T1") == set()
    assert await contacts.names("T2") == {"oncall"}


async def test_members_keep_their_order_once_each(contacts: Contacts) -> None:
    await contacts.save("T1", "x", ["2", "1", "2"], ["U2", "U1", "U2"], ["S1", "S1"], "U1")
    (contact,) = await contacts.all("T1")
    assert (contact.numbers, contact.users, contact.groups) == (("2", "1"), ("U2", "U1"), ("S1",))


async def test_a_damaged_members_column_reads_as_empty_not_as_a_crash(
    contacts: Contacts,
) -> None:
    await contacts.save("T1", "x", ["2348031000010"], [], [], "U1")
    await contacts.store.write(
        lambda db: db.execute("UPDATE contacts SET members = '[1, 2' WHERE name = 'x'")
    )
    (contact,) = await contacts.all("T1")
    assert (contact.numbers, contact.users, contact.groups) == ((), (), ())
