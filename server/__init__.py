"""The web application: routes, the Slack endpoint, and the start and stop of every worker."""
