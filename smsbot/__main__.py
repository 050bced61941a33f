"""`python -m smsbot` is the same as the `smsbot` command."""

from smsbot.cli import main

raise SystemExit(main())
