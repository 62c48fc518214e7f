"""What the session did: build steps, attaches, pings, streams, checks, errors."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widgets import RichLog

MAX_LINES = 500


class ActivityLog(RichLog):
    """A bounded log; `say(text, style)` adds one line.

    RichLog wraps a line once, at the width it has when written; lines said
    while the tab was hidden (or before a resize) would be cut at its right
    edge, so a new width writes the lines again.
    """

    DEFAULT_CSS = "ActivityLog { scrollbar-gutter: stable; }"  # one width, scrolling or not

    def __init__(self, *, id: str | None = None) -> None:
        # min_width: RichLog's default (78) would wrap wider than a narrow pane.
        super().__init__(
            id=id, max_lines=MAX_LINES, wrap=True, markup=False, highlight=False, min_width=1
        )
        self.history: list[str] = []  # plain text of what was said (RichLog renders lazily)
        self._styles: list[str] = []
        self._drawn_width = 0

    def say(self, message: str, style: str = "") -> None:
        self.history.append(message)
        self._styles.append(style)
        del self.history[:-MAX_LINES], self._styles[:-MAX_LINES]
        self.write(Text(message, style=style), width=self._drawn_width or None)

    def on_resize(self, _event: events.Resize) -> None:
        self.call_after_refresh(self._rewrap)

    def _rewrap(self) -> None:
        width = self.scrollable_content_region.width
        if width > 0 and width != self._drawn_width:
            self._drawn_width = width
            self.clear()
            for message, style in zip(self.history, self._styles, strict=True):
                self.write(Text(message, style=style), width=width)
