"""What the channel sees of an alert: its tracked page message and the notes in its thread.

The tracked message is the page's (kind `alert`): the alert's title and text, the labels
that matter and the links the payload carried, the integration's name, who was texted and
how delivery goes, and the Acknowledge button, as the outbox worker posts and edits it.
Everything from the payload is escaped: an alert that says `<!channel>` pings nobody.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.alerts.notice import AlertNotice, Link
from bot.mrkdwn import escape
from bot.render import (
    MAX_CONTENT,
    MAX_SECTION,
    Message,
    acknowledgement,
    counts_in_words,
    footer,
    message_ids,
    recipient_sections,
)
from storage import SendView
from storage.alert_groups import AlertGroup, Note

__all__ = ["added_note", "alert_page", "firing_note", "notes_reply", "resolved_note", "title"]


def title(notice: AlertNotice, resolved: bool = False) -> str:
    """`[FIRING:3] Disk full` or `[RESOLVED] Disk full`, unescaped."""
    state = "RESOLVED" if resolved else f"FIRING:{max(notice.firing, 1)}"
    return f"[{state}] {' '.join(notice.title.split())}"


def _link(link: Link) -> str:
    """A Slack link for an http(s) URL; anything else is shown as text, never made a link."""
    label = escape(link.label.replace("|", "/")) or "link"
    if urlsplit(link.url).scheme not in ("http", "https"):
        return f"{label}: {escape(link.url)}"
    url = escape(link.url.replace("|", "%7C").replace(" ", "%20"))
    return f"<{url}|{label}>"


def _labels(notice: AlertNotice) -> str:
    shown = " · ".join(f"*{escape(k)}*: {escape(v)}" for k, v in notice.labels.items())
    return shown[:MAX_SECTION]


def _quoted(text: str) -> str:
    content = escape(text)
    if len(content) > MAX_CONTENT:
        content = content[:MAX_CONTENT] + "…"
    return "\n".join(f"> {line}" for line in content.splitlines() or [""])


def _paged(send: SendView) -> str:
    people = list(dict.fromkeys(r.slack_user for r in send.recipients if r.slack_user))
    numbers = sum(1 for r in send.recipients if not r.slack_user)
    named = [f"<@{user}>" for user in people[:20]]
    if len(people) > 20:
        named.append(f"{len(people) - 20} more people")
    if numbers:
        named.append(f"{numbers} number{'s' if numbers != 1 else ''}")
    return ", ".join(named) if named else "nobody"


def alert_page(
    send: SendView, group: AlertGroup, notice: AlertNotice, *, mask: bool, now_label: str
) -> Message:
    """The alert's tracked message, edited as delivery, notes and Acknowledge change it."""
    resolved = group.closed is not None
    headline = title(notice, resolved)
    icon = ":white_check_mark:" if resolved else ":rotating_light:"
    integration = escape(group.integration)
    head = f"{icon} *{escape(headline)}*\nAlert from `{integration}` · paged {_paged(send)}"
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=head))]
    if notice.text.strip():
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_quoted(notice.text))))
    if notice.labels:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_labels(notice))]))
    if notice.links:
        links = " · ".join(_link(link) for link in notice.links)[:MAX_SECTION]
        blocks.append(SectionBlock(text=MarkdownTextObject(text=links)))
    if group.problem:
        problem = f":warning: {group.problem}"[:MAX_SECTION]  # mrkdwn, as the send path words it
        blocks.append(SectionBlock(text=MarkdownTextObject(text=problem)))
    blocks += [*recipient_sections(send, mask=mask), acknowledgement(send)]
    blocks.append(footer(send, now_label))
    text = (
        f"{escape(headline)} (alert `{integration}`): "
        f"SMS msgId {message_ids(send)}: {counts_in_words(send.recipients)}"
    )
    if send.acked_by:
        text += f"; acknowledged by <@{send.acked_by}>"
    return Message(text=text, blocks=[block.to_dict() for block in blocks])


def firing_note(notice: AlertNotice) -> str:
    """A repeat of an open group that brings no new alert."""
    count = max(notice.firing, 1)
    note = f":repeat: Still firing: {count} alert{'s' if count != 1 else ''}"
    if notice.resolved:
        note += f" ({notice.resolved} resolved)"
    return note + ". No SMS."


def added_note(notice: AlertNotice, added: int) -> str:
    """New alerts in an open group: said here, not texted again."""
    more = f"{added} more alert{'s' if added != 1 else ''}"
    return (
        f":heavy_plus_sign: {more}: {escape(' '.join(notice.title.split()))} "
        f"({max(notice.firing, 1)} firing now). No SMS."
    )


def resolved_note(notice: AlertNotice) -> str:
    return f":white_check_mark: Resolved: {escape(' '.join(notice.title.split()))}."


def notes_reply(notes: Sequence[Note]) -> Message:
    """The notes not yet said, as one thread reply (one Slack call, however many came)."""
    lines = "\n".join(note.text for note in notes)[:MAX_SECTION]
    blocks = [SectionBlock(text=MarkdownTextObject(text=lines)).to_dict()]
    return Message(text=notes[-1].text, blocks=blocks)
