"""The App Home tab as Block Kit: a Send button, the balance, recent sends and contacts.

Built with slack_sdk.models, like the channel messages, so Slack's limits are checked here.
Each send reads as a line of the channel message does: when, to whom in short, the start of
the message, and its delivery counts in the same words. Times are Slack date tokens, so
each person reads them in their own time zone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.mrkdwn import escape
from bot.render import counts_in_words, named
from storage import Contact, SendView

SEND_BUTTON = "home_send_sms"
MESSAGE_START = 80  # characters of the message shown
MAX_CONTACTS = 40
MAX_SECTION = 2900


def _when(send: SendView) -> str:
    moment = datetime.fromisoformat(send.created)
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _start(content: str) -> str:
    line = " ".join(content.split())
    return escape(line if len(line) <= MESSAGE_START else line[: MESSAGE_START - 1] + "…")


def send_block(send: SendView) -> SectionBlock:
    verb = "paged" if send.kind == "page" else "texted"
    head = f"*{_when(send)}* · {verb} {named(send, shown=3)}"
    if send.send_at:
        head += f" · scheduled for {escape(send.send_at)} ({escape(send.zone or '')})"
    text = f"{head}\n> {_start(send.content)}\n{counts_in_words(send.recipients)}"
    return SectionBlock(block_id=f"send-{send.id}", text=MarkdownTextObject(text=text))


def _contact_line(contact: Contact, show: Callable[[str], str]) -> str:
    members = [show(n) for n in contact.numbers[:5]]
    members += [f"<@{u}>" for u in contact.users[:5]]
    members += [f"<!subteam^{g}>" for g in contact.groups[:5]]
    more = len(contact.numbers) + len(contact.users) + len(contact.groups) - len(members)
    if more > 0:
        members.append(f"and {more} more")
    return f"• `{escape(contact.name)}` — {', '.join(members) or '(empty)'}"


def _packed(lines: Sequence[str]) -> list[Block]:
    """Lines in as few sections as the 3000-character limit allows."""
    sections: list[Block] = []
    chunk: list[str] = []
    for line in lines:
        if chunk and sum(len(c) + 1 for c in chunk) + len(line) > MAX_SECTION:
            sections.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
            chunk = []
        chunk.append(line[:MAX_SECTION])
    if chunk:
        sections.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
    return sections


def home_view(
    sends: Sequence[SendView],
    contacts: Sequence[Contact],
    balance: str | None,
    show: Callable[[str], str],
) -> dict[str, Any]:
    """The whole tab; `balance` is the line to show, None for someone not allowed to send."""
    blocks: list[Block] = [
        ActionsBlock(
            block_id="compose",
            elements=[
                ButtonElement(
                    action_id=SEND_BUTTON, text="Send an SMS", style="primary", value="home"
                )
            ],
        )
    ]
    if balance is not None:
        blocks.append(ContextBlock(block_id="balance", elements=[MarkdownTextObject(text=balance)]))
    blocks += [DividerBlock(), HeaderBlock(block_id="sends", text="Your recent sends")]
    if sends:
        blocks += [send_block(send) for send in sends]
    else:
        blocks.append(
            SectionBlock(
                block_id="no-sends",
                text="You have not sent any SMS yet. Press *Send an SMS*, or type `/sms send`.",
            )
        )
    blocks += [DividerBlock(), HeaderBlock(block_id="contacts", text="Saved contacts")]
    if contacts:
        lines = [_contact_line(contact, show) for contact in contacts[:MAX_CONTACTS]]
        if len(contacts) > MAX_CONTACTS:
            lines.append(f"…and {len(contacts) - MAX_CONTACTS} more: `/sms contacts list`")
        blocks += _packed(lines)
    else:
        blocks.append(
            SectionBlock(
                block_id="no-contacts",
                text="No contacts saved yet. Save one with "
                "`/sms contacts add oncall +2348031000010`.",
            )
        )
    return View(type="home", blocks=blocks).to_dict()
