"""At start: what earlier sessions left on lab interfaces, with a one-key cleanup."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

if TYPE_CHECKING:
    from xdp_tui.workbench import Leftover


class LeftoversScreen(ModalScreen[bool]):
    """Dismisses with True when the user wants the leftovers cleaned up."""

    BINDINGS = [
        Binding("c", "answer(True)", "Clean up", id="leftovers.clean"),
        Binding("k,escape", "answer(False)", "Keep", id="leftovers.keep"),
    ]

    def __init__(self, leftovers: list[Leftover]) -> None:
        super().__init__()
        self.leftovers = leftovers

    def compose(self) -> ComposeResult:
        lines = "\n".join(f"• {item.describe()}" for item in self.leftovers)
        with Vertical(classes="dialog"):
            yield Static("Left over from an earlier session", classes="question")
            yield Static(lines, id="leftover-list")
            with Horizontal(classes="buttons"):
                yield Button("Clean up (c)", id="clean", variant="warning")
                yield Button("Keep (k)", id="keep")

    def on_mount(self) -> None:
        self.query_one("#clean", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "clean")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
