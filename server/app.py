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
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier

import listeners
from bot.alerts.intake import receive_alert
from bot.alerts.worker import AlertWorker
from bot.balance import BalanceWatch
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.directory import Directory
from bot.escalation import Escalator
from bot.gateway import GatewayClient
from bot.guard import Guard
from bot.home import HomeTabs
from bot.inflight import InFlight
from bot.intake import MAX_BODY, receive_report
from bot.metrics import Metrics
from bot.notifier import Notifier, Pacer, TrackedMessages
from bot.poller import Poller
from bot.pruner import Pruner
from bot.services import SERVICES, Services
from server.link import SlackLink
from server.slack import MAX_SLACK_BODY, bolt_app, dispatch
from server.startup import open_store
from storage import (
    AlertNotices,
    Contacts,
    Integrations,
    Outbox,
    Pages,
    Polling,
    Reports,
    Sends,
    Store,
)
from storage.alert_groups import AlertGroups
from storage.balance import LowBalance
from storage.retention import Retention
from storage.sent_by import SentBy

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
BOLT = web.AppKey("bolt", AsyncApp)
LINK = web.AppKey("link", SlackLink)


def _services(
    settings: Settings,
    clock: Clock,
    store: Store,
    session: aiohttp.ClientSession,
    bolt: AsyncApp,
) -> tuple[Services, Escalator]:
    """Every component, wired once: the listeners and the workers share them."""
    metrics = Metrics()
    sends, reports, outbox = Sends(store), Reports(store), Outbox(store)
    polling, pages = Polling(store), Pages(store)
    client = bolt.client
    pacer = Pacer(settings.sms_update_interval, clock)
    wake = asyncio.Event()
    gateway = GatewayClient(
        settings.sms_api_url,
        settings.sms_app_key,
        settings.sms_app_secret,
        session,
        timeout=settings.sms_gateway_timeout,
        metrics_hook=metrics.gateway_error,
    )
    directory = Directory(
        client,
        ttl=settings.slack_profile_cache_seconds,
        default_region=settings.sms_default_region,
        clock=clock.monotonic,
    )
    guard = Guard(settings, sends, directory, metrics, clock.now)
    contacts = Contacts(store, clock.now)
    low_balance = BalanceWatch(
        gateway,
        LowBalance(store, clock.now),
        client,
        threshold=settings.sms_low_balance,
        admin_channel=settings.sms_admin_channel,
        clock=clock,
    )
    home = HomeTabs(
        client,
        SentBy(store),
        contacts,
        guard,
        low_balance,
        mask=settings.sms_mask_numbers,
        clock=clock,
    )
    tracked = TrackedMessages(
        sends,
        outbox,
        client,
        metrics,
        pacer,
        mask=settings.sms_mask_numbers,
        clock=clock.now,
        poke=wake.set,
        alerts=AlertGroups(store, clock.now),
    )
    notifier = Notifier(
        sends,
        outbox,
        tracked,
        metrics,
        interval=settings.sms_update_interval,
        clock=clock,
        wake=wake,
        shown=home.changed,
    )
    poller = Poller(
        reports,
        polling,
        gateway,
        notifier,
        metrics,
        after=timedelta(seconds=settings.sms_poll_after),
        interval=settings.sms_poll_interval,
        clock=clock,
    )
    services = Services(
        settings=settings,
        store=store,
        sends=sends,
        reports=reports,
        outbox=outbox,
        polling=polling,
        pages=pages,
        gateway=gateway,
        tracked=tracked,
        notifier=notifier,
        poller=poller,
        metrics=metrics,
        clock=clock.now,
        inflight=InFlight(),
        directory=directory,
        contacts=contacts,
        guard=guard,
        integrations=Integrations(store, clock.now),
        alert_notices=AlertNotices(store, clock.now),
        alerts_wake=asyncio.Event(),
        low_balance=low_balance,
        home=home,
    )
    escalator = Escalator(
        pages,
        client,
        metrics,
        pacer,
        timeout=settings.sms_page_timeout,
        interval=min(settings.sms_update_interval * 5, 5.0),
        mask=settings.sms_mask_numbers,
        clock=clock,
    )
    return services, escalator


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
        store = await open_store(settings.database_path, clock.now)
        opened.push_async_callback(store.close)
        session = await opened.enter_async_context(aiohttp.ClientSession())
        bolt = bolt_app(settings)
        services, escalator = _services(settings, clock, store, session, bolt)
        listeners.register(bolt, services)
        app[SERVICES] = services
        app[BOLT] = bolt
        workers = [
            clock.background(services.notifier.run(), "notifier"),
            clock.background(services.poller.run(), "poller"),
            clock.background(escalator.run(), "escalator"),
            clock.background(AlertWorker(services, clock=clock).run(), "alert worker"),
            clock.background(services.home.run(), "app home"),
        ]
        if settings.sms_low_balance is not None:
            workers.append(clock.background(services.low_balance.run(), "low balance"))
        if settings.sms_retention_days:
            pruner = Pruner(Retention(store), settings.sms_retention_days, clock)
            workers.append(clock.background(pruner.run(), "retention"))
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
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            await _drain(services.notifier, settings.shutdown_grace)


async def _drain(notifier: Notifier, grace: float) -> None:
    """The outbox's last chance to reach Slack before the database closes."""
    try:
        await asyncio.wait_for(notifier.drain(), timeout=grace)
    except TimeoutError:
        log.warning("outbox not drained at shutdown; it resumes at the next start")
    except Exception:
        log.exception("outbox drain at shutdown failed; it resumes at the next start")


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
        "slack_mode": "socket" if services.settings.socket_mode else "http",
        "slack": await link.status(),
        "pending_updates": pending,
    }
    if link.problem:
        body["slack_problem"] = link.problem
    return web.json_response(body)


async def metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body = services.metrics.render(await services.sends.state_counts())
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
