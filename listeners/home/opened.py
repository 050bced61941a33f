"""`app_home_opened`: publish the person's Home tab, and keep it fresh from then on.

Slack sends the event for the Messages tab too; only the Home tab has anything to publish.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.home import HomeTabs


async def publish_home(
    event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext, home: HomeTabs
) -> None:
    if event.get("tab") != "home":
        return
    team_id = str(body.get("team_id") or context.team_id or "")
    await home.opened(team_id, str(event["user"]))


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(publish_home)
