"""The lesson's solution (or one assignment's part of it), read-only, on its own screen."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from xdp_tui.widgets.source_view import SourceView


class SolutionScreen(Screen[None]):
    BINDINGS = [Binding("escape,q", "close", "Back", id="solution.close")]

    def __init__(self, path: Path | None, *, text: str | None = None, title: str = "") -> None:
        """PATH's text, or TEXT (a solution part) under TITLE."""
        super().__init__()
        self.path = path
        self.text = text if text is not None else (path.read_text() if path else "")
        self.title_text = title or f"solution: {path.name if path else ''}"

    def compose(self) -> ComposeResult:
        yield Static(f"{self.title_text}  (esc to go back)", id="solution-title")
        yield SourceView(id="solution-source")
        yield Footer()

    def on_mount(self) -> None:
        view = self.query_one(SourceView)
        view.show_text(self.text, self.path)
        view.focus()

    def action_close(self) -> None:
        self.dismiss(None)
