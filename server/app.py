"""The one aiohttp application: Slack's endpoint, the report and alert webhooks, health, metrics.

Built by `build_app(settings)`; everything that needs the event loop (database writer,
HTTP sessions, the notifier worker, the Slack link) starts and stops in one `cleanup_ctx`,
as aiohttp's background_tasks example does. Nothing in it waits for Slack: the Slack link
comes up in the background, so reports, health and metrics are served from the start.
In Socket Mode there is no `/slack/events` route at all: the port is public for reports,
and an unsigned request there must not be a way to send SMS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable

import aiohttp
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier

import listeners
from bot.alerts.intake import receive_alert
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.intake import MAX_BODY, receive_report
from bot.replica import Alone, Shared
from bot.services import SERVICES
from server.background import background_work, who_works
from server.link import SlackLink
from server.slack import MAX_SLACK_BODY, bolt_app, dispatch
from server.startup import open_database
from server.wiring import wire

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
BOLT = web.AppKey("bolt", AsyncApp)
LINK = web.AppKey("link", SlackLink)
ROLES = web.AppKey("roles", Alone | Shared)


async def _components(app: web.Application) -> AsyncIterator[None]:
    """Start everything in order, and on shutdown stop it in the reverse order.

    Start-up problems with the database raise StartupProblem (one sentence); what was
    opened before a problem is closed again. Shutdown: the Slack link stops trying and
    Socket Mode stops taking commands, commands in flight finish (their SMS must be
    recorded), the outbox gets `SHUTDOWN_GRACE` seconds to reach Slack, then the workers
    stop and the database closes. What is left in the outbox is done at the next start.
    """
    settings = app[SETTINGS]
    clock = app[CLOCK]
    async with contextlib.AsyncExitStack() as opened:
        store = await open_database(settings, clock.now)
        opened.push_async_callback(store.close)
        session = await opened.enter_async_context(aiohttp.ClientSession())
        bolt = bolt_app(settings)
        services, escalator = wire(settings, clock, store, session, bolt)
        listeners.register(bolt, services)
        app[SERVICES] = services
        app[BOLT] = bolt
        app[ROLES] = roles = who_works(services, background_work(services, escalator, clock))
        if isinstance(roles, Shared):  # after the shutdown below: the lease goes last
            opened.push_async_callback(roles.release)
        await roles.start()
        home = clock.background(services.home.run(), "app home")
        socket_mode = None
        if settings.socket_mode:
            from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

            socket_mode = AsyncSocketModeHandler(bolt, settings.slack_app_token)
        app[LINK] = SlackLink(bolt.client, socket_mode)
        linking = asyncio.create_task(app[LINK].run(), name="slack-link")
        try:
            yield
        finally:
            linking.cancel()
            await asyncio.gather(linking, return_exceptions=True)
            if socket_mode is not None:
                await socket_mode.close_async()
            await services.inflight.wait(settings.shutdown_grace)
            home.cancel()
            await asyncio.gather(home, return_exceptions=True)
            active = roles.active
            await roles.stop()
            if active:  # a standby leaves the work to the replica that has it
                grace = settings.shutdown_grace
                await _last_chance(services.applier.apply_all(), grace, "applying pushed reports")
                await _last_chance(services.notifier.drain(), grace, "the outbox's Slack updates")


async def _last_chance(work: Awaitable[object], grace: float, what: str) -> None:
    """Before the database closes: `what` gets `grace` seconds, and the next start does
    whatever it leaves (reports still in the inbox, updates still in the outbox)."""
    try:
        await asyncio.wait_for(work, timeout=grace)
    except TimeoutError:
        log.warning("%s not finished at shutdown; the next start does the rest", what)
    except Exception:
        log.exception("%s failed at shutdown; the next start does the rest", what)


async def slack_events(request: web.Request) -> web.StreamResponse:
    verifier = SignatureVerifier(request.app[SETTINGS].slack_signing_secret or "")
    return await dispatch(request.app[BOLT], verifier, request)


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        await services.store.ping()
        pending = len(await services.outbox.pending())
    except Exception as error:
        log.warning("health check failed: %s", error)
        return web.json_response({"ok": False, "database": str(error)}, status=503)
    link = request.app[LINK]
    body = {
        "ok": True,
        "database": "ok",
        "database_kind": "postgresql" if services.settings.database_url else "sqlite",
        "role": request.app[ROLES].role,
        "slack_mode": "socket" if services.settings.socket_mode else "http",
        "slack": await link.status(),
        "pending_updates": pending,
    }
    if link.problem:
        body["slack_problem"] = link.problem
    return web.json_response(body)


async def metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    counts = await services.sends.state_counts()
    body = services.metrics.render(counts, await services.inbox.size())
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def build_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    """The application factory: `web.run_app(build_app(settings))` serves the bot.

    `clock` is real time unless a test hands in its own (standins.manual_clock).
    """
    app = web.Application(client_max_size=max(MAX_BODY, MAX_SLACK_BODY))
    app[SETTINGS] = settings
    app[CLOCK] = clock or SystemClock()
    app.cleanup_ctx.append(_components)
    if not settings.socket_mode:
        app.router.add_post("/slack/events", slack_events)
    app.router.add_post(settings.sms_report_path, receive_report)
    app.router.add_post("/alerts/{token}", receive_alert)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app
