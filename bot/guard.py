"""Who may send, how often, and to how many: every SMS costs money and reaches a phone.

Unset allow-lists mean everyone may send. Refusals are said to the person in words and
logged, so an admin can see who was turned away and why. Every way in (the slash command,
the Retry button, and surfaces to come) asks the same guard.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.config import Settings
from bot.directory import Directory, LookupFailed
from bot.metrics import Metrics, RefusalReason
from storage import Sends

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=1)
NOT_ALLOWED = "You are not on the list of people who may send SMS."


class Guard:
    def __init__(
        self,
        settings: Settings,
        sends: Sends,
        directory: Directory,
        metrics: Metrics,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.sends = sends
        self.directory = directory
        self.metrics = metrics
        self.clock = clock

    def _refuse(self, user_id: str, channel_id: str, rule: RefusalReason, reason: str) -> str:
        log.info(
            "refused /sms for user %s in channel %s (%s): %s", user_id, channel_id, rule, reason
        )
        self.metrics.refusals.labels(rule).inc()
        return reason

    def _channel(self, user_id: str, channel_id: str, why: str) -> str | None:
        """The refusal for a channel outside SMS_ALLOWED_CHANNELS, naming the ones inside."""
        channels = self.settings.sms_allowed_channels
        if channels is None or channel_id in channels:
            return None
        return self._refuse(
            user_id,
            channel_id,
            "channel",
            f"{why} Ask an admin to add it to SMS_ALLOWED_CHANNELS, or use one of: "
            + ", ".join(f"<#{c}>" for c in sorted(channels)),
        )

    async def before_sending(self, user_id: str, channel_id: str) -> str | None:
        """Checks that need nothing but settings and the database: made before the ack."""
        settings = self.settings
        if refused := self._channel(user_id, channel_id, "SMS can't be sent from this channel."):
            return refused
        users, groups = settings.sms_allowed_users, settings.sms_allowed_groups
        if users is not None and groups is None and user_id not in users:
            return self._refuse(user_id, channel_id, "user", NOT_ALLOWED)
        now = self.clock()
        recent = await self.sends.created_since(user_id, now - WINDOW)
        if len(recent) >= settings.sms_rate_limit:
            oldest = datetime.fromisoformat(recent[-settings.sms_rate_limit])
            wait = max(1, int((oldest + WINDOW - now).total_seconds() // 60) + 1)
            return self._refuse(
                user_id,
                channel_id,
                "rate",
                f"You have sent {len(recent)} SMS commands in the last hour, the limit "
                f"(SMS_RATE_LIMIT={settings.sms_rate_limit}). Try again in {wait} minutes.",
            )
        return None

    async def after_resolving(self, user_id: str, channel_id: str, recipients: int) -> str | None:
        """Checks that need Slack or the resolved recipients: made after the ack."""
        settings = self.settings
        users, groups = settings.sms_allowed_users, settings.sms_allowed_groups
        if groups is not None and user_id not in (users or ()):
            if not await self._in_any(user_id, groups):
                return self._refuse(user_id, channel_id, "user", NOT_ALLOWED)
        if recipients > settings.sms_max_recipients:
            return self.too_many(user_id, channel_id, recipients)
        return None

    async def may_manage_alerts(self, user_id: str, channel_id: str) -> str | None:
        """An integration decides who monitoring texts, from this channel: whoever may send
        SMS from here may add, rotate or remove one, and nobody else."""
        why = (
            "Alert integrations can't be managed from this channel, since SMS can't be "
            "sent from it."
        )
        if refused := self._channel(user_id, channel_id, why):
            return refused
        if await self.may_send(user_id):
            return None
        return self._refuse(
            user_id,
            channel_id,
            "user",
            NOT_ALLOWED + " Alert integrations send SMS, so only those people may manage them.",
        )

    async def may_send(self, user_id: str) -> bool:
        """Whether the person is on SMS_ALLOWED_USERS or in SMS_ALLOWED_GROUPS (anyone when
        both are unset), wherever they are: what App Home asks before showing the balance."""
        users, groups = self.settings.sms_allowed_users, self.settings.sms_allowed_groups
        if (users is None and groups is None) or user_id in (users or ()):
            return True
        return groups is not None and await self._in_any(user_id, groups)

    def too_many(self, user_id: str, channel_id: str, recipients: int) -> str:
        """The refusal for more recipients than SMS_MAX_RECIPIENTS."""
        return self._refuse(
            user_id,
            channel_id,
            "recipients",
            f"That is {recipients} recipients; one command may reach at most "
            f"{self.settings.sms_max_recipients} (SMS_MAX_RECIPIENTS). Nothing was sent.",
        )

    async def _in_any(self, user_id: str, groups: frozenset[str]) -> bool:
        for group in sorted(groups):
            try:
                if user_id in await self.directory.members(group):
                    return True
            except LookupFailed as error:
                log.warning("allow-list group lookup failed: %s", error)
        return False
