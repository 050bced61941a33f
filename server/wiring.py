"""Every component of the bot, made once at start and wired together.

The listeners and the background workers share them (`Services`); the escalator is
returned beside them since only its worker uses it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import aiohttp
from slack_bolt.async_app import AsyncApp

from bot.applier import ReportApplier
from bot.balance import BalanceWatch
from bot.clock import Clock
from bot.config import Settings
from bot.directory import Directory
from bot.escalation import Escalator
from bot.gateway import GatewayClient
from bot.guard import Guard
from bot.home import HomeTabs
from bot.inflight import InFlight
from bot.metrics import Metrics
from bot.notifier import Notifier, Pacer, TrackedMessages
from bot.poller import Poller
from bot.services import Services
from storage import (
    AlertNotices,
    Contacts,
    Inbox,
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
from storage.sent_by import SentBy


def wire(
    settings: Settings,
    clock: Clock,
    store: Store,
    session: aiohttp.ClientSession,
    bolt: AsyncApp,
) -> tuple[Services, Escalator]:
    """Every component, wired once: the listeners and the workers share them."""
    metrics = Metrics()
    sends, reports, outbox = Sends(store), Reports(store), Outbox(store)
    inbox = Inbox(store)
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
        # With replicas a send cut off in its gateway call is seen each round, not at start.
        replicas=bool(settings.database_url),
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
        inbox=inbox,
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
        applier=ReportApplier(reports, inbox, notifier, metrics, clock=clock),
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
