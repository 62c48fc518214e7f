"""Checks: run the current assignment's check (or all), say the outcome, update progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import work
from textual.message import Message

from xdp_tui.screens.panes.base import Pane, pane_key
from xdp_tui.screens.panes.lessons import LessonsLoaded
from xdp_tui.workbench import CheckOutcome

if TYPE_CHECKING:
    from xdp_tui.lessons import Assignment, Lesson


@dataclass
class ChecksDone(Message):
    lesson_id: str
    outcomes: list[CheckOutcome]


class ChecksPane(Pane):
    NAME = "checks"
    KEYS = [
        pane_key("checks", "c", "check", "Check", "Run the check of the current assignment"),
        pane_key(
            "checks",
            "A",
            "check_all",
            "Check all",
            "Run the checks of every assignment",
            show=False,
        ),  # fmt: skip
    ]

    def action_check(self) -> None:
        lesson = self.need_lesson()
        if lesson is None:
            return
        passed = self.workshop.passed.get(lesson.id, set())
        assignment = self.workbench.current_assignment(lesson, passed)
        what = f"assignment {assignment.id}" if assignment is not None else "all assignments"
        self.status.activity = f"checking {what} of {lesson.id}…"
        self.run_check(lesson, assignment)

    def action_check_all(self) -> None:
        lesson = self.need_lesson()
        if lesson is not None:
            self.status.activity = f"checking every assignment of {lesson.id}…"
            self.run_check(lesson, None)

    @work(thread=True, exclusive=True, group="check", exit_on_error=False)
    def run_check(self, lesson: Lesson, assignment: Assignment | None) -> None:
        outcomes = self.workbench.run_check(lesson, assignment)
        self.post_message(ChecksDone(lesson.id, outcomes))
        lessons = self.workbench.lessons()  # the list's marks follow the new progress
        self.workshop.lessons_pane.post_message(
            LessonsLoaded(lessons, self.workbench.passed(lessons))
        )

    def on_checks_done(self, message: ChecksDone) -> None:
        self.status.activity = ""
        for outcome in message.outcomes:
            head = f"{message.lesson_id} #{outcome.assignment} {outcome.title}"
            if outcome.passed:
                self.say(f"✔ PASS {head}: {outcome.detail}", "green")
                self.notify(f"{head}: passed", title="Check")
            else:
                self.say(f"✘ FAIL {head}: {outcome.detail}", "red")
                if outcome.hint:
                    self.say(f"  hint: {outcome.hint}", "yellow")
                self.notify(f"{head}: {outcome.detail}\nhint: {outcome.hint}",
                            title="Check failed", severity="error", timeout=10)  # fmt: skip

    def recover(self, group: str) -> None:
        self.status.activity = ""
