"""What a command handler or route needs, made once at start and passed in."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from bot.applier import ReportApplier
from bot.balance import BalanceWatch
from bot.config import Settings
from bot.directory import Directory
from bot.gateway import GatewayClient
from bot.guard import Guard
from bot.home import HomeTabs
from bot.inflight import InFlight
from bot.metrics import Metrics
from bot.notifier import Notifier, TrackedMessages
from bot.poller import Poller
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


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    sends: Sends
    reports: Reports
    inbox: Inbox  # pushed reports stored and answered, for the applier
    outbox: Outbox
    polling: Polling
    pages: Pages
    gateway: GatewayClient
    tracked: TrackedMessages
    notifier: Notifier
    poller: Poller
    metrics: Metrics
    clock: Callable[[], datetime]
    inflight: InFlight
    directory: Directory
    contacts: Contacts
    guard: Guard
    integrations: Integrations
    alert_notices: AlertNotices
    alerts_wake: asyncio.Event  # set when a notice is stored; the alert worker waits on it
    low_balance: BalanceWatch  # asked to check the balance after each send
    applier: ReportApplier  # poked when the webhook has logged a report
    home: HomeTabs  # App Home: published when opened, refreshed as the person's sends change


SERVICES = web.AppKey("services", Services)
