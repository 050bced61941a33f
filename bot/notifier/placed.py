"""Commands waiting to learn where their send's tracked message went.

Only the outbox worker posts tracked messages (a command posting too could make two when
Slack is slow), so the command that made the send waits here to tell its sender where
updates go. The worker settles the wait when it posts; with replicas the worker may be
in another process, so the send is also read again every LOOK_AGAIN seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from storage import Sends, SendView

__all__ = ["LOOK_AGAIN", "Placements", "Posted"]

LOOK_AGAIN = 0.25  # seconds between reads of the send while waiting


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str
    notice: str | None


def _posted(send: SendView | None) -> Posted | None:
    if send is None or not (send.message_channel and send.message_ts):
        return None
    return Posted(send.message_channel, send.message_ts, send.notice)


class Placements:
    def __init__(self, sends: Sends, poke: Callable[[], None]) -> None:
        self.sends = sends
        self.poke = poke
        self._waiting: dict[int, asyncio.Future[Posted]] = {}

    async def wait(self, send_id: int, timeout: float) -> Posted | None:  # noqa: ASYNC109
        """Where the message went; None if not posted within `timeout`; SlackApiError if
        this process's worker found no place would take it (another replica's refusal is
        not heard: that wait ends in None)."""
        future = self._waiting.setdefault(send_id, asyncio.get_running_loop().create_future())
        try:
            if posted := _posted(await self.sends.load(send_id)):
                return posted
            self.poke()
            async with asyncio.timeout(timeout):
                while True:
                    done, _ = await asyncio.wait({future}, timeout=LOOK_AGAIN)
                    if done:
                        return future.result()
                    if posted := _posted(await self.sends.load(send_id)):
                        return posted
        except TimeoutError:
            return None
        finally:
            self._waiting.pop(send_id, None)

    def settle(self, send_id: int, posted: Posted | SlackApiError) -> None:
        """The worker's post: where it went, or why nowhere."""
        future = self._waiting.get(send_id)
        if future is None or future.done():
            return
        if isinstance(posted, Posted):
            future.set_result(posted)
        else:
            future.set_exception(posted)
