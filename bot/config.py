"""Settings from the environment and `.env`, checked once at start.

Every problem is collected and reported as one line naming the variable, so a
newcomer fixes a bad `.env` in one pass instead of one traceback at a time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from dotenv import dotenv_values

T = TypeVar("T")


class ConfigError(Exception):
    """One or more settings are missing or malformed; `problems` has one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str | None
    slack_signing_secret: str | None
    slack_app_token: str | None
    slack_api_url: str
    sms_api_url: str
    sms_app_key: str
    sms_app_secret: str
    sms_report_path: str
    database_path: Path
    database_url: str | None  # set: PostgreSQL (replicas share it), and DATABASE_PATH is unused
    host: str
    port: int
    sms_public_url: str
    sms_sender_id: str | None
    sms_signature: str | None
    sms_default_region: str | None
    sms_gateway_timezone: ZoneInfo
    sms_gateway_timeout: float
    sms_update_interval: float
    sms_mask_numbers: bool
    sms_poll_after: float
    sms_poll_interval: float
    sms_report_allowed_ips: tuple[IPv4Network | IPv6Network, ...] | None
    shutdown_grace: float
    sms_page_timeout: float
    sms_allowed_channels: frozenset[str] | None
    sms_allowed_users: frozenset[str] | None
    sms_allowed_groups: frozenset[str] | None
    sms_rate_limit: int
    sms_max_recipients: int
    sms_confirm_above: int
    sms_retention_days: int | None
    sms_alert_max_parts: int
    sms_alert_pages_per_hour: int
    sms_low_balance: Decimal | None
    sms_admin_channel: str | None
    slack_profile_cache_seconds: float
    log_level: str
    access_log: bool

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return value


def _database_url(value: str) -> str:
    """PostgreSQL is chosen by URL; another scheme is a mistake worth saying, not a file name."""
    parts = urlsplit(value)
    if parts.scheme not in ("postgresql", "postgres") or not (parts.netloc or parts.query):
        raise ValueError("must be a postgresql:// URL; unset, the bot uses DATABASE_PATH")
    return value


def _slack_url(value: str) -> str:
    return _url(value).rstrip("/") + "/"


def _public_url(value: str) -> str:
    parts = urlsplit(_url(value))
    if parts.query or parts.fragment:
        raise ValueError("must be the bot's address without ?query or #fragment")
    return value.rstrip("/")


def _path(value: str) -> str:
    if not value.startswith("/") or " " in value:
        raise ValueError("must be a URL path starting with /, e.g. /sms/reports")
    return value


def _port(value: str) -> int:
    port = int(value) if value.isdigit() else -1
    if not 0 <= port <= 65535:
        raise ValueError("must be a port number from 0 to 65535")
    return port


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not number > 0:
        raise ValueError("must be a number greater than 0")
    return number


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _region(value: str) -> str:
    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("must be a two-letter region code such as NG, GB or US")
    return region


