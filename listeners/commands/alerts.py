"""`/sms alerts`: the integrations through which monitoring pages people.

Every answer is private. `add` and `rotate` give the integration's URL, and only then: the
token in it is the only key, it is stored as a hash, and anyone holding the URL can page the
integration's people. `list` never shows one. Recipients are checked now as `send` would
check them (so a typo is said today, not at 3 a.m.) and stored as named, so an @on-call
group pages whoever is on call when the alert fires.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.alerts.to import read_to, write_to
from bot.alerts.tokens import new_token, token_hash
from bot.config import Settings
from bot.directory import Directory
from bot.guard import Guard
from bot.inflight import InFlight
from bot.mrkdwn import escape
from bot.recipients import TooMany, resolve
from bot.render import number_formatter
from listeners.asker import Asker, answering
from listeners.commands.contacts import members_text
from listeners.commands.grammar import (
    AlertsAddRequest,
    AlertsListRequest,
    AlertsRemoveRequest,
    AlertsRequest,
    AlertsRotateRequest,
)
from listeners.commands.reading import COMMAND, COULD_NOT_FINISH, asks_for
from sms import phones
from storage import Integration, Integrations
from storage.contacts import Contacts

MAX_SHOWN = 50  # integrations in one list answer
ADD_EXAMPLE = "`/sms alerts add prod-db @dba-oncall`"
KEEP_SECRET = (
    "Anyone who has this URL can page these people: keep it like a password. "
    "It is shown only now; `/sms alerts rotate {name}` gives a new one."
)


async def manage_alerts(
    ack: AsyncAck,
    context: AsyncBoltContext,
    respond: AsyncRespond,
    sms_request: AlertsRequest,
    integrations: Integrations,
    contacts: Contacts,
    directory: Directory,
    guard: Guard,
    settings: Settings,
    inflight: InFlight,
) -> None:
    """Run one alerts request; everything but `list` asks the guardrails first."""
    asker = Asker.of(context, respond)
    async with answering(asker, inflight, "/sms alerts", COULD_NOT_FINISH):
        await ack()
        if isinstance(sms_request, AlertsListRequest):
            await _list(asker, integrations, number_formatter(settings.sms_mask_numbers))
            return
        refused = await guard.may_manage_alerts(asker.user_id, asker.channel_id)
        if refused:
            await asker.tell(refused)
            return
        match sms_request:
            case AlertsAddRequest():
                await _add(sms_request, asker, integrations, contacts, directory, settings)
            case AlertsRotateRequest():
                await _rotate(sms_request.name, asker, integrations, settings)
            case AlertsRemoveRequest():
                await _remove(sms_request.name, asker, integrations)


def register(app: AsyncApp) -> None:
    kinds = (AlertsAddRequest, AlertsListRequest, AlertsRemoveRequest, AlertsRotateRequest)
    app.command(COMMAND, matchers=[asks_for(*kinds)])(manage_alerts)


def url_of(settings: Settings, token: str) -> str:
    return f"{settings.sms_public_url}/alerts/{token}"


def _who(
    numbers: tuple[str, ...],
    users: tuple[str, ...],
    groups: tuple[str, ...],
    names: tuple[str, ...],
    show: Callable[[str], str] = phones.display,
) -> str:
    parts = [members_text(numbers, users, groups, show)] if numbers or users or groups else []
    return ", ".join(parts + [f"`{name}`" for name in names])


async def _add(
    request: AlertsAddRequest,
    asker: Asker,
    integrations: Integrations,
    contacts: Contacts,
    directory: Directory,
    settings: Settings,
) -> None:
    if not asker.channel_id or asker.channel_id.startswith("D"):
        await asker.tell(
            "Add an integration in the channel where its pages should appear: "
            "a direct message can't show a page to the people watching."
        )
        return
    try:
        resolved = await resolve(
            numbers=request.numbers,
            users=request.user_mentions,
            groups=request.group_mentions,
            contact_names=request.contacts,
            team_id=asker.team_id,
            directory=directory,
            contacts=contacts,
            most=settings.sms_max_recipients,
        )
    except TooMany as error:
        await asker.tell(
            f"That is {error.count} recipients; a page may reach at most "
            f"{settings.sms_max_recipients} (SMS_MAX_RECIPIENTS). The integration was not added."
        )
        return
    if not resolved.targets:
        await asker.tell(
            f":x: `{request.name}` was not added: nobody in it can be texted now. "
            + " ".join(resolved.problems)
        )
        return
    token = new_token()
    to = write_to(request.numbers, request.user_mentions, request.group_mentions, request.contacts)
    added = await integrations.add(
        asker.team_id, request.name, asker.channel_id, to, token_hash(token), asker.user_id
    )
    if added is None:
        await asker.tell(await _taken(request.name, asker, integrations))
        return
    who = _who(request.numbers, request.user_mentions, request.group_mentions, request.contacts)
    lines = [
        f":white_check_mark: Added alert integration `{added.name}`: alerts posted to it "
        f"page {who}, and show in <#{added.channel_id}>.",
        f"Its URL: `{escape(url_of(settings, token))}`",
        KEEP_SECRET.format(name=added.name),
    ]
    if resolved.problems:
        lines.append(":warning: Not reachable now: " + " ".join(resolved.problems))
    await asker.tell("\n".join(lines))


async def _taken(name: str, asker: Asker, integrations: Integrations) -> str:
    existing = await integrations.named(asker.team_id, name)
    where = f" (in <#{existing.channel_id}>)" if existing else ""
    return (
        f"There is already an alert integration `{name}` in this workspace{where}. "
        f"Pick another name, or `/sms alerts rotate {name}` for a new URL."
    )


async def _rotate(name: str, asker: Asker, integrations: Integrations, settings: Settings) -> None:
    token = new_token()
    if not await integrations.rotate(asker.team_id, name, token_hash(token)):
        await asker.tell(await _unknown(name, asker, integrations))
        return
    await asker.tell(
        f":white_check_mark: New URL for alert integration `{name}`; the old one stopped "
        f"working just now, so put this one where monitoring posts:\n"
        f"`{escape(url_of(settings, token))}`\n" + KEEP_SECRET.format(name=name)
    )


async def _remove(name: str, asker: Asker, integrations: Integrations) -> None:
    if await integrations.remove(asker.team_id, name):
        await asker.tell(
            f"Removed alert integration `{name}`: its URL answers 404 from now on, "
            "and nobody is paged through it."
        )
        return
    await asker.tell(await _unknown(name, asker, integrations))


async def _unknown(name: str, asker: Asker, integrations: Integrations) -> str:
    names = [i.name for i in await integrations.list(asker.team_id)]
    shown = escape(name).replace("`", "'")
    text = f"There is no alert integration `{shown}` in this workspace."
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return text + (f" Did you mean `{close[0]}`?" if close else " See them with `/sms alerts`.")


def _line(integration: Integration, show: Callable[[str], str]) -> str:
    to = read_to(integration.recipients)
    who = _who(to.numbers, to.users, to.groups, to.contacts, show)
    return f"• `{integration.name}` in <#{integration.channel_id}> — pages {who}"


async def _list(asker: Asker, integrations: Integrations, show: Callable[[str], str]) -> None:
    found = await integrations.list(asker.team_id)
    if not found:
        await asker.tell(
            "No alert integrations in this workspace yet. In the channel where pages should "
            f"appear: {ADD_EXAMPLE}"
        )
        return
    lines = [f"*Alert integrations in this workspace* ({len(found)})"]
    lines += [_line(integration, show) for integration in found[:MAX_SHOWN]]
    if len(found) > MAX_SHOWN:
        lines.append(f"…and {len(found) - MAX_SHOWN} more")
    await asker.tell("\n".join(lines))
