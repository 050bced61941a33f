"""Who may send, how often, and to how many: every SMS costs money and reaches a phone.

Unset allow-lists mean everyone may send. Refusals are said to the person in words and
logged, so an admin can see who was turned away and why.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.directory import LookupFailed
from listeners.context import CommandContext

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=1)


def _refuse(context: CommandContext, rule: str, reason: str) -> str:
    log.info(
        "refused /sms for user %s in channel %s (%s): %s",
        context.user_id,
        context.channel_id,
        rule,
        reason,
    )
    context.services.metrics.refusals.labels(rule).inc()
    return reason


async def before_sending(context: CommandContext) -> str | None:
    """Checks that need nothing but settings and the database: made before the ack."""
    settings = context.services.settings
    channels = settings.sms_allowed_channels
    if channels is not None and context.channel_id not in channels:
        return _refuse(
            context,
            "channel",
            "SMS can't be sent from this channel. Ask an admin to add it to "
            "SMS_ALLOWED_CHANNELS, or use one of: "
            + ", ".join(f"<#{c}>" for c in sorted(channels)),
        )
    users, groups = settings.sms_allowed_users, settings.sms_allowed_groups
    if users is not None and groups is None and context.user_id not in users:
        return _refuse(context, "user", "You are not on the list of people who may send SMS.")
    now = context.services.clock()
    recent = await context.services.sends.created_since(context.user_id, now - WINDOW)
    if len(recent) >= settings.sms_rate_limit:
        oldest = datetime.fromisoformat(recent[-settings.sms_rate_limit])
        wait = max(1, int((oldest + WINDOW - now).total_seconds() // 60) + 1)
        return _refuse(
            context,
            "rate",
            f"You have sent {len(recent)} SMS commands in the last hour, the limit "
            f"(SMS_RATE_LIMIT={settings.sms_rate_limit}). Try again in {wait} minutes.",
        )
    return None


async def after_resolving(context: CommandContext, recipients: int) -> str | None:
    """Checks that need Slack or the resolved recipients: made after the ack."""
    settings = context.services.settings
    users, groups = settings.sms_allowed_users, settings.sms_allowed_groups
    if groups is not None and context.user_id not in (users or ()):
        member = False
        for group in sorted(groups):
            try:
                if context.user_id in await context.services.directory.members(group):
                    member = True
                    break
            except LookupFailed as error:
                log.warning("allow-list group lookup failed: %s", error)
        if not member:
            return _refuse(context, "user", "You are not on the list of people who may send SMS.")
    if recipients > settings.sms_max_recipients:
        return _refuse(
            context,
            "recipients",
            f"That is {recipients} recipients; one command may reach at most "
            f"{settings.sms_max_recipients} (SMS_MAX_RECIPIENTS). Nothing was sent.",
        )
    return None
