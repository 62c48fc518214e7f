"""Leftovers: what earlier sessions left on lab interfaces, offered for cleaning at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from textual import work
from textual.message import Message

from xdp_tui.screens.leftovers import LeftoversScreen
from xdp_tui.screens.panes.base import Pane
from xdp_tui.screens.panes.messages import Notice
from xdp_tui.workbench import Leftover


@dataclass
class LeftoversFound(Message):
    leftovers: list[Leftover]


class LeftoversPane(Pane):
    NAME = "leftovers"

    @work(thread=True, exclusive=True, group="leftovers", exit_on_error=False)
    def find_leftovers(self) -> None:
        found = self.workbench.leftovers()
        if found:
            self.post_message(LeftoversFound(found))

    def on_leftovers_found(self, message: LeftoversFound) -> None:
        for item in message.leftovers:
            self.say(f"left over: {item.describe()}", "yellow")

        def answered(clean: bool | None) -> None:
            if clean:
                self.clean_leftovers(message.leftovers)
            else:
                self.workbench.forget_leftovers(message.leftovers)

        self.app.push_screen(LeftoversScreen(message.leftovers), answered)

    @work(thread=True, exclusive=True, group="leftovers", exit_on_error=False)
    def clean_leftovers(self, leftovers: list[Leftover]) -> None:
        for line in self.workbench.cleanup(leftovers) or ["nothing to clean"]:
            self.post_message(Notice(line, "green"))
        self.workshop.lab_pane.post_lab()
