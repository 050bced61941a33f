"""The `smsbot` command."""
