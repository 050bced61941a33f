"""App Home tabs: published when a person opens the tab, refreshed when their sends change.

Who has opened the tab is kept in memory: a refresh is only worth a Slack call for someone
who looks at the tab, and after a restart the next opening publishes it afresh anyway.
Refreshes are at most one per person per REFRESH_EVERY seconds: a change inside the window
is published at its end, read from the database then, so the last state is always shown
and a burst of delivery reports makes one call. Waits go through the injected clock.
With replicas the tab may have been opened on another replica than the one whose notifier
saw the change: `elsewhere`, when set (bot/replica.py), tells the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.balance import BalanceWatch
from bot.clock import Clock
from bot.guard import Guard
from bot.home.view import home_view
from bot.render import number_formatter
from storage import Contacts, SendView
from storage.sent_by import SentBy

__all__ = ["REFRESH_EVERY", "HomeTabs"]

log = logging.getLogger(__name__)

REFRESH_EVERY = 10.0  # seconds between two refreshes of one person's tab, at least
RECENT = 10  # sends listed
IDLE = 3600.0


class HomeTabs:
    def __init__(
        self,
        client: AsyncWebClient,
        sent_by: SentBy,
        contacts: Contacts,
        guard: Guard,
        balance: BalanceWatch,
        *,
        mask: bool,
        clock: Clock,
    ) -> None:
        self.client = client
        self.sent_by = sent_by
        self.contacts = contacts
        self.guard = guard
        self.balance = balance
        self.show = number_formatter(mask)
        self.clock = clock
        self._opened: dict[str, str] = {}  # person -> their workspace, since this start
        self._last: dict[str, float] = {}  # person -> monotonic time of their last publish
        self._due: dict[str, float] = {}  # person -> when their refresh is due
        self._wake = asyncio.Event()
        self.elsewhere: Callable[[str], None] | None = None

    async def opened(self, team_id: str, user_id: str) -> None:
        """The person opened the tab: publish it now, and refresh it from now on."""
        self._opened[user_id] = team_id
        self._due.pop(user_id, None)  # this publish shows every change so far
        await self.publish(user_id)

    def changed(self, send: SendView) -> None:
        """A send's delivery changed: refresh its sender's tab, wherever it was opened."""
        if send.kind == "alert":
            return
        self.refresh(send.user_id)
        if self.elsewhere is not None:
            self.elsewhere(send.user_id)

    def refresh(self, user: str) -> None:
        """Refresh the person's tab, if they opened it here, within REFRESH_EVERY."""
        if user not in self._opened or user in self._due:
            return
        last = self._last.get(user)
        now = self.clock.monotonic()
        self._due[user] = now if last is None else max(now, last + REFRESH_EVERY)
        self._wake.set()

    async def run(self) -> None:
        """The background loop: each refresh when it is due."""
        while True:
            now = self.clock.monotonic()
            wait = min(self._due.values(), default=now + IDLE) - now
            if wait > 0:
                await self.clock.wait(self._wake, wait)
            self._wake.clear()
            now = self.clock.monotonic()
            for user in [user for user, at in self._due.items() if at <= now]:
                del self._due[user]
                try:
                    await self.publish(user)
                except Exception:
                    log.exception("App Home of %s not refreshed; again at their next change", user)

    async def publish(self, user_id: str) -> None:
        """Read what the tab shows and publish it; a refusal from Slack is logged."""
        self._last[user_id] = self.clock.monotonic()  # a change from now on needs a new one
        sends = await self.sent_by.recent(user_id, RECENT)
        contacts = await self.contacts.all(self._opened[user_id])
        view = home_view(sends, contacts, await self._balance(user_id), self.show)
        try:
            await self.client.views_publish(user_id=user_id, view=view)
        except SlackApiError as error:
            log.warning("App Home of %s not published: %s", user_id, error.response.get("error"))

    async def _balance(self, user_id: str) -> str | None:
        """The balance line, only for someone allowed to send (it is the account's money)."""
        if not await self.guard.may_send(user_id):
            return None
        balance = await self.balance.latest()
        if balance is None:
            return "Balance: the gateway can't say right now."
        return f"*Balance:* {balance}{self.balance.mark(balance)}"
