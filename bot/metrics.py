"""Prometheus metrics, one registry per application so tests can run several apps.

Every label value known in advance is created at start, so a fresh `/metrics` shows
those series at 0: a rate() or an alert on them works before the first event. Labels
that are open-ended (a Slack error code) appear at their first occurrence.
"""

from __future__ import annotations

from typing import Literal, get_args

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    disable_created_metrics,
    generate_latest,
)

from bot.gateway.errors import (
    GatewayProtocolError,
    GatewayRejected,
    GatewayTimeout,
    GatewayUncertain,
    GatewayUnreachable,
)
from sms.delivery import Outcome, ReportSource, State

# Each counter would also export a `*_created` gauge holding a Unix timestamp: not a
# measurement of the bot, and a stray series on every dashboard. Process-wide, as the
# library's switch is.
disable_created_metrics()

# `smsbot send` runs in a process of its own and counts nothing here.
SendKind = Literal["send", "page"]
RefusalReason = Literal["channel", "user", "rate", "recipients"]
RejectReason = Literal["address", "credentials", "too_large", "malformed", "storage"]
GatewayOperation = Literal["send", "balance", "status"]
SlackUpdateMethod = Literal["chat.postMessage", "chat.update"]
# What became of a notification POSTed to an integration's URL: stored as firing or as
# resolved, refused as unreadable (400, 413), or not stored (503: the sender retries).
AlertStatus = Literal["firing", "resolved", "rejected", "unstored"]
AlertNoteKind = Literal["firing", "added", "resolved"]
GATEWAY_ERROR_KINDS = tuple(
    error.kind
    for error in (
        GatewayRejected,
        GatewayUncertain,
        GatewayUnreachable,
        GatewayTimeout,
        GatewayProtocolError,
    )
)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.sends = Counter(
            "smsbot_sends", "Sends accepted from Slack", ["kind"], registry=self.registry
        )
        self.recipients = Gauge(
            "smsbot_recipients", "Recipients by delivery state", ["state"], registry=self.registry
        )
        self.reports_pending = Gauge(
            "smsbot_reports_pending",
            "Pushed reports answered and stored, not yet applied to their recipient",
            registry=self.registry,
        )
        self.reports_received = Counter(
            "smsbot_reports_received",
            "Delivery reports stored, by source and what they did",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.reports_rejected = Counter(
            "smsbot_reports_rejected",
            "Pushed reports refused by the webhook",
            ["reason"],
            registry=self.registry,
        )
        self.gateway_errors = Counter(
            "smsbot_gateway_errors",
            "Failed calls to the SMS gateway",
            ["operation", "kind"],
            registry=self.registry,
        )
        self.slack_errors = Counter(
            "smsbot_slack_errors",
            "Failed Slack Web API calls",
            ["method", "error"],
            registry=self.registry,
        )
        self.slack_dropped = Counter(
            "smsbot_slack_updates_dropped",
            "Channel updates given up on, by the Slack error that ended them",
            ["error"],
            registry=self.registry,
        )
        self.page_alerts = Counter(
            "smsbot_page_alerts",
            "Page recipients alerted on in the channel (failed or not delivered in time)",
            registry=self.registry,
        )
        self.refusals = Counter(
            "smsbot_refusals",
            "Commands refused by the guardrails",
            ["reason"],
            registry=self.registry,
        )
        self.slack_updates = Counter(
            "smsbot_slack_updates",
            "Tracked-message posts, edits and thread replies made",
            ["method"],
            registry=self.registry,
        )
        self.alerts = Counter(
            "smsbot_alerts",
            "Notifications received by alert integrations, by what became of them",
            ["integration", "status"],
            registry=self.registry,
        )
        self.alert_pages = Counter(
            "smsbot_alert_pages",
            "Alert groups that started firing and texted their integration's recipients",
            ["integration"],
            registry=self.registry,
        )
        self.alert_pages_held = Counter(
            "smsbot_alert_pages_held",
            "Alert pages held back by SMS_ALERT_PAGES_PER_HOUR: said in the channel, no SMS",
            ["integration"],
            registry=self.registry,
        )
        self.alert_notes = Counter(
            "smsbot_alert_notes",
            "Notes said in an alert page's thread instead of an SMS",
            ["kind"],
            registry=self.registry,
        )
        self._create_known_series()

    def _create_known_series(self) -> None:
        """Touch each closed-set label value once, so its series is exported at 0."""
        for kind in get_args(SendKind):
            self.sends.labels(kind)
        for state in State:
            self.recipients.labels(state.value)
        for source in get_args(ReportSource):
            for outcome in get_args(Outcome):
                self.reports_received.labels(source, outcome)
        for reason in get_args(RejectReason):
            self.reports_rejected.labels(reason)
        for operation in get_args(GatewayOperation):
            for kind in GATEWAY_ERROR_KINDS:
                self.gateway_errors.labels(operation, kind)
        for reason in get_args(RefusalReason):
            self.refusals.labels(reason)
        for method in get_args(SlackUpdateMethod):
            self.slack_updates.labels(method)
        for kind in get_args(AlertNoteKind):
            self.alert_notes.labels(kind)

    def alert_received(self, integration: str, status: AlertStatus) -> None:
        """Count one; an integration's first count shows its other statuses at 0 too."""
        for each in get_args(AlertStatus):
            self.alerts.labels(integration, each)
        self.alerts.labels(integration, status).inc()

    def gateway_error(self, operation: str, kind: str) -> None:
        self.gateway_errors.labels(operation, kind).inc()

    def render(self, state_counts: dict[str, int], reports_pending: int) -> bytes:
        """The text exposition, with the gauges read fresh from the database."""
        for state in State:
            self.recipients.labels(state.value).set(state_counts.get(state.value, 0))
        self.reports_pending.set(reports_pending)
        return generate_latest(self.registry)
