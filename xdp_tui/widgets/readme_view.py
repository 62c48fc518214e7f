"""The lesson README: Markdown with a table of contents and working relative links."""

from __future__ import annotations

import re
from pathlib import Path

from textual.message import Message
from textual.widgets import Markdown, MarkdownViewer

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_FENCE = re.compile(r"^(\s*)(```+|~~~+)(.*)$")


def label_bare_fences(markdown: str) -> str:
    """Mark code fences without a language as plain text.

    Textual asks Pygments to guess the language of an unlabelled fence,
    which costs tens of milliseconds each; our READMEs use them for diagrams.
    """
    out, fence = [], None
    for line in markdown.splitlines():
        match = _FENCE.match(line)
        if match and fence is None:
            fence = match.group(2)
            if not match.group(3).strip():
                line = f"{match.group(1)}{fence}text"
        elif (
            match
            and fence is not None
            and match.group(2).startswith(fence[0])
            and not match.group(3).strip()
        ):
            fence = None
        out.append(line)
    return "\n".join(out) + "\n"


def code_blocks(markdown: str) -> list[str]:
    """The fenced code blocks of MARKDOWN (commands and code a learner may copy)."""
    blocks: list[str] = []
    fence: str | None = None
    body: list[str] = []
    for line in markdown.splitlines():
        match = _FENCE.match(line)
        if match and fence is None:
            fence, body = match.group(2), []
        elif match and fence is not None and match.group(2).startswith(fence[0]):
            if not match.group(3).strip():
                blocks.append("\n".join(body) + "\n")
                fence = None
        elif fence is not None:
            body.append(line)
    return blocks


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
        self.markdown_text = ""  # what is shown (for copying its code blocks)

    async def show_readme(self, path: Path, text: str | None = None) -> None:
        """Load PATH as the lesson's README (resets the link history); TEXT: its text,
        already rendered for the lab (addresses filled in)."""
        self.readme = path
        self.navigator.stack.clear()
        self.navigator.index = 0
        await self._open(str(path), text)

    async def _open(self, location: str, text: str | None = None) -> None:
        """Go to a Markdown file (optionally #anchor), relative to the current one."""
        target = self.navigator.go(location)
        path, anchor = self.document.sanitize_location(str(target))
        if text is None:
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                text = f"# Not found\n\n`{path}`: {exc.strerror}"
        self.markdown_text = text
        await self.document.update(label_bare_fences(text))
        if anchor:
            self.document.goto_anchor(anchor)

    async def _on_markdown_link_clicked(self, message: Markdown.LinkClicked) -> None:
        message.stop()
        href = message.href.strip()
        if _URL.match(href) or href.startswith("mailto:"):
            self.notify(href, title="Link (open it in your browser)", timeout=8)
            return
        target, _, _anchor = href.partition("#")
        if not target:
            self.document.goto_anchor(_anchor)
            return
        if target.lower().endswith((".md", ".markdown")):
            await self._open(href)
            return
        base = self.navigator.location.parent if self.readme else Path.cwd()
        self.post_message(self.SourceLink((base / target).resolve()))
