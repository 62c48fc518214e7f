"""Edit the learner's source inside the app (when no $EDITOR or no terminal to hand over)."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from xdp_tui.widgets.source_view import c_editor


class EditorScreen(Screen[bool]):
    """Dismisses with True when the file was saved at least once."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="editor.save", priority=True),
        Binding("escape", "close", "Close", id="editor.close"),
    ]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.saved = False

    def compose(self) -> ComposeResult:
        yield Static(f"editing {self.path.name}  (ctrl+s save, esc close)", id="editor-title")
        yield c_editor(self.path.read_text(), read_only=False, id="editor-area")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#editor-area").focus()

    def action_save(self) -> None:
        area = self.query_one("#editor-area")
        self.path.write_text(area.text)  # type: ignore[attr-defined]
        self.saved = True
        self.notify(f"saved {self.path.name}")

    def action_close(self) -> None:
        self.dismiss(self.saved)
