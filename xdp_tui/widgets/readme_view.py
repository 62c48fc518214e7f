"""The lesson README: Markdown with a table of contents and working relative links."""

from __future__ import annotations

import re
from pathlib import Path

from textual.message import Message
from textual.widgets import Markdown, MarkdownViewer

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


class ReadmeView(MarkdownViewer):
    """MarkdownViewer that keeps web links and source files out of its own history.

    A link to another Markdown file (or an anchor) navigates here; a link to a
    source file posts `ReadmeView.SourceLink` so the screen can open it; web
    links are shown as a notification (no browser on an SSH session).
    """

    class SourceLink(Message):
        def __init__(self, path: Path) -> None:
            super().__init__()
            self.path = path

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", show_table_of_contents=True, id=id)
        self.readme: Path | None = None

    async def show_readme(self, path: Path) -> None:
        """Load PATH as the lesson's README (resets the link history)."""
        self.readme = path
        self.navigator.stack.clear()
        self.navigator.index = 0
        try:
            await self.go(path)
        except OSError as exc:
            await self.document.update(f"# No README\n\n`{path}`: {exc.strerror}")

    async def _on_markdown_link_clicked(self, message: Markdown.LinkClicked) -> None:
        message.stop()
        href = message.href.strip()
        if _URL.match(href) or href.startswith("mailto:"):
            self.notify(href, title="Link (open it in your browser)", timeout=8)
            return
        target, _, _anchor = href.partition("#")
        if not target or target.lower().endswith((".md", ".markdown")):
            await self.go(href)
            return
        base = self.navigator.location.parent if self.readme else Path.cwd()
        self.post_message(self.SourceLink((base / target).resolve()))
