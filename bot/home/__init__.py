"""App Home: the tab's view (`view`) and who sees it and when it is refreshed (`tabs`)."""

from __future__ import annotations

from bot.home.tabs import REFRESH_EVERY, HomeTabs
from bot.home.view import SEND_BUTTON

__all__ = ["REFRESH_EVERY", "SEND_BUTTON", "HomeTabs"]
