"""What every workshop pane shares: its keys, the session it works on, one way to report failures.

A pane is a small non-visual widget mounted in the workshop screen. It owns
the thread workers of its feature and the messages they post back (handled
on the pane itself), and declares its keys in `KEYS`. Keys live on the
screen (so they work wherever the focus is) and run the pane's action
through `WorkshopScreen.action_pane`. A worker's failure goes to the
screen's `show_problem`, the one place failures become words on screen;
`recover(group)` lets a pane put its own state right afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from xdp_tui.widgets.status_line import StatusLine
from xdp_tui.workbench import Workbench

if TYPE_CHECKING:
    from xdp_tui.lessons import Lesson
    from xdp_tui.screens.main import WorkshopScreen


def pane_key(
    pane: str,
    key: str,
    action: str,
    description: str,
    tooltip: str,
    *,
    show: bool = True,
    name: str = "",
) -> Binding:
    """A screen binding that runs PANE's ACTION, with the id workshop.<name> (App.set_keymap)."""
    return Binding(
        key,
        f"pane('{pane}', '{action}')",
        description,
        show=show,
        tooltip=tooltip,
        id=f"workshop.{name or action}",
    )


class Pane(Widget):
    """Base of the workshop's feature panes (non-visual: `display: none`)."""

    DEFAULT_CSS = "Pane { display: none; }"
    NAME: ClassVar[str] = ""  # what `pane_key` and `WorkshopScreen.pane_named` call it
    KEYS: ClassVar[list[Binding]] = []

    def __init__(self, workshop: WorkshopScreen) -> None:
        super().__init__(id=f"pane-{self.NAME}")
        # Kept, not looked up: workers reach the screen from their threads, even while
        # the app is leaving and the DOM is being taken down.
        self.workshop = workshop
        self.workbench: Workbench = workshop.workbench

    @property
    def status(self) -> StatusLine:
        return self.workshop.status

    @property
    def lesson(self) -> Lesson | None:
        return self.workshop.lesson

    def say(self, text: str, style: str = "") -> None:
        self.workshop.say(text, style)

    def need_lesson(self) -> Lesson | None:
        lesson = self.lesson
        if lesson is None:
            self.notify("no lesson selected", severity="warning")
        return lesson

    def show_problem(self, exc: BaseException, *, quiet: bool = False) -> None:
        self.workshop.show_problem(exc, quiet=quiet)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.ERROR and worker.error is not None:
            self.recover(worker.group)
            self.show_problem(worker.error, quiet=self.quiet_failures(worker.group))

    def recover(self, group: str) -> None:
        """Put this pane's state right after a worker of GROUP failed (default: nothing)."""

    def quiet_failures(self, group: str) -> bool:
        """Failures of GROUP go to the activity log only (no toast, no jump to the source)."""
        return False
