"""`smsbot send`: the Slack send path from a terminal, with exit codes a script can act on.

It goes through `bot.sending.send_and_store` like `/sms send`: each phone texted once, the
signature and default sender ID applied, the send written to the database (DATABASE_URL or
DATABASE_PATH) before the gateway is called (so `smsbot audit` shows it even if this command
is killed mid-call). It opens a SQLite database without the one-bot lock, so it runs
beside `smsbot serve`, whose notifier posts nothing for it (it has no channel) while its
poller still follows its delivery.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import sqlite3
import sys
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime

from bot.config import Settings
from bot.gateway import GatewayClient
from bot.recipients import Target
from bot.sending import SendResult, send_and_store
from server.startup import DATABASE_ERRORS, StartupProblem, open_postgres
from sms import phones
from storage import NewSend, Sends, Store
from storage.path import database_path_problem

SENT, REJECTED, UNKNOWN, PARTLY = 0, 1, 3, 4

EXIT_CODES = """\
exit status:
  0  sent: the gateway accepted every number (msgIds on stdout)
  1  rejected: nothing was sent (a bad number, no connection, or the gateway refused it)
  2  a configuration problem
  3  unknown: the gateway's answer did not say whether some numbers were sent; they are
     not re-sent on their own: check with the provider before sending again
  4  partly sent: some numbers were accepted, the rest refused (those were not sent)

Each phone is texted once however it is written (+234..., 234..., with spaces, repeated).
SMS_SIGNATURE and SMS_SENDER_ID apply as for /sms send, and the send is recorded in
the database (see `smsbot audit`) before the gateway is called."""


def _alive(settings: Settings, store: Store) -> AbstractAsyncContextManager[object]:
    """On PostgreSQL, this process counts as alive while it calls the gateway, so a
    replica does not take its send for one a crash cut off (storage/sends.py)."""
    if not settings.database_url or store.caller is None:
        return contextlib.nullcontext()
    from storage.postgres.lease import alive
    from storage.postgres.url import conninfo

    return alive(conninfo(settings.database_url), store.caller)


def _now() -> datetime:
    return datetime.now(UTC)


def _login() -> str:
    """Who ran the command, for the audit trail's user_id."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


async def run(args: argparse.Namespace, settings: Settings, gateway: GatewayClient) -> int:
    """Send, print each batch's outcome, and return the exit status (see EXIT_CODES)."""
    numbers = [
        phones.normalize(part, settings.sms_default_region)
        for raw in args.to
        for part in raw.split(",")
    ]
    send = NewSend(
        team_id="",
        user_id=_login(),
        channel_id="",
        kind="cli",
        content=args.message,
        sender_id=args.sender_id or settings.sms_sender_id,
    )
    if settings.database_url:
        try:
            store = await open_postgres(settings.database_url, _now)
        except StartupProblem as problem:
            print(f"smsbot: {problem}; nothing was sent", file=sys.stderr)
            return REJECTED
    else:
        problem = database_path_problem(settings.database_path)
        if problem:
            print(f"smsbot: {problem}; nothing was sent", file=sys.stderr)
            return REJECTED
        store = Store(settings.database_path, _now, exclusive=False)
        try:
            await store.open()
        except (sqlite3.Error, OSError) as error:
            await store.close()
            print(
                f"smsbot: DATABASE_PATH={settings.database_path} cannot take the record of "
                f"this send ({error}); nothing was sent",
                file=sys.stderr,
            )
            return REJECTED
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(store.close)
        try:
            await stack.enter_async_context(_alive(settings, store))
        except DATABASE_ERRORS as error:
            print(
                f"smsbot: the database stopped answering ({error}); nothing was sent",
                file=sys.stderr,
            )
            return REJECTED
        try:
            result = await send_and_store(
                gateway,
                Sends(store),
                send,
                [Target(number) for number in numbers],
                None,
                signature=settings.sms_signature,
            )
        except DATABASE_ERRORS as error:
            print(
                f"smsbot: the send could not be recorded in the database ({error}); it may "
                "or may not have been sent, and is not re-sent: check with the provider",
                file=sys.stderr,
            )
            return UNKNOWN
    return _report(result)


def _report(result: SendResult) -> int:
    for batch in result.batches:
        if batch.msg_id:
            print(f"msgId {batch.msg_id}: sent to {len(batch.mobiles)} number(s)")
    for batch in result.unknown:
        print(
            f"{len(batch.mobiles)} number(s): {batch.error}. They are not re-sent: check "
            "with the provider before sending them again.",
            file=sys.stderr,
        )
    for batch in result.rejected:
        print(f"{len(batch.mobiles)} number(s) not sent: {batch.error}", file=sys.stderr)
    if result.unknown:
        return UNKNOWN
    if result.rejected:
        return PARTLY if result.accepted else REJECTED
    return SENT
