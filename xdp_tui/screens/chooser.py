"""Pick one item from a short list (program of an object, stream rate…)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class ChoiceScreen(ModalScreen[str | None]):
    """Dismisses with the chosen item's id, or None on escape."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="choice.cancel")]

    def __init__(
        self,
        title: str,
        choices: list[tuple[str, str]],
        current: str | None = None,
        *,
        unavailable: frozenset[str] = frozenset(),
    ):
        """CHOICES are (id, label) pairs; the ids in UNAVAILABLE are shown but cannot be chosen
        (their label says why)."""
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.current = current
        self.unavailable = unavailable

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="question")
            yield OptionList(
                *[
                    Option(label, id=key, disabled=key in self.unavailable)
                    for key, label in self.choices
                ]
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        keys = [key for key, _ in self.choices]
        if self.current in keys:
            options.highlighted = keys.index(self.current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
