"""The engine between Slack and the gateway: settings, who may send, the send path, report
intake, polling, the notifier and escalation. It knows no Slack listener; `listeners/` and
`server/` build on it."""
