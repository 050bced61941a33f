"""`smsbot serve`: run the app, and say in one log line what is running and in one that it stopped.

An operator reading the log after a restart should see, without opening `.env`, which
version runs in which mode, where it listens, where reports go, the base of the alert
integrations' URLs, which database it uses and which guardrails are on. Per-request access
lines are off unless ACCESS_LOG asks for them: the report webhook is a hot path and its
lines would drown everything else.

The event loop is uvloop where it is installed (every platform but Windows): the report
webhook answers thousands of pushes a second on one core, and uvloop takes about a tenth
less CPU per answer than asyncio's own loop (bench/README.md). Tests that run the app
in-process use asyncio's loop, those that start `smsbot serve` use this one, so both are
exercised.
"""

from __future__ import annotations

import asyncio
import logging
from importlib.metadata import version
from urllib.parse import urlsplit

from aiohttp import web

from bot.config import Settings
from server.app import build_app

__all__ = ["describe", "run"]

log = logging.getLogger(__name__)


def _ids(kind: str, ids: frozenset[str] | None) -> str | None:
    return f"{kind} {','.join(sorted(ids))}" if ids else None


def guardrails(settings: Settings) -> str:
    """The guardrails in force, in the words of their settings."""
    who = [
        _ids("channels", settings.sms_allowed_channels),
        _ids("users", settings.sms_allowed_users),
        _ids("groups", settings.sms_allowed_groups),
    ]
    allowed = "; ".join(w for w in who if w) or "anyone in any channel"
    networks = settings.sms_report_allowed_ips
    return (
        f"senders {allowed}; {settings.sms_rate_limit} commands per person per hour; "
        f"at most {settings.sms_max_recipients} recipients; numbers "
        f"{'masked' if settings.sms_mask_numbers else 'shown'} in channels; reports from "
        + (", ".join(str(n) for n in networks) if networks else "any address")
    )


def describe(settings: Settings, loop: asyncio.AbstractEventLoop | None = None) -> str:
    """The start-up line: everything an operator checks first, no secret."""
    mode = "Socket Mode" if settings.socket_mode else "HTTP mode"
    looped = f"event loop {type(loop).__module__.split('.')[0]}, " if loop else ""
    return (
        f"smsbot {version('smsbot')} serving: {mode}, {looped}listening on "
        f"http://{settings.host}:{settings.port}, reports at POST {settings.sms_report_path}, "
        f"alerts at {settings.sms_public_url}/alerts/…, "
        f"database {_database(settings)}, access log "
        f"{'on' if settings.access_log else 'off'}, retention "
        f"{f'{settings.sms_retention_days} days' if settings.sms_retention_days else 'off'}, "
        f"guardrails: {guardrails(settings)}"
    )


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop where it is installed, else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run(settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM; start-up problems raise (the CLI says them in a line)."""
    loop = new_event_loop()
    web.run_app(
        build_app(settings),
        host=settings.host,
        port=settings.port,
        shutdown_timeout=settings.shutdown_grace,
        access_log=logging.getLogger("aiohttp.access") if settings.access_log else None,
        # called once the port is open, instead of aiohttp's banner on stdout
        print=lambda _banner: log.info(describe(settings, loop)),
        loop=loop,
    )
    log.info("smsbot stopped")


def _database(settings: Settings) -> str:
    """Which database, never the password: PostgreSQL's host, port and name, or the file."""
    if not settings.database_url:
        return str(settings.database_path)
    parts = urlsplit(settings.database_url)
    where = f"{parts.hostname or 'local socket'}{f':{parts.port}' if parts.port else ''}"
    return f"PostgreSQL {where}{parts.path or ''}"
