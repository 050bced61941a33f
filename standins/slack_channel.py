"""What the Slack stand-in keeps: the calls it received and the channel as a person sees it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float  # when it arrived, on the stand-in's monotonic clock
    token: str = ""  # the bearer token it came with (a workflow step's own, for one)


@dataclass
class ChannelMessage:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    broadcast: bool = False
    edits: int = 0

    def as_api(self) -> dict[str, Any]:
        """The message as the Web API's reading methods show it."""
        shown = {"type": "message", "bot_id": "B0BOT", "ts": self.ts, "text": self.text}
        thread = {"thread_ts": self.thread_ts} if self.thread_ts else {}
        return {**shown, "blocks": self.blocks, **thread}


def plain(message: ChannelMessage) -> str:
    """A message's blocks as the text a person would read in the channel."""
    lines: list[str] = []
    for block in message.blocks:
        if block.get("type") == "section":
            lines.append(block["text"]["text"])
        elif block.get("type") == "context":
            lines.append("  " + " ".join(e.get("text", "") for e in block["elements"]))
    return "\n".join(lines) or message.text
