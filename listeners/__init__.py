"""Slack listeners, one home per kind, in the shape of the bolt-python starter template.

- `commands/`: the `/sms` slash command, one module per subcommand;
- `actions/`: block actions, the buttons the bot puts in its messages.

- `shortcuts/`: the "Send an SMS" global shortcut, its modal and the live parts count;
- `views/`: what that modal sends back on Send;
- `functions/`: the "Send an SMS" Workflow Builder step (a custom step run here);
- `home/`: the App Home tab (`app_home_opened`) and its Send an SMS button.

Listeners are module-level functions. A middleware puts each of the bot's services in Bolt's
context by name (and the whole `services` for the send path, which uses most of them); Bolt
passes each listener the ones its signature names, so its inputs are read from its signature.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import fields

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.services import Services
from listeners import actions, commands, functions, home, shortcuts, views


def register(app: AsyncApp, services: Services) -> None:
    """Give every listener the services, then register each kind."""

    async def provide_services(
        context: AsyncBoltContext, next: Callable[[], Awaitable[None]]
    ) -> None:
        for field in fields(services):
            context[field.name] = getattr(services, field.name)
        context["services"] = services
        await next()

    app.middleware(provide_services)
    commands.register(app)
    actions.register(app)
    shortcuts.register(app)
    views.register(app)
    functions.register(app)
    home.register(app)
