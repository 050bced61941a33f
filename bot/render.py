"""What the channel sees: the tracked message and its thread replies, as Block Kit.

Built with slack_sdk.models so Slack's length limits are checked here, not discovered
as `invalid_blocks` at 3 a.m. Everything a person typed is escaped before it is shown,
so an SMS that says `<!channel>` never pings a channel.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.mrkdwn import escape
from sms import phones
from sms.delivery import State
from storage import Recipient, SendView

ICONS = {
    State.DELIVERED: ":white_check_mark:",
    State.FAILED: ":x:",
    State.PENDING: ":hourglass_flowing_sand:",
    State.ACCEPTED: ":incoming_envelope:",
    State.SCHEDULED: ":spiral_calendar_pad:",
    State.UNKNOWN: ":grey_question:",
}
# Failures first: on a send to hundreds of numbers, those are what someone must act on.
_ORDER = [
    State.FAILED,
    State.UNKNOWN,
    State.PENDING,
    State.ACCEPTED,
    State.SCHEDULED,
    State.DELIVERED,
]
MAX_LINES = 60
RETRY_ACTION = "retry_failed"
ACKNOWLEDGE_ACTION = "acknowledge"
MAX_SECTION = 2900
MAX_CONTENT = 2800


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[dict[str, Any]]


def number_formatter(mask: bool) -> Callable[[str], str]:
    return phones.mask if mask else phones.display


def counts_in_words(recipients: Sequence[Recipient]) -> str:
    """`2 delivered, 1 failed, 3 pending` (plus `1 unknown` when there is one)."""
    counts = Counter(r.state for r in recipients)
    pending = sum(n for state, n in counts.items() if not state.final and state != State.UNKNOWN)
    words = f"{counts[State.DELIVERED]} delivered, {counts[State.FAILED]} failed, {pending} pending"
    if counts[State.UNKNOWN]:
        words += f", {counts[State.UNKNOWN]} unknown"
    return words


def _who(recipient: Recipient, show: Callable[[str], str]) -> str:
    number = f"`{show(recipient.mobile)}`"
    return f"<@{recipient.slack_user}> {number}" if recipient.slack_user else number


def _recipient_line(recipient: Recipient, show: Callable[[str], str]) -> str:
    line = f"{ICONS[recipient.state]} {_who(recipient, show)} {recipient.state.value}"
    if recipient.reason:
        line += f" — {escape(recipient.reason)}"
    return line


def _sections(lines: Sequence[str]) -> list[Block]:
    """Lines packed into as few sections as the 3000-character limit allows."""
    sections: list[Block] = []
    chunk: list[str] = []
    size = 0
    for line in lines:
        if chunk and size + len(line) + 1 > MAX_SECTION:
            sections.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
            chunk, size = [], 0
        chunk.append(line[:MAX_SECTION])
        size += len(line) + 1
    if chunk:
        sections.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
    return sections


def _ordered(recipients: Sequence[Recipient]) -> list[Recipient]:
    return sorted(recipients, key=lambda r: (_ORDER.index(r.state), r.id))


def _more_line(rest: Sequence[Recipient]) -> str:
    counts = Counter(r.state for r in rest)
    parts = ", ".join(f"{n} {state.value}" for state in _ORDER if (n := counts[state]))
    return f"…and {len(rest)} more ({parts})"


def named(send: SendView, shown: int = 20) -> str:
    """`<@U1>, <@U2> and 2 numbers`: the people texted by name where Slack knows them (the
    first `shown`), the numbers counted; "nobody" for a send to no one."""
    people = list(dict.fromkeys(r.slack_user for r in send.recipients if r.slack_user))
    numbers = sum(1 for r in send.recipients if not r.slack_user)
    parts = [f"<@{user}>" for user in people[:shown]]
    if len(people) > shown:
        parts.append(f"{len(people) - shown} more people")
    if numbers:
        parts.append(f"{numbers} number{'s' if numbers != 1 else ''}")
    if not parts:
        return "nobody"
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]


def _headline(send: SendView) -> str:
    count = len(send.recipients)
    if send.kind == "page":
        line = f":rotating_light: <@{send.user_id}> paged {named(send)}"
    else:
        line = f"<@{send.user_id}> texted {count} recipient{'s' if count != 1 else ''}"
    if send.sender_id:
        line += f" as *{escape(send.sender_id)}*"
    if send.send_at:
        line += f", scheduled for {send.send_at} ({send.zone})"
    return line


def tracked_message(send: SendView, *, mask: bool, now_label: str) -> Message:
    """The one message per send that is edited in place as reports arrive."""
    ids = message_ids(send)
    words = counts_in_words(send.recipients)
    text = f"SMS msgId {ids} from <@{send.user_id}>: {words}"
    content = escape(send.content)
    if len(content) > MAX_CONTENT:
        content = content[:MAX_CONTENT] + "…"
    quoted = "\n".join(f"> {line}" for line in content.splitlines() or [""])
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=_headline(send))),
        SectionBlock(text=MarkdownTextObject(text=quoted)),
        *recipient_sections(send, mask=mask),
        *([acknowledgement(send)] if send.kind == "page" else []),
        footer(send, now_label),
    ]
    return Message(text=text, blocks=[block.to_dict() for block in blocks])


def message_ids(send: SendView) -> str:
    """The send's msgIds in words, for the plain text and the footer."""
    lost = any(r.state == State.UNKNOWN and not r.msg_id for r in send.recipients)
    return ", ".join(send.msg_ids) or (
        "unknown (the gateway's answer was lost)" if lost else "none (not accepted)"
    )


