"""Slack listeners, one home per kind, in the shape of the bolt-python starter template."""
