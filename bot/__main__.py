"""`python -m bot` is the same as the `smsbot` command."""

from bot.cli import main

raise SystemExit(main())
