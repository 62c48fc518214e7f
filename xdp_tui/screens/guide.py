"""Graduated help on screen: one hint level at a time, a solution part, the coloured diff."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, RichLog, Static

from xdp_tui.widgets.source_view import c_editor

if TYPE_CHECKING:
    from xdp_tui.journey import HelpStep, SolutionDiff

DIFF_STYLES = {
    "file": "bold",
    "hunk": "cyan",
    "added": "green",
    "removed": "red",
    "same": "",
}


def help_heading(step: HelpStep, title: str) -> str:
    if step.is_solution:
        return f"#{step.assignment_id} {title}: the solution's lines for this assignment"
    return f"#{step.assignment_id} {title}: hint {step.level} of {step.levels}"


class HintScreen(ModalScreen[bool]):
    """One help step; dismisses with True when the learner asks for more."""

    BINDINGS = [
        Binding("h", "more", "More help", id="hint.more"),
        Binding("escape", "close", "Close", id="hint.close"),
    ]

    def __init__(self, step: HelpStep, title: str) -> None:
        super().__init__()
        self.step = step
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog hint"):
            yield Static(help_heading(self.step, self.title_text), classes="question")
            if self.step.is_solution:
                yield c_editor(self.step.text, read_only=True, id="hint-code")
            else:
                yield Static(self.step.text, id="hint-text")
            with Horizontal(classes="buttons"):
                if self.step.has_more:
                    label = (
                        "The solution part (h)"
                        if self.step.level == self.step.levels
                        else "More help (h)"
                    )
                    yield Button(label, id="more", variant="warning")
                yield Button("Close (esc)", id="close")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "more")

    def action_more(self) -> None:
        if self.step.has_more:
            self.dismiss(True)

    def action_close(self) -> None:
        self.dismiss(False)


def diff_text(diff: SolutionDiff) -> list[Text]:
    if diff.identical:
        return [Text("your file is the same as the solution", "green")]
    return [Text(line.text, DIFF_STYLES[line.kind]) for line in diff.lines]


class DiffScreen(Screen[None]):
    """The learner's file against the solution, coloured (red: yours only; green: the solution's)."""

    BINDINGS = [Binding("escape,q", "close", "Back", id="diff.close")]

    def __init__(self, diff: SolutionDiff) -> None:
        super().__init__()
        self.diff = diff

    def compose(self) -> ComposeResult:
        yield Static(
            f"your {self.diff.learner_file.name} → the solution"
            "  (- red: only yours · + green: the solution's · esc to go back)",
            id="diff-title",
        )
        yield RichLog(id="diff-log", wrap=False, markup=False, highlight=False)
        yield Footer()

    def on_mount(self) -> None:
        log = self.query_one(RichLog)
        for line in diff_text(self.diff):
            log.write(line, scroll_end=False)
        log.focus()

    def action_close(self) -> None:
        self.dismiss(None)
