"""Edit the learner's source inside the app (when no $EDITOR or no terminal to hand over)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static, TextArea

from xdp_tui.errors import XdpTuiError
from xdp_tui.screens.confirm import ConfirmScreen
from xdp_tui.widgets.source_view import c_editor


class EditorScreen(Screen[bool]):
    """Dismisses with True when the file was saved at least once."""

    # Priority: in a code editor escape and ctrl+s would otherwise stay in the TextArea.
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="editor.save", priority=True),
        Binding("escape", "close", "Close", id="editor.close", priority=True),
    ]

    def __init__(self, path: Path, text: str, save: Callable[[Path, str], None]) -> None:
        """TEXT: PATH's content as read; SAVE writes it back (as the learner, no links)."""
        super().__init__()
        self.path = path
        self.saved = False
        self._saved_text = text
        self._save = save

    def compose(self) -> ComposeResult:
        yield Static(f"editing {self.path.name}  (ctrl+s save, esc close)", id="editor-title")
        yield c_editor(self._saved_text, read_only=False, id="editor-area")
        yield Footer()

    @property
    def area(self) -> TextArea:
        return self.query_one("#editor-area", TextArea)

    def on_mount(self) -> None:
        self.area.focus()

    def action_save(self) -> None:
        text = self.area.text
        try:
            self._save(self.path, text)
        except XdpTuiError as exc:
            self.notify(exc.render(), title="Not saved", severity="error", timeout=10)
            return
        self._saved_text = text
        self.saved = True
        self.notify(f"saved {self.path.name}")

    def action_close(self) -> None:
        if self.area.text == self._saved_text:
            self.dismiss(self.saved)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(self.saved)

        question = "Close without saving? Your unsaved changes are lost."
        self.app.push_screen(ConfirmScreen(question, yes="Discard"), answered)
