"""The background workers, and who runs them: this process alone (SQLite), or whichever
replica holds the lease (PostgreSQL; bot/replica.py says how)."""

from __future__ import annotations

from bot.alerts.worker import AlertWorker
from bot.clock import Clock
from bot.escalation import Escalator
from bot.pruner import Pruner
from bot.replica import Alone, Shared, Work, Workers
from bot.services import Services
from storage.retention import Retention


def background_work(services: Services, escalator: Escalator, clock: Clock) -> Workers:
    """Every worker that must run once per database, not once per replica. (App Home's
    refresh is per replica: it refreshes the tabs opened on it.)"""
    settings = services.settings
    notifier = services.notifier
    works = [
        Work("applier", services.applier.run, wake=services.applier.wake),
        Work("notifier", notifier.run, wake=notifier.wake, stop=notifier.stop),
        Work("poller", services.poller.run),
        Work("escalator", escalator.run),
        Work("alerts", AlertWorker(services, clock=clock).run, wake=services.alerts_wake),
    ]
    if settings.sms_low_balance is not None:
        balance = services.low_balance
        works.append(Work("low balance", balance.run, wake=balance.wanted))
    if settings.sms_retention_days:
        pruner = Pruner(Retention(services.store), settings.sms_retention_days, clock)
        works.append(Work("retention", pruner.run))
    return Workers(works, clock)


def who_works(services: Services, workers: Workers) -> Alone | Shared:
    """`Alone` on SQLite; on PostgreSQL, `Shared` with this replica's lease session."""
    url = services.settings.database_url
    if not url:
        return Alone(workers)
    from storage.postgres.lease import Lease, Megaphone
    from storage.postgres.url import conninfo

    home = services.home
    caller = services.store.caller
    assert caller is not None, "a PgStore always says which process it is"
    lease = Lease(conninfo(url), caller=caller)
    shared = Shared(workers, lease, Megaphone(conninfo(url)), news={"home": home.refresh})
    home.elsewhere = lambda user: shared.tell_all("home", user)
    return shared
