"""Prometheus metrics, one registry per application so tests can run several apps."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from sms.delivery import State


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.sends = Counter(
            "smsbot_sends", "Sends accepted from Slack or the CLI", ["kind"], registry=self.registry
        )
        self.recipients = Gauge(
            "smsbot_recipients", "Recipients by delivery state", ["state"], registry=self.registry
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

    def gateway_error(self, operation: str, kind: str) -> None:
        self.gateway_errors.labels(operation, kind).inc()

    def render(self, state_counts: dict[str, int]) -> bytes:
        """The text exposition, with recipient gauges read fresh from the database."""
        for state in State:
            self.recipients.labels(state.value).set(state_counts.get(state.value, 0))
        return generate_latest(self.registry)
