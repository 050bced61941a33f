"""The `smsbot` command line: every command, argument, default and exit status, in --help.

An operator reads `smsbot X --help` before the README: it names the settings a command
reads (and where they come from), shows each default, and lists the exit statuses a
script can act on.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Sequence
from decimal import Decimal

from bot.config import variable_names
from smsbot import send as terminal_send

__all__ = ["READS", "build_parser"]

GATEWAY = ("SMS_API_URL", "SMS_APP_KEY", "SMS_APP_SECRET", "SMS_GATEWAY_TIMEOUT", "LOG_LEVEL")
# The variables each terminal command reads; the others are not checked (serve reads all).
READS: dict[str, tuple[str, ...]] = {
    "balance": GATEWAY,
    "status": (*GATEWAY, "SMS_DEFAULT_REGION"),
    "send": (
        *GATEWAY,
        "SMS_DEFAULT_REGION",
        "DATABASE_PATH",
        "DATABASE_URL",
        "SMS_SENDER_ID",
        "SMS_SIGNATURE",
    ),
    "audit": ("DATABASE_PATH", "DATABASE_URL"),
}

SETTINGS_FROM = (
    "Settings come from the environment and from a .env file in the current directory "
    "(the environment wins); .env.example and the README's Configuration section describe "
    "each one."
)
WIDTH = 78
DEFAULT = " (default: %(default)s)"
CONFIG_PROBLEM = "  2  a setting it reads is missing or malformed (one line per problem)"


def _fill(*paragraphs: str) -> str:
    """Paragraphs wrapped for a terminal: the raw formatter keeps the exit tables as written."""
    return "\n\n".join(textwrap.fill(" ".join(p.split()), WIDTH) for p in paragraphs)


def _exits(*lines: str) -> str:
    return "exit status:\n" + "\n".join(lines)


def _reads(command: str, *before: str) -> str:
    return _fill(*before, f"Reads {', '.join(READS[command])}. {SETTINGS_FROM}")


def _wrapped(names: Sequence[str], indent: str = "  ", width: int = WIDTH) -> str:
    lines, line = [], indent
    for name in names:
        if len(line) + len(name) + 1 > width:
            lines.append(line.rstrip())
            line = indent
        line += name + " "
    return "\n".join([*lines, line.rstrip()])


def _serve_description() -> str:
    return "\n\n".join(
        [
            _fill(
                "Runs the bot: the HTTP server (Slack's requests in HTTP mode, delivery "
                "reports, /healthz, /metrics) and, when SLACK_APP_TOKEN is set, the Socket "
                "Mode link to Slack.",
                f"{SETTINGS_FROM} Required: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET (not in "
                "Socket Mode), SMS_API_URL, SMS_APP_KEY, SMS_APP_SECRET. All it reads:",
            ),
            _wrapped(variable_names()),
        ]
    )


def _raw(sub: argparse._SubParsersAction, name: str, **kwargs: str) -> argparse.ArgumentParser:
    return sub.add_parser(name, formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smsbot",
        description="Send SMS from Slack and watch delivery in the channel.",
        epilog="`smsbot COMMAND --help` says what a command reads and its exit statuses.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _raw(
        sub,
        "serve",
        help="run the bot (HTTP, or Socket Mode when SLACK_APP_TOKEN is set)",
        description=_serve_description(),
        epilog=_exits(
            "  0  stopped by SIGINT or SIGTERM, after finishing what was in hand",
            "  2  a setting is missing or malformed, or a start-up problem (PORT in use,",
            "     DATABASE_PATH unusable or in use by another smsbot, DATABASE_URL",
            "     unreachable or unfit): one line each",
        ),
    )
    _raw(
        sub,
        "demo",
        help="run a full send -> report -> channel update locally and exit",
        description=_fill(
            "Starts the bot, the gateway simulator and a Slack stand-in on loopback with a "
            "temporary database, sends one /sms send to two numbers and prints what the "
            "channel shows. Reads no settings."
        ),
        epilog=_exits(
            "  0  the channel showed one delivered and one failed recipient",
            "  1  it did not (the transcript shows what it showed)",
        ),
    )
    _simulator(sub)
    send = _raw(
        sub,
        "send",
        help="send an SMS through the gateway",
        description=_reads("send"),
        epilog=terminal_send.EXIT_CODES,
    )
    send.add_argument("to", nargs="+", help="phone numbers, e.g. +2348031000010 (or commas)")
    send.add_argument("-m", "--message", required=True, help="the text, as it should arrive")
    send.add_argument("--from", dest="sender_id", help="sender ID shown on the phone")
    _raw(
        sub,
        "balance",
        help="show the gateway account balance",
        description=_reads("balance"),
        epilog=_exits(
            "  0  printed the balance",
            "  1  the gateway refused or could not be reached (the reason on stderr)",
            CONFIG_PROBLEM,
        ),
    )
    status = _raw(
        sub,
        "status",
        help="delivery status of a send, from the gateway",
        description=_reads("status"),
        epilog=_exits(
            "  0  printed a report for at least one number",
            "  1  no report for any of them, a bad number, or the gateway failed",
            CONFIG_PROBLEM,
        ),
    )
    status.add_argument("msg_id", help="the msgId the gateway gave the send")
    status.add_argument("to", nargs="+", help="the numbers of that send (spaces or commas)")
    _audit(sub)
    return parser


def _simulator(sub: argparse._SubParsersAction) -> None:
    sim = sub.add_parser(
        "simulator",
        help="run the gateway simulator as a server",
        description=_fill(
            "A stand-in for the SMS gateway, to try the bot without a provider account. "
            "Point the bot at it with SMS_API_URL=http://HOST:PORT and the same "
            "SMS_APP_KEY / SMS_APP_SECRET. Reads no settings."
        ),
        epilog=_exits(
            "  0  stopped with Ctrl-C",
            "  2  it cannot listen on --host/--port (in use, or not this machine's)",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on" + DEFAULT)
    sim.add_argument("--port", type=int, default=9118, help="port to listen on" + DEFAULT)
    sim.add_argument("--app-key", default="10002", help="the appKey it accepts" + DEFAULT)
    sim.add_argument("--app-secret", default="abc123", help="the appSecret it accepts" + DEFAULT)
    sim.add_argument(
        "--report-url", help="where to push delivery reports (the bot's webhook); none if unset"
    )
    sim.add_argument(
        "--report-delay",
        type=float,
        default=2.0,
        help="seconds from a send to its report" + DEFAULT,
    )
    sim.add_argument(
        "--fail-suffix",
        action="append",
        metavar="DIGITS",
        help="numbers ending in DIGITS fail with UNDELIV; repeatable (default: 9)",
    )
    sim.add_argument(
        "--balance", type=Decimal, default=Decimal("100.00"), help="the account's balance" + DEFAULT
    )


def _audit(sub: argparse._SubParsersAction) -> None:
    audit = _raw(
        sub,
        "audit",
        help="export who sent what, to whom, and what happened to it (CSV or JSON)",
        description=_reads(
            "audit",
            "One row per recipient of each send created from --since up to --until, with "
            "full numbers and message text. Reads DATABASE_URL (PostgreSQL) or else "
            "DATABASE_PATH, read-only, so it can run "
            "while the bot does.",
        ),
        epilog=_exits(
            "  0  written (output cut short by its reader, as with | head, is 0 too)",
            "  2  a bad --since/--until, an unreadable database or --output, or a bad setting",
        ),
    )
    when = "YYYY-MM-DD or 'YYYY-MM-DD HH:MM' in UTC, or 7d / 24h / 30m ago"
    audit.add_argument("--since", required=True, metavar="WHEN", help=f"from WHEN: {when}")
    audit.add_argument("--until", metavar="WHEN", help="before WHEN, same forms (default: no end)")
    audit.add_argument(
        "--format",
        choices=("csv", "json"),
        default="csv",
        help="CSV with a header (default) or one JSON array of objects",
    )
    audit.add_argument("--output", metavar="FILE", help="write to FILE, mode 0600 (default stdout)")
