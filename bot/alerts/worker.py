"""The alert worker: each stored notice, in the order it came, moves its group along.

- firing, no open group: the group opens and pages once: one SMS to the integration's
  recipients (resolved now, so an @on-call group pages whoever is on call) through the
  send path, kind `alert`, and a tracked page message in the integration's channel;
- firing, open group: no SMS; a note in the page's thread ("still firing", or "2 more
  alerts" when alerts the group had not seen fire);
- resolved, open group: a note, the tracked message says resolved, the group closes (a
  later firing notice opens a new group, and pages again);
- resolved, no open group: nothing.

Each notice is marked done in the commit that records what it did, so a restart redoes
exactly the notices not done. A page's group is written in the commit that writes its send
down, before the gateway is called: a crash during the call leaves the page `unknown` (as
for `/sms page`), never sent twice. At most SMS_ALERT_PAGES_PER_HOUR pages per integration
in any hour: a group past it is said in the channel, with no SMS.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from bot.alerts import render
from bot.alerts.notice import AlertNotice
from bot.alerts.text import alert_sms
from bot.alerts.to import read_to
from bot.clock import Clock
from bot.recipients import Target, TooMany, resolve
from bot.sending import send_and_store
from bot.services import Services
from storage import Integration, NewSend, StoredNotice
from storage.alert_groups import AlertGroup, AlertGroups, NewGroup

__all__ = ["AlertWorker"]

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=1)
# A notice that fails this many rounds running is set aside (logged), so one bad notice
# cannot hold up every alert behind it.
MAX_TRIES = 5


class AlertWorker:
    def __init__(self, services: Services, *, clock: Clock) -> None:
        self.services = services
        self.groups = AlertGroups(services.store, clock.now)
        self.clock = clock
        self.notices = services.alert_notices
        self.integrations = services.integrations
        self.interval = 30.0
        self._tries: dict[int, int] = {}

    async def run(self) -> None:
        """Woken by the intake route after each stored notice; a round every 30 s anyway."""
        wake = self.services.alerts_wake
        wake.set()  # notices left from before a restart
        while True:
            await self.clock.wait(wake, self.interval)
            wake.clear()
            try:
                await self.work()
            except Exception:
                log.exception("alert worker round failed; trying again next round")

    async def work(self) -> int:
        """Act on every notice not done yet, oldest first; how many."""
        count = 0
        while notices := await self.notices.undone():
            for stored in notices:
                await self._one(stored)
                count += 1
        return count

    async def _one(self, stored: StoredNotice) -> None:
        try:
            await self.act(stored)
        except Exception:
            tries = self._tries[stored.id] = self._tries.get(stored.id, 0) + 1
            if tries < MAX_TRIES:
                raise
            log.exception("alert notice %s failed %d times: set aside", stored.id, tries)
            await self.groups.mark_done(stored.id)
        self._tries.pop(stored.id, None)

    async def act(self, stored: StoredNotice) -> None:
        """One notice: its group's next state, written with the notice done."""
        try:
            notice = AlertNotice.from_json(stored.notice)
        except (ValueError, TypeError, KeyError):
            log.error("alert notice %s is not readable: set aside", stored.id)
            await self.groups.mark_done(stored.id)
            return
        integration = await self.integrations.get(stored.integration_id)
        group = await self.groups.open_group(stored.integration_id, stored.group_key)
        if integration is None or (group is None and notice.status == "resolved"):
            await self.groups.mark_done(stored.id)
        elif group is None:
            await self._page(integration, stored, notice)
        elif notice.status == "resolved":
            await self._note(group, stored, notice, "resolved", render.resolved_note(notice))
        else:
            added = len(set(notice.fingerprints) - set(group.fingerprints))
            if added:
                await self._note(group, stored, notice, "added", render.added_note(notice, added))
            else:
                await self._note(group, stored, notice, "firing", render.firing_note(notice))
        self.services.notifier.poke()

    async def _note(
        self, group: AlertGroup, stored: StoredNotice, notice: AlertNotice, kind: str, text: str
    ) -> None:
        await self.groups.note(
            group,
            stored.id,
            kind=kind,
            text=text,
            notice=stored.notice,
            fingerprints=sorted({*group.fingerprints, *notice.fingerprints}),
            close=kind == "resolved",
        )

    async def _page(
        self, integration: Integration, stored: StoredNotice, notice: AlertNotice
    ) -> None:
        """A group starts firing: page its recipients once, unless the hour's pages are
        used up or nobody can be texted; either way the channel sees the alert."""
        settings, metrics = self.services.settings, self.services.metrics
        new = NewGroup(
            integration.id,
            integration.name,
            stored.group_key,
            stored.notice,
            notice.fingerprints,
            paged=False,
        )
        send = NewSend(
            team_id=integration.team_id,
            user_id=integration.created_by,
            channel_id=integration.channel_id,
            kind="alert",
            content=alert_sms(
                notice.title,
                notice.text,
                notice.firing,
                max_parts=settings.sms_alert_max_parts,
                signature=settings.sms_signature,
            ),
            sender_id=settings.sms_sender_id,
        )
        limit = settings.sms_alert_pages_per_hour
        recent = await self.groups.pages_since(integration.id, self.clock.now() - WINDOW)
        if recent >= limit:
            log.warning("alert page of %s held back: %d pages this hour", integration.name, recent)
            metrics.alert_pages_held.labels(integration.name).inc()
            problem = (
                f"Held back, no SMS: `{integration.name}` has paged {recent} times in the last "
                f"hour, the limit (SMS_ALERT_PAGES_PER_HOUR={limit})."
            )
            await self.groups.open_unpaged(send, replace(new, problem=problem), stored.id)
            return
        targets, problems = await self._targets(integration)
        if not targets:
            problem = "Nobody was texted: " + (" ".join(problems) or "no recipients.")
            await self.groups.open_unpaged(send, replace(new, problem=problem), stored.id)
            return
        paged = replace(new, paged=True, problem=" ".join(problems) or None)
        result = await send_and_store(
            self.services.gateway,
            self.services.sends,
            send,
            targets,
            None,
            signature=settings.sms_signature,
            also=self.groups.opening(paged, stored.id),
            keep_refused=True,
        )
        self.services.low_balance.spent(None)
        metrics.alert_pages.labels(integration.name).inc()
        for batch in result.unknown + result.rejected:
            log.warning(
                "alert page of %s: %d number(s) %s: %s",
                integration.name,
                len(batch.mobiles),
                "may or may not have been sent" if batch in result.unknown else "not sent",
                batch.error,
            )

    async def _targets(self, integration: Integration) -> tuple[list[Target], list[str]]:
        """Who to text now: the integration's `<to>` resolved as `/sms send` resolves it."""
        services = self.services
        named = read_to(integration.recipients)  # as /sms alerts add stored it
        try:
            resolved = await resolve(
                numbers=named.numbers,
                users=named.users,
                groups=named.groups,
                contact_names=named.contacts,
                team_id=integration.team_id,
                directory=services.directory,
                contacts=services.contacts,
                most=services.settings.sms_max_recipients,
            )
        except TooMany as error:
            most = services.settings.sms_max_recipients
            return [], [f"{error.count} recipients named, more than SMS_MAX_RECIPIENTS={most}."]
        return resolved.targets, list(resolved.problems)
