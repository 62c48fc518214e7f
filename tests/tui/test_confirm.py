"""The yes/no dialog in front of destructive keys (reset, solution): Enter typed ahead means No."""

from __future__ import annotations

from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Static

from xdp_tui.screens.confirm import ConfirmScreen


class _Asker(App[None]):
    BINDINGS = [("r", "ask", "Reset")]

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[bool | None] = []

    def compose(self) -> ComposeResult:
        yield Static("workspace")

    def action_ask(self) -> None:
        self.push_screen(ConfirmScreen("Replace your file?", yes="Reset"), self.answers.append)


async def test_an_enter_typed_ahead_of_the_dialog_answers_no() -> None:
    app = _Asker()
    async with app.run_test() as pilot:
        # One burst, as a terminal delivers "r⏎": the Enter arrives before the
        # dialog's on_mount; it used to press the first button, Reset.
        app.post_message(events.Key("r", "r"))
        app.post_message(events.Key("enter", "\r"))
        await pilot.pause()
        await pilot.pause()
        assert app.answers == [False]
