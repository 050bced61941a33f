"""Slack people as SMS recipients: a user's phone from their profile, a group's members.

Lookups are cached for `ttl` seconds so a page to a 30-person group is not 31 API calls
each time, and never longer, so a changed phone number is used within minutes. The age of
an entry is read from the bot's monotonic clock (bot.clock), so tests can age it by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sms import phones

log = logging.getLogger(__name__)
T = TypeVar("T")


class LookupFailed(Exception):
    """Slack could not tell us; the message says whom and why, for the sender."""


@dataclass(frozen=True)
class Person:
    """A Slack user and the number their profile gives, or why it gives none."""

    user_id: str
    mobile: str | None
    problem: str | None = None


class Directory:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        ttl: float,
        default_region: str | None,
        clock: Callable[[], float],
    ) -> None:
        self.client = client
        self.ttl = ttl
        self.default_region = default_region
        self.clock = clock
        self._cache: dict[str, tuple[float, object]] = {}

    async def _cached(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        hit = self._cache.get(key)
        if hit and self.clock() - hit[0] < self.ttl:
            return hit[1]  # type: ignore[return-value]
        value = await load()
        self._cache[key] = (self.clock(), value)
        return value

    async def person(self, user_id: str) -> Person:
        """The user's phone from their Slack profile, normalised, or why it is unusable."""
        try:
            user = await self._user(user_id)
        except SlackApiError as error:
            code = error.response.get("error")
            raise LookupFailed(f"Slack did not tell me <@{user_id}>'s phone ({code})") from None
        if user is None:
            return Person(user_id, None, f"<@{user_id}> is not a user of this workspace")
        if user.get("deleted") or user.get("is_bot"):
            return Person(user_id, None, f"<@{user_id}> is a deactivated account or a bot")
        raw = str(user.get("profile", {}).get("phone") or "").strip()
        if not raw:
            return Person(user_id, None, f"<@{user_id}> has no phone number in their Slack profile")
        try:
            return Person(user_id, phones.normalize(raw, self.default_region))
        except phones.InvalidNumber as error:
            return Person(
                user_id, None, f"<@{user_id}>'s profile phone is not usable for SMS: {error}"
            )

    async def time_zone(self, user_id: str) -> str | None:
        """The IANA name Slack keeps for the user (`tz`), or None when it has none.

        `--at` without a zone is read in it, so "09:30" is the sender's 09:30.
        """
        try:
            user = await self._user(user_id)
        except SlackApiError as error:
            code = error.response.get("error")
            raise LookupFailed(f"Slack did not tell me <@{user_id}>'s time zone ({code})") from None
        if user is None:
            return None
        return str(user.get("tz") or "").strip() or None

    async def _user(self, user_id: str) -> dict[str, Any] | None:
        """`users.info`'s user, None for one the workspace does not have; one call per ttl
        serves both the phone and the time zone."""
        return await self._cached("user:" + user_id, lambda: self._load_user(user_id))

    async def _load_user(self, user_id: str) -> dict[str, Any] | None:
        try:
            response = await self.client.users_info(user=user_id)
        except SlackApiError as error:
            if error.response.get("error") == "user_not_found":
                return None
            raise
        return dict(response["user"])

    async def members(self, group_id: str) -> list[str]:
        """User IDs in a Slack user group."""
        return await self._cached("group:" + group_id, lambda: self._load_members(group_id))

    async def _load_members(self, group_id: str) -> list[str]:
        try:
            response = await self.client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as error:
            code = error.response.get("error")
            raise LookupFailed(
                f"Slack did not tell me who is in <!subteam^{group_id}> ({code})"
            ) from None
        return [str(user) for user in response.get("users", [])]

    async def group_handles(self) -> dict[str, str]:
        """The workspace's user groups by handle (lower case, no `@`) -> group ID, for a
        group written as `@oncall` where Slack sends no mention markup (a modal's text)."""
        return await self._cached("handles", self._load_handles)

    async def _load_handles(self) -> dict[str, str]:
        try:
            response = await self.client.usergroups_list()
        except SlackApiError as error:
            code = error.response.get("error")
            raise LookupFailed(f"Slack did not tell me its user groups ({code})") from None
        return {
            str(group["handle"]).lower(): str(group["id"])
            for group in response.get("usergroups", [])
            if group.get("handle")
        }
