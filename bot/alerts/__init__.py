"""Alerts from monitoring that page people: payloads, intake, the worker that pages."""