def recipient_sections(send: SendView, *, mask: bool) -> list[Block]:
    """Each recipient's state, failures first, as few sections as fit."""
    show = number_formatter(mask)
    ordered = _ordered(send.recipients)
    lines = [_recipient_line(r, show) for r in ordered[:MAX_LINES]]
    if len(ordered) > MAX_LINES:
        lines.append(_more_line(ordered[MAX_LINES:]))
    return _sections(lines)


def footer(send: SendView, now_label: str) -> Block:
    words = counts_in_words(send.recipients)
    ids = escape(message_ids(send))
    return ContextBlock(
        elements=[
            MarkdownTextObject(
                text=f"msgId {ids} · {words.replace(', ', ' · ')} · updated {now_label}"
            )
        ]
    )


def acknowledgement(send: SendView) -> Block:
    """A page's Acknowledge button, or who pressed it: then its escalation has stopped."""
    if send.acked_by:
        at = f" at {send.acked_at[11:16]} UTC" if send.acked_at else ""
        return ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f":white_check_mark: Acknowledged by <@{send.acked_by}>{at}"
                )
            ]
        )
    return ActionsBlock(
        elements=[
            ButtonElement(
                text="Acknowledge",
                action_id=ACKNOWLEDGE_ACTION,
                value=str(send.id),
                style="primary",
            )
        ]
    )


def _waited(timeout: timedelta) -> str:
    minutes = timeout.total_seconds() / 60
    return f"{minutes:g} minute{'s' if minutes != 1 else ''}"


def page_alert(
    send: SendView, due: Sequence[Recipient], *, mask: bool, timeout: timedelta
) -> Message:
    """The loud reply when a page did not get through, with a button to retry just those."""
    show = number_formatter(mask)
    lines = []
    for recipient in due[:MAX_LINES]:
        if recipient.state == State.FAILED:
            why = f"failed: {escape(recipient.reason or 'no reason given')}"
        else:
            why = f"not delivered after {_waited(timeout)} (still {recipient.state.value})"
        lines.append(f"{ICONS[recipient.state]} {_who(recipient, show)} {why}")
    if len(due) > MAX_LINES:
        lines.append(f"…and {len(due) - MAX_LINES} more")
    # An alert's page is sent in the name of its integration's creator.
    whose = "this alert's" if send.kind == "alert" else "your"
    head = f":rotating_light: <@{send.user_id}>, {whose} page did not get through to everyone:"
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=head)),
        *_sections(lines),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Retry failed",
                    action_id=RETRY_ACTION,
                    value=str(send.id),
                    style="danger",
                )
            ]
        ),
    ]
    people = ", ".join(_who(r, show) for r in due[:10])
    text = f"Page did not get through to {people} (sent by <@{send.user_id}>)"
    return Message(text=text, blocks=[block.to_dict() for block in blocks])


def failure_reply(failed: Sequence[Recipient], *, mask: bool) -> Message:
    """A thread reply naming recipients that failed since the last reply."""
    show = number_formatter(mask)
    count = len(failed)
    head = f":x: {count} recipient{'s' if count != 1 else ''} could not be reached"
    lines = [_recipient_line(r, show) for r in failed[:MAX_LINES]]
    if count > MAX_LINES:
        lines.append(f"…and {count - MAX_LINES} more")
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=head)), *_sections(lines)]
    text = head + ": " + ", ".join(show(r.mobile) for r in failed[:20])
    return Message(text=text, blocks=[block.to_dict() for block in blocks])
