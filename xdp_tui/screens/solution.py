"""The lesson's solution, read-only, on its own screen (after a confirmation)."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from xdp_tui.widgets.source_view import SourceView


class SolutionScreen(Screen[None]):
    BINDINGS = [Binding("escape,q", "close", "Back", id="solution.close")]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        yield Static(f"solution: {self.path.name}  (esc to go back)", id="solution-title")
        yield SourceView(id="solution-source")
        yield Footer()

    def on_mount(self) -> None:
        view = self.query_one(SourceView)
        view.show_text(self.path.read_text(), self.path)
        view.focus()

    def action_close(self) -> None:
        self.dismiss(None)
