"""What `/sms help` shows, and the usage line every UsageError ends with.

The limits the help text states live here too, so the text and the checks cannot disagree.
"""

from __future__ import annotations

from datetime import timedelta

MAX_MESSAGE_CHARS = 1600
MAX_SENDER_CHARS = 20
MAX_SCHEDULE_AHEAD = timedelta(days=30)

SEND_USAGE = '`/sms send &lt;to&gt; &lt;message&gt; [--from SENDER] [--at "YYYY-MM-DD HH:MM"]`'
PAGE_USAGE = "`/sms page &lt;to&gt; &lt;message&gt;`"
CONTACTS_USAGE = (
    "`/sms contacts add NAME &lt;to&gt;`, `/sms contacts list`, `/sms contacts remove NAME`"
)
ALERTS_USAGE = (
    "`/sms alerts add NAME &lt;to&gt;`, `/sms alerts list`, `/sms alerts remove NAME`, "
    "`/sms alerts rotate NAME`"
)
USAGES = {
    "send": SEND_USAGE,
    "page": PAGE_USAGE,
    "balance": "`/sms balance`",
    "status": "`/sms status [msgId]`",
    "contacts": CONTACTS_USAGE,
    "alerts": ALERTS_USAGE,
    "help": "`/sms help [subcommand]`",
}
SUBCOMMANDS = tuple(USAGES)
CONTACT_ACTIONS = ("add", "list", "remove")
ALERT_ACTIONS = ("add", "list", "remove", "rotate")

USAGE = f"""\
*Send SMS from Slack*
• {SEND_USAGE} — send a text
    `/sms send +2348031000010 Your code is 279275`
    `/sms send +2348031000010,+2348031000011 Standup moved to 10:30 --from ACME`
    `/sms send "+234 803 100 0010" Reminder: pick-up tomorrow --at "2025-01-31 09:00"`
• {PAGE_USAGE} — page people, now (a page can't be scheduled): the channel is alerted if \
someone is not reached in time
    `/sms page @alice DB primary down, see #inc-42`
    `/sms page @dba-oncall replication stopped`
• `/sms balance` — the gateway balance, e.g. `Balance: 1.00 CNY`
• `/sms status [msgId]` — delivery of one send, or this channel's recent sends
    `/sms status 240924162017564896`
• `/sms contacts add NAME &lt;to&gt;` — save numbers and @mentions under a name, for this \
workspace (adding an existing name replaces it)
    `/sms contacts add oncall +2348031000010,+2348031000011`
    `/sms send oncall DB primary down`
• `/sms contacts list` (or just `/sms contacts`) and `/sms contacts remove NAME`
• `/sms alerts add NAME &lt;to&gt;` — an alert integration for this channel: Alertmanager, \
Grafana or any JSON posts to its URL (told only to you) and &lt;to&gt; is paged
    `/sms alerts add prod-db @dba-oncall`
• `/sms alerts list` (or just `/sms alerts`), `/sms alerts remove NAME`, and \
`/sms alerts rotate NAME` (a new URL; the old one stops working at once)
• `/sms help` — this text

_Recipients_ come first: phone numbers with their country code (`+234…` or `234…`; lists \
joined with commas; numbers with spaces in quotes), @people and @user-groups (texted at the \
phone in their Slack profile), and saved contacts by name. \
The message starts at the first word that is none of these; put `--` before a message that \
starts with digits or with a contact's name: `/sms send +2348031000010 -- 2FA code 1234`.
_Options_ go at the end: `--from` sets the sender ID (up to {MAX_SENDER_CHARS} characters), \
`--at` schedules the send (up to {MAX_SCHEDULE_AHEAD.days} days ahead), in your Slack time \
zone unless you write one after it: `--at "2025-01-31 09:00 Europe/Berlin"`.
Messages may be up to {MAX_MESSAGE_CHARS} characters."""


def usage(subcommand: str) -> str:
    """The hint line under an error: the one subcommand's usage, not the whole help text."""
    return f"Usage: {USAGES[subcommand]}"
