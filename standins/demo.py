"""`smsbot demo`: one send to a number that delivers and one that fails, as the channel shows it."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from standins.local import DEMO_CHANNEL, LocalSystem
from standins.slack import ChannelMessage, plain

DEMO_TEXT = "send +2348031000010,+2348031000019 Your code is 279275"


def _settled(message: ChannelMessage) -> bool:
    return " 0 pending" in message.text


async def run_demo(out: Callable[[str], None] = print) -> int:
    """Send to one number that delivers and one that fails; print the channel; 0 if both show."""
    with tempfile.TemporaryDirectory(prefix="smsbot-demo-") as folder:
        async with LocalSystem(Path(folder) / "demo.db") as system:
            out(f"bot           {system.url}  (Slack endpoint, report webhook, /healthz, /metrics)")
            out(f"gateway sim   {system.gateway_url}  (numbers ending in 9 fail with UNDELIV)")
            out(f"Slack         {system.slack.base_url}  (local stand-in for the Web API)")
            out("")
            out(f"/sms {DEMO_TEXT}")
            status, ack = await system.slash(DEMO_TEXT)
            out(f"  ack: HTTP {status} {ack}")
            try:
                message = await system.wait_for(
                    lambda: next(
                        (m for m in system.slack.channel_messages(DEMO_CHANNEL) if _settled(m)),
                        None,
                    ),
                    timeout=20,
                )
                await system.wait_for(lambda: system.slack.thread(DEMO_CHANNEL, message.ts))
            except TimeoutError:
                out("The delivery reports did not reach the channel in time.")
                for posted in system.slack.channel_messages(DEMO_CHANNEL):
                    out(plain(posted))
                return 1
            for response in system.slack.responses:
                out(_indent("only you can see this: " + response.get("text", ""), "  "))
            out("")
            out(f"#general — tracked message ({_edited(message.edits)}):")
            out(_indent(plain(message)))
            for reply in system.slack.thread(DEMO_CHANNEL, message.ts):
                out("  thread reply:")
                out(_indent(plain(reply), "    "))
            out("")
            out(f"plain text: {message.text}")
            text = message.text
            return 0 if "1 delivered" in text and "1 failed" in text else 1


def _edited(edits: int) -> str:
    """How many times the message was edited, in words that read right for 0 and 1."""
    if edits == 0:
        return "not edited"
    return "edited once" if edits == 1 else f"edited {edits} times"


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())
