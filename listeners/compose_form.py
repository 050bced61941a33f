"""The "Send an SMS" modal: its blocks, its live parts count, and its answers read back.

The modal is another way to write `/sms send`: its fields are read with the same grammar
pieces (recipients by the scanner, `--from` and `--at` limits, the message limit), so a
number or a time means the same thing in both. A problem is kept with the field (block id)
it belongs to, because Slack shows `response_action: errors` under that field.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    UserMultiSelectElement,
)
from slack_sdk.models.blocks.block_elements import ConversationSelectElement
from slack_sdk.models.views import View

from bot.config import Settings
from bot.sending import gateway_content
from listeners.commands.grammar import MAX_MESSAGE_CHARS, MAX_SENDER_CHARS, UsageError
from listeners.commands.grammar.members import resolve_items
from listeners.commands.grammar.requests import SendRequest, WrittenTime
from listeners.commands.grammar.scanner import scan_recipients
from listeners.commands.grammar.schedule import read_at
from sms.parts import is_gsm7, room_left, segments
from sms.text import unsendable

CALLBACK_ID = "send_sms"  # the shortcut's and the modal's
PEOPLE, OTHERS, MESSAGE, SENDER, AT, CHANNEL, PARTS = (
    "people",
    "others",
    "message",
    "sender",
    "at",
    "channel",
    "parts",
)


def parts_line(message: str, recipients: int, settings: Settings) -> str:
    """Encoding, room left in the part, parts × recipients: what the sender pays, as typed."""
    if not message:
        return "Type the message to see how many SMS parts it costs."
    content = gateway_content(settings.sms_signature, message)
    encoding = "GSM-7" if is_gsm7(content) else "UCS-2"
    parts, left = segments(content), room_left(content)
    line = (
        f"*{encoding}*, {left} character{'s' if left != 1 else ''} left in this part · "
        f"*{parts} part{'s' if parts != 1 else ''}*"
    )
    if recipients:
        line += (
            f" × {recipients} recipient{'s' if recipients != 1 else ''} = *{parts * recipients}*"
        )
    if settings.sms_signature:
        line += " (signature included)"
    return line


def view(parts: str, channel_id: str | None = None, message: str | None = None) -> dict[str, Any]:
    """The modal; rebuilt whole for each parts update, with the same ids so Slack keeps input.

    `message` prefills the message (the "Text this message" shortcut)."""
    channel = ConversationSelectElement(
        action_id=CHANNEL,
        placeholder="Where the delivery message goes",
        default_to_current_conversation=True,
    )
    if channel_id:
        channel.initial_conversation = channel_id
    blocks = [
        InputBlock(
            block_id=PEOPLE,
            label="People",
            optional=True,
            element=UserMultiSelectElement(action_id=PEOPLE, placeholder="Their Slack phone"),
        ),
        InputBlock(
            block_id=OTHERS,
            label="Other recipients",
            optional=True,
            hint="Phone numbers, @group mentions and saved contacts, as after `/sms send`.",
            element=PlainTextInputElement(action_id=OTHERS, placeholder="+2348031000010, oncall"),
        ),
        InputBlock(
            block_id=MESSAGE,
            label="Message",
            dispatch_action=True,
            element=PlainTextInputElement(
                action_id=MESSAGE,
                multiline=True,
                max_length=MAX_MESSAGE_CHARS,
                initial_value=message[:MAX_MESSAGE_CHARS] if message else None,
                dispatch_action_config={"trigger_actions_on": ["on_character_entered"]},
            ),
        ),
        ContextBlock(block_id=PARTS, elements=[MarkdownTextObject(text=parts)]),
        InputBlock(
            block_id=SENDER,
            label="Sender ID",
            optional=True,
            element=PlainTextInputElement(action_id=SENDER, max_length=MAX_SENDER_CHARS),
        ),
        InputBlock(
            block_id=AT,
            label="Send at",
            optional=True,
            hint="Leave empty to send now. A zone is optional: your Slack time zone is used.",
            element=PlainTextInputElement(action_id=AT, placeholder="YYYY-MM-DD HH:MM [Zone]"),
        ),
        InputBlock(
            block_id=CHANNEL,
            label="Post the delivery message in",
            optional=True,
            hint="Leave empty for your direct messages with me.",
            element=channel,
        ),
    ]
    return View(
        type="modal",
        callback_id=CALLBACK_ID,
        title="Send an SMS",
        submit="Send",
        close="Cancel",
        blocks=blocks,
    ).to_dict()


def _value(values: dict[str, Any], block: str) -> dict[str, Any]:
    return dict(values.get(block, {}).get(block, {}))


def typed(values: dict[str, Any], block: str) -> str:
    return str(_value(values, block).get("value") or "").strip()


def people(values: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(user) for user in _value(values, PEOPLE).get("selected_users") or ())


def channel(values: dict[str, Any]) -> str | None:
    return _value(values, CHANNEL).get("selected_conversation") or None


@dataclass
class Answers:
    """The modal's answers as a SendRequest not yet placed in time, or the problems per field."""

    request: SendRequest | None = None
    errors: dict[str, str] = field(default_factory=dict)