def _zone(value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone such as UTC or Asia/Shanghai") from None


def _networks(value: str) -> tuple[IPv4Network | IPv6Network, ...]:
    try:
        return tuple(ip_network(part.strip(), strict=False) for part in value.split(",") if part)
    except ValueError:
        raise ValueError("must be IP addresses or CIDRs separated by commas") from None


def _slack_ids(first_letters: str) -> Callable[[str], frozenset[str]]:
    """Comma-separated Slack IDs, e.g. C0123ABC for channels: an ID, never a name, can't drift."""

    def check(value: str) -> frozenset[str]:
        ids = frozenset(part.strip() for part in value.split(",") if part.strip())
        bad = sorted(i for i in ids if not (i[0] in first_letters and i.isalnum() and i.isupper()))
        if bad:
            raise ValueError(
                f"{', '.join(bad)} is not a Slack ID starting with {' or '.join(first_letters)}"
            )
        return ids

    return check


def _count(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise ValueError("must be a whole number of at least 1")
    return int(value)


def _alert_parts(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 10:
        raise ValueError("must be a whole number from 1 to 10")
    return int(value)


def _amount(value: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        amount = Decimal(0)
    if not (amount.is_finite() and amount > 0):
        raise ValueError("must be an amount greater than 0 in the account's currency, e.g. 5.00")
    return amount


def _channel_id(value: str) -> str:
    """One channel ID (C…, G…): a name can be renamed under us, an ID cannot."""
    if not (value[0] in "CG" and value.isalnum() and value.isupper()):
        raise ValueError("must be a channel ID such as C0123ABCD (not a #name)")
    return value


def _prefixed(prefix: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not value.startswith(prefix):
            raise ValueError(f"must start with {prefix}")
        return value

    return check


def _log_level(value: str) -> str:
    level = value.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
    return level


def _sender_id(value: str) -> str:
    if len(value) > 20:
        raise ValueError("must be at most 20 characters")
    return value


class _Reader:
    """Reads variables one by one, remembering every problem instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str], only: Collection[str] | None = None) -> None:
        self.env = env
        self.only = only
        self.problems: list[str] = []
        self.names: list[str] = []

    def get(
        self,
        name: str,
        parse: Callable[[str], T],
        default: str | None = None,
        required: bool = False,
        secret: bool = False,
    ) -> T | None:
        """The parsed value; a problem names the variable and the rule, and never a secret.

        A variable outside `only` is one the command never reads: it is not required and
        not checked, and a value that does not parse stands for its default.
        """
        self.names.append(name)
        if self.only is not None and name not in self.only:
            return self._unchecked(name, parse, default)
        raw = self.env.get(name)
        if raw is None or raw.strip() == "":
            if required:
                self.problems.append(f"{name} is required but not set (see .env.example)")
                return None
            if default is None:
                return None
            raw = default
        try:
            return parse(raw.strip())
        except ValueError as error:
            shown = name if secret else f"{name}={raw!r}"
            self.problems.append(f"{shown} is not valid: {error}")
            return None

    def _unchecked(self, name: str, parse: Callable[[str], T], default: str | None) -> T | None:
        for raw in (self.env.get(name), default):
            if raw is not None and raw.strip():
                try:
                    return parse(raw.strip())
                except ValueError:
                    continue
        return None


def load_environment(env_file: str | Path | None = ".env") -> dict[str, str]:
    """The process environment over the `.env` file: the real environment wins."""
    merged: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    return merged


def _read_all(read: _Reader) -> dict[str, object]:
    app_token = read.get("SLACK_APP_TOKEN", _prefixed("xapp-"), secret=True)
    values = dict(
        slack_bot_token=read.get("SLACK_BOT_TOKEN", _prefixed("xoxb-"), required=True, secret=True),
        slack_signing_secret=read.get(
            "SLACK_SIGNING_SECRET", str, required=not app_token, secret=True
        ),
        slack_app_token=app_token,
        slack_api_url=read.get("SLACK_API_URL", _slack_url, "https://slack.com/api/"),
        sms_api_url=read.get("SMS_API_URL", _url, required=True),
        sms_app_key=read.get("SMS_APP_KEY", str, required=True),
        sms_app_secret=read.get("SMS_APP_SECRET", str, required=True, secret=True),
        sms_report_path=read.get("SMS_REPORT_PATH", _path, "/sms/reports"),
        database_path=read.get("DATABASE_PATH", Path, "smsbot.db"),
        database_url=read.get("DATABASE_URL", _database_url, secret=True),
        host=read.get("HOST", str, "0.0.0.0"),
        port=read.get("PORT", _port, "3000"),
        sms_sender_id=read.get("SMS_SENDER_ID", _sender_id),
        sms_signature=read.get("SMS_SIGNATURE", str),
        sms_default_region=read.get("SMS_DEFAULT_REGION", _region),
        sms_gateway_timezone=read.get("SMS_GATEWAY_TIMEZONE", _zone, "UTC"),
        sms_gateway_timeout=read.get("SMS_GATEWAY_TIMEOUT", _positive_float, "10"),
        sms_update_interval=read.get("SMS_UPDATE_INTERVAL", _positive_float, "1.0"),
        sms_mask_numbers=read.get("SMS_MASK_NUMBERS", _bool, "true"),
        sms_poll_after=read.get("SMS_POLL_AFTER", _positive_float, "300"),
        sms_poll_interval=read.get("SMS_POLL_INTERVAL", _positive_float, "30"),
        sms_report_allowed_ips=read.get("SMS_REPORT_ALLOWED_IPS", _networks),
        shutdown_grace=read.get("SHUTDOWN_GRACE", _positive_float, "10"),
        sms_page_timeout=read.get("SMS_PAGE_TIMEOUT", _positive_float, "300"),
        sms_allowed_channels=read.get("SMS_ALLOWED_CHANNELS", _slack_ids("CGD")),
        sms_allowed_users=read.get("SMS_ALLOWED_USERS", _slack_ids("UW")),
        sms_allowed_groups=read.get("SMS_ALLOWED_GROUPS", _slack_ids("S")),
        sms_rate_limit=read.get("SMS_RATE_LIMIT", _count, "20"),
        sms_max_recipients=read.get("SMS_MAX_RECIPIENTS", _count, "50"),
        sms_confirm_above=read.get("SMS_CONFIRM_ABOVE", _count, "10"),
        sms_retention_days=read.get("SMS_RETENTION_DAYS", _count),
        sms_alert_max_parts=read.get("SMS_ALERT_MAX_PARTS", _alert_parts, "1"),
        sms_alert_pages_per_hour=read.get("SMS_ALERT_PAGES_PER_HOUR", _count, "6"),
        sms_low_balance=read.get("SMS_LOW_BALANCE", _amount),
        sms_admin_channel=read.get("SMS_ADMIN_CHANNEL", _channel_id),
        slack_profile_cache_seconds=read.get("SLACK_PROFILE_CACHE_SECONDS", _positive_float, "300"),
        log_level=read.get("LOG_LEVEL", _log_level, "INFO"),
        access_log=read.get("ACCESS_LOG", _bool, "false"),
        sms_public_url=read.get("SMS_PUBLIC_URL", _public_url),
    )
    if not values["sms_public_url"]:
        host = str(values["host"])
        host = f"[{host}]" if ":" in host else host
        values["sms_public_url"] = f"http://{host}:{values['port']}"
    return values


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    only: Collection[str] | None = None,
) -> Settings:
    """Parse and check every setting; raise ConfigError listing all problems.

    `only`, when given, names the variables a command reads (the terminal commands read
    a few): the others are neither required nor checked, so a bad PORT cannot stop
    `smsbot audit` and `smsbot balance` needs no Slack token.
    """
    read = _Reader(load_environment() if env is None else env, only)
    values = _read_all(read)
    for name in ("sms_api_url", "sms_app_key", "sms_app_secret"):
        values[name] = values[name] or ""
    if read.problems:
        raise ConfigError(read.problems)
    return Settings(**values)  # type: ignore[arg-type]


def variable_names() -> list[str]:
    """Every variable the bot reads, for the test that keeps .env.example complete."""
    read = _Reader({})
    _read_all(read)
    return read.names
