"""`/sms contacts`: save, list and remove the workspace's named recipients.

Every answer is ephemeral: the list holds phone numbers, and only the person who asked
needs to see it. The list masks numbers as the channel does; the confirmation of `add`
shows them in full because the user has just typed them and should check them.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.config import Settings
from bot.inflight import InFlight
from bot.mrkdwn import escape
from bot.render import number_formatter
from listeners.asker import Asker, answering
from listeners.commands.grammar import (
    ContactsAddRequest,
    ContactsListRequest,
    ContactsRemoveRequest,
    ContactsRequest,
)
from listeners.commands.reading import COMMAND, COULD_NOT_FINISH, asks_for
from sms import phones
from storage.contacts import Contact, Contacts

MAX_MEMBERS_SHOWN = 20  # a line per contact stays readable
MAX_CONTACTS_SHOWN = 100  # and the list stays within one Slack message
ADD_EXAMPLE = "`/sms contacts add oncall +2348031000010,+2348031000011`"


def members_text(
    numbers: Sequence[str],
    users: Sequence[str],
    groups: Sequence[str],
    show: Callable[[str], str] = phones.display,
) -> str:
    """Numbers as `show` formats them, then people and user groups as Slack mentions."""
    shown = [show(n) for n in numbers]
    shown += [f"<@{u}>" for u in users]
    shown += [f"<!subteam^{g}>" for g in groups]
    if len(shown) > MAX_MEMBERS_SHOWN:
        shown = [*shown[:MAX_MEMBERS_SHOWN], f"and {len(shown) - MAX_MEMBERS_SHOWN} more"]
    return ", ".join(shown)


async def manage_contacts(
    ack: AsyncAck,
    context: AsyncBoltContext,
    respond: AsyncRespond,
    sms_request: ContactsRequest,
    contacts: Contacts,
    settings: Settings,
    inflight: InFlight,
) -> None:
    """Run one contacts request for the workspace the command came from."""
    asker = Asker.of(context, respond)
    async with answering(asker, inflight, "/sms contacts", COULD_NOT_FINISH):
        await ack()
        match sms_request:
            case ContactsAddRequest():
                await _add(sms_request, asker, contacts)
            case ContactsListRequest():
                await _list(asker, contacts, show=number_formatter(settings.sms_mask_numbers))
            case ContactsRemoveRequest():
                await _remove(sms_request, asker, contacts)


def register(app: AsyncApp) -> None:
    kinds = (ContactsAddRequest, ContactsListRequest, ContactsRemoveRequest)
    app.command(COMMAND, matchers=[asks_for(*kinds)])(manage_contacts)


async def _add(request: ContactsAddRequest, asker: Asker, contacts: Contacts) -> None:
    created = await contacts.save(
        asker.team_id,
        request.name,
        request.numbers,
        request.user_mentions,
        request.group_mentions,
        asker.user_id,
    )
    members = members_text(request.numbers, request.user_mentions, request.group_mentions)
    verb = "Saved" if created else "Updated"
    await asker.tell(
        f":white_check_mark: {verb} contact `{request.name}`: {members}\n"
        f"Send to it with `/sms send {request.name} &lt;message&gt;`."
    )


def _line(contact: Contact, show: Callable[[str], str]) -> str:
    members = members_text(contact.numbers, contact.users, contact.groups, show)
    return f"• `{contact.name}` — {members or '(empty)'}"


async def _list(asker: Asker, contacts: Contacts, show: Callable[[str], str]) -> None:
    saved = await contacts.all(asker.team_id)
    if not saved:
        await asker.tell(f"No contacts saved yet in this workspace. Add one with {ADD_EXAMPLE}")
        return
    lines = [f"*Contacts in this workspace* ({len(saved)})"]
    lines += [_line(contact, show) for contact in saved[:MAX_CONTACTS_SHOWN]]
    if len(saved) > MAX_CONTACTS_SHOWN:
        lines.append(f"…and {len(saved) - MAX_CONTACTS_SHOWN} more")
    await asker.tell("\n".join(lines))


async def _remove(request: ContactsRemoveRequest, asker: Asker, contacts: Contacts) -> None:
    if await contacts.remove(asker.team_id, request.name):
        await asker.tell(f"Removed contact `{request.name}`.")
        return
    names = await contacts.names(asker.team_id)
    shown = escape(request.name).replace("`", "'")
    text = f"There is no contact `{shown}` in this workspace."
    close = difflib.get_close_matches(request.name, sorted(names), n=1, cutoff=0.6)
    if close:
        text += f" Did you mean `{close[0]}`?"
    else:
        text += " See them with `/sms contacts list`."
    await asker.tell(text)
