"""At start: what this user's killed earlier sessions left, with a one-key cleanup.

Keep is focused (Enter never destroys anything), and for a moment after the
dialog opens every key and click is ignored: keys typed while start-up ran
were meant for the main screen, not for this question.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

if TYPE_CHECKING:
    from xdp_tui.workbench import Leftover

# Long enough for typed-ahead keys (a burst, or auto-repeat) to pass by.
GRACE_S = 0.6


class LeftoversScreen(ModalScreen[bool]):
    """Dismisses with True when the user wants the leftovers cleaned up."""

    BINDINGS = [
        Binding("c", "answer(True)", "Clean up", id="leftovers.clean"),
        Binding("k,escape", "answer(False)", "Keep", id="leftovers.keep"),
    ]

    def __init__(self, leftovers: list[Leftover]) -> None:
        super().__init__()
        self.leftovers = leftovers
        self._opened = time.monotonic()

    def compose(self) -> ComposeResult:
        lines = "\n".join(f"• {item.describe()}" for item in self.leftovers)
        with Vertical(classes="dialog"):
            yield Static("Left over from your earlier, interrupted session", classes="question")
            yield Static(lines, id="leftover-list")
            with Horizontal(classes="buttons"):
                yield Button("Clean up (c)", id="clean", variant="warning")
                yield Button("Keep (k)", id="keep")

    def on_mount(self) -> None:
        self._opened = time.monotonic()
        self.query_one("#keep", Button).focus()

    def _settled(self) -> bool:
        return time.monotonic() - self._opened >= GRACE_S

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if self._settled():
            self.dismiss(event.button.id == "clean")

    def action_answer(self, answer: bool) -> None:
        if self._settled():
            self.dismiss(answer)
