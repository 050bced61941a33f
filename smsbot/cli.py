"""The `smsbot` command: serve, demo, simulator, and the gateway from a terminal."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import socket
import sys
from collections.abc import Sequence

import aiohttp

from bot.config import ConfigError, Settings, load_settings
from bot.gateway import GatewayClient, GatewayError
from sms import phones
from smsbot import send as terminal_send
from smsbot.parser import READS, build_parser
from storage import DatabaseInUse


def _settings(command: str) -> Settings:
    try:
        return load_settings(only=READS.get(command))
    except ConfigError as error:
        for problem in error.problems:
            print(f"smsbot: {problem}", file=sys.stderr)
        raise SystemExit(2) from None


def _gateway(settings: Settings, session: aiohttp.ClientSession) -> GatewayClient:
    return GatewayClient(
        settings.sms_api_url,
        settings.sms_app_key,
        settings.sms_app_secret,
        session,
        timeout=settings.sms_gateway_timeout,
    )


async def _terminal(args: argparse.Namespace, settings: Settings) -> int:
    async with aiohttp.ClientSession() as session:
        gateway = _gateway(settings, session)
        if args.command == "balance":
            print(f"Balance: {await gateway.balance()}")
            return 0
        if args.command == "send":
            return await terminal_send.run(args, settings, gateway)
        numbers = []
        for raw in args.to:
            for part in raw.split(","):
                numbers.append(phones.normalize(part, settings.sms_default_region))
        entries = await gateway.status([(args.msg_id, n) for n in numbers])
        for entry in entries:
            print(
                f"{entry.msg_id} {phones.display(entry.mobile)} status={entry.status} "
                f"errorCode={entry.error_code} time={entry.timestamp}"
            )
        answered = {entry.mobile for entry in entries}
        for number in numbers:
            if number not in answered:
                print(
                    f"{args.msg_id} {phones.display(number)}: no report found (unknown "
                    "msgId or number, or older than the gateway's 30 days)",
                    file=sys.stderr,
                )
        return 0 if entries else 1


def _listen_problem(
    error: OSError, host: str, port: int, names: tuple[str, str] = ("HOST=", "PORT=")
) -> str | None:
    """The sentence for a listening socket that could not be opened, else None.

    `names` says how the operator set the address: settings for serve, flags for simulator.
    """
    shown_host, shown_port = f"{names[0]}{host}", f"{names[1]}{port}"
    where = f"{shown_host} {shown_port}"
    if isinstance(error, socket.gaierror):
        return f"{shown_host} is not an address this machine can listen on"
    if error.errno == errno.EADDRINUSE:
        return (
            f"{where}: the port is in use by another program; stop it or set another "
            f"{names[1].strip('= ')}"
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return f"{shown_host} is not an address of this machine"
    if error.errno == errno.EACCES:
        return f"{where}: not allowed to listen there (ports below 1024 need privileges)"
    return None


def _serve(settings: Settings) -> int:
    """Run the bot; a start-up problem is one line and exit code 2, not a traceback."""
    from server import serving
    from server.startup import StartupProblem

    try:
        serving.run(settings)
    except (DatabaseInUse, StartupProblem) as error:
        print(f"smsbot: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        problem = _listen_problem(error, settings.host, settings.port)
        if problem is None:
            raise
        print(f"smsbot: {problem}", file=sys.stderr)
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; output cut short by its reader (`| head`) ends quietly, with 0."""
    try:
        return _run(build_parser().parse_args(argv))
    except BrokenPipeError:
        # Whatever is still buffered cannot be written either: point stdout at /dev/null so
        # the interpreter's final flush does not print "Exception ignored".
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _log_level(command: str, settings: Settings) -> str:
    """The bot logs at LOG_LEVEL; a terminal command prints its answer, so its log shows
    only warnings, unless LOG_LEVEL=DEBUG asks for everything."""
    if command == "serve" or settings.log_level == "DEBUG":
        return settings.log_level
    return "WARNING"


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command == "demo":
        from standins.demo import run_demo

        logging.getLogger().setLevel(logging.WARNING)
        return asyncio.run(run_demo())
    if args.command == "simulator":
        from standins.gateway_simulator import SimulatorConfig, run_simulator

        config = SimulatorConfig(
            app_key=args.app_key,
            app_secret=args.app_secret,
            report_url=args.report_url,
            report_delay=args.report_delay,
            fail_suffixes=tuple(args.fail_suffix or ["9"]),
            balance=args.balance,
        )
        try:
            asyncio.run(run_simulator(config, args.host, args.port))
        except KeyboardInterrupt:
            pass
        except OSError as error:
            problem = _listen_problem(error, args.host, args.port, ("--host ", "--port "))
            if problem is None:
                raise
            print(f"smsbot: {problem}", file=sys.stderr)
            return 2
        return 0
    if args.command == "audit":
        from bot import audit

        where = _settings("audit")
        return audit.run(
            where.database_path,
            args.since,
            args.until,
            args.format,
            args.output,
            url=where.database_url,
        )
    settings = _settings(args.command)
    logging.getLogger().setLevel(_log_level(args.command, settings))
    if args.command == "serve":
        return _serve(settings)
    try:
        return asyncio.run(_terminal(args, settings))
    except (GatewayError, phones.InvalidNumber) as error:
        print(f"smsbot: {error}", file=sys.stderr)
        return 1
