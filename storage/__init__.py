"""The bot's database: a Store (lifecycle, one writer thread, reader threads) and one small
query class per family of queries, each taking the Store.

Only re-exports live here, so `from storage import Sends` keeps working however the
modules beside it are arranged.
"""

from __future__ import annotations

from storage.alerts import AlertNotices, Integration, Integrations, StoredNotice
from storage.contacts import Contact, Contacts
from storage.inbox import Inbox
from storage.lock import DatabaseInUse
from storage.outbox import Outbox
from storage.pages import Pages
from storage.polling import Polling
from storage.reports import Reports
from storage.rows import NewRecipient, NewSend, Pending, PollTarget, Recipient, SendView
from storage.sends import Sends
from storage.store import Store

__all__ = [
    "AlertNotices",
    "Contact",
    "Contacts",
    "DatabaseInUse",
    "Inbox",
    "Integration",
    "Integrations",
    "NewRecipient",
    "NewSend",
    "Outbox",
    "Pages",
    "Pending",
    "PollTarget",
    "Polling",
    "Recipient",
    "Reports",
    "SendView",
    "Sends",
    "Store",
    "StoredNotice",
]
