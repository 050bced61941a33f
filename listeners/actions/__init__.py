"""Block actions: buttons the bot put in messages."""
