"""The lesson's assignments as a checklist: progress bar, one row per assignment, results that stay.

Drawn from `journey.LessonProgress`; the highlighted row is the assignment
that `c` checks (it starts on the first one not passed yet). Check results
are appended to a log under the list that keeps them for the session.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, ProgressBar, RichLog, Static
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from xdp_tui.journey import AssignmentState, LessonProgress
    from xdp_tui.workbench import CheckOutcome

STATE_MARKS = {
    "passed": ("✔", "green"),
    "failing": ("✘", "red"),
    "not tried": ("·", "bright_black"),
}


def assignment_row(item: AssignmentState) -> Text:
    """Mark, number and title; the last result's words on the next line."""
    mark, style = STATE_MARKS[item.state]
    if item.state != "passed" and item.ever_passed:
        mark, style = "◑", "yellow"  # passed before, failing now
    text = Text.assemble((f"{mark} ", style), (f"#{item.id} ", "bold"), item.title)
    text.append(f"  [{item.state}]", style)
    if item.detail:
        text.append(f"\n    {item.detail}", "bright_black")
    return text


def _just_passed(before: LessonProgress, after: LessonProgress, assignment_id: str) -> bool:
    was = next((a for a in before.assignments if a.id == assignment_id), None)
    now = next((a for a in after.assignments if a.id == assignment_id), None)
    return was is not None and now is not None and now.ever_passed and not was.ever_passed


class Checklist(Vertical):
    """Progress of one lesson; `selected_id` is the assignment `c` checks."""

    DEFAULT_CSS = """
    Checklist { height: 1fr; }
    Checklist #checklist-head { height: auto; padding: 0 1; }
    Checklist ProgressBar { padding: 0 1; }
    Checklist OptionList { height: auto; max-height: 60%; border: none; }
    Checklist RichLog { height: 1fr; border-top: solid $primary; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.progress: LessonProgress | None = None

    def compose(self) -> ComposeResult:
        yield Static("no lesson yet", id="checklist-head")
        yield ProgressBar(total=1, show_eta=False, id="checklist-bar")
        yield OptionList(id="checklist-items")
        yield RichLog(id="checklist-results", wrap=True, markup=False, highlight=False, min_width=1)

    @property
    def items(self) -> OptionList:
        return self.query_one("#checklist-items", OptionList)

    @property
    def results(self) -> RichLog:
        return self.query_one("#checklist-results", RichLog)

    @property
    def selected_id(self) -> str | None:
        """The highlighted assignment's id (None: the lesson has none)."""
        items = self.items
        if items.highlighted is None or not items.option_count:
            return None
        return items.get_option_at_index(items.highlighted).id

    def select(self, assignment_id: str) -> None:
        for index in range(self.items.option_count):
            if self.items.get_option_at_index(index).id == assignment_id:
                self.items.highlighted = index
                return

    def show_progress(self, progress: LessonProgress) -> None:
        """Redraw for PROGRESS; the highlight stays on the same assignment of the same lesson."""
        before = self.progress
        same_lesson = before is not None and before.lesson_id == progress.lesson_id
        keep = self.selected_id if same_lesson else None
        if keep is not None and before is not None and _just_passed(before, progress, keep):
            keep = None  # done with it: on to the next one not passed
        self.progress = progress
        head = f"{progress.lesson_id}: {progress.done} of {progress.total} assignments passed"
        self.query_one("#checklist-head", Static).update(
            Text.assemble((head, "bold"), ("   c checks the highlighted one", "bright_black"))
        )
        bar = self.query_one(ProgressBar)
        bar.update(total=max(progress.total, 1), progress=progress.done)
        items = self.items
        items.clear_options()
        items.add_options(
            [Option(assignment_row(item), id=item.id) for item in progress.assignments]
        )
        next_up = progress.next_up
        wanted = keep or (next_up.id if next_up else None)
        if wanted is not None:
            self.select(wanted)
        elif items.option_count:
            items.highlighted = 0
        if not same_lesson:
            self.results.clear()

    def add_outcomes(self, lesson_id: str, outcomes: list[CheckOutcome]) -> None:
        """Append check results (they stay for the session, newest last)."""
        stamp = time.strftime("%H:%M:%S")
        for outcome in outcomes:
            word, style = ("PASS", "green") if outcome.passed else ("FAIL", "red")
            line = Text.assemble(
                (f"{stamp} ", "bright_black"),
                (f"{word} ", f"bold {style}"),
                (f"{lesson_id} #{outcome.assignment} {outcome.title}: ", "bold"),
                outcome.detail,
            )
            self.results.write(line)
            if outcome.hint:
                self.results.write(Text(f"         hint: {outcome.hint}", "yellow"))

    def add_note(self, text: Text | str) -> None:
        self.results.write(text)
