"""What the session did: build steps, attaches, pings, streams, checks, errors."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

MAX_LINES = 500


class ActivityLog(RichLog):
    """A bounded log; `say(text, style)` adds one line."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=MAX_LINES, wrap=True, markup=False, highlight=False)
        self.history: list[str] = []  # plain text of what was said (RichLog renders lazily)

    def say(self, message: str, style: str = "") -> None:
        self.history.append(message)
        del self.history[:-MAX_LINES]
        self.write(Text(message, style=style))