_HANDLE = re.compile(r"(?<![^\s,])@([A-Za-z0-9][\w.\-]*)")


def group_handles(text: str) -> list[str]:
    """The `@handle`s written in the text, lower case: a modal's text has no mention markup."""
    return [handle.lower() for handle in _HANDLE.findall(text)]


def _as_mentions(text: str, handles: Mapping[str, str] | None) -> str:
    """`@oncall` as the `<!subteam^ID>` Slack would have sent; None: any handle, for counting."""
    unknown: list[str] = []

    def mention(match: re.Match[str]) -> str:
        handle = match[1].lower()
        if handles is None:
            return f"<!subteam^H{abs(hash(handle))}>"
        if handle not in handles:
            unknown.append("@" + match[1])
            return match[0]
        return f"<!subteam^{handles[handle]}>"

    written = _HANDLE.sub(mention, text)
    if unknown:
        raise UsageError(f"No user group is called {', '.join(unknown)} here.", "")
    return written


def named_count(values: dict[str, Any], contacts: Collection[str], region: str | None) -> int:
    """Recipients as named so far (a group or a contact counts once until it is looked up)."""
    try:
        text = _as_mentions(typed(values, OTHERS), None)
        numbers, users, groups, names = _others(text, contacts, region)
    except UsageError:
        numbers, users, groups, names = (), (), (), ()
    return len(set(people(values)) | set(users)) + len(numbers) + len(groups) + len(names)


def _others(
    text: str, contacts: Collection[str], region: str | None
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    saved = frozenset(name.lower() for name in contacts)
    items, tokens, start, _ = scan_recipients(text, saved)
    leftover = text[start:].strip()
    if leftover:
        word = leftover.split()[0]
        raise UsageError(f"“{word}” is not a phone number, a mention or a saved contact.", "")
    return resolve_items(items, tokens, region, True, "send")


def read(
    values: dict[str, Any],
    contacts: Collection[str],
    settings: Settings,
    handles: Mapping[str, str] | None = None,
) -> Answers:
    """Every field checked, so all the problems show at once; `handles` are the workspace's
    user groups (handle -> ID), needed when the recipients name one as `@handle`."""
    answers = Answers()
    errors = answers.errors
    numbers: tuple[str, ...] = ()
    users, groups, names = people(values), (), ()
    try:
        text = _as_mentions(typed(values, OTHERS), handles or {})
        numbers, more, groups, names = _others(text, contacts, settings.sms_default_region)
        users = tuple(dict.fromkeys(users + more))
    except UsageError as error:
        errors[OTHERS] = error.reason
    if not (numbers or users or groups or names or OTHERS in errors):
        errors[OTHERS] = "Pick people above or write who else gets it here."
    message = typed(values, MESSAGE)  # a modal's text comes as typed, not escaped
    if not message:
        errors[MESSAGE] = "Write the message."
    elif len(message) > MAX_MESSAGE_CHARS:
        errors[MESSAGE] = f"The most I can send is {MAX_MESSAGE_CHARS} characters."
    elif refused := unsendable(message):
        errors[MESSAGE] = refused
    sender = typed(values, SENDER) or None
    if sender and len(sender) > MAX_SENDER_CHARS:
        errors[SENDER] = f"A sender ID is at most {MAX_SENDER_CHARS} characters."
    written: WrittenTime | None = None
    if typed(values, AT):
        try:
            written = read_at(typed(values, AT), "send")
        except UsageError as error:
            errors[AT] = error.reason.replace("`--at ", "`")
    if not errors:
        answers.request = SendRequest(
            "send", numbers, users, groups, message, sender, None, names, written
        )
    return answers
