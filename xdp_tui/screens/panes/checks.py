"""Checks: the lesson's checklist (Tasks tab), checking the highlighted assignment, results that stay.

`c` checks the assignment highlighted in the checklist (it starts on the
first one not passed) and says which; `A` checks them all. Results go to the
checklist's result list and the Activity log, never to toasts that vanish.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.message import Message

from xdp_tui.screens.panes.base import Pane, pane_key
from xdp_tui.screens.panes.lessons import LessonsLoaded
from xdp_tui.widgets.checklist import Checklist
from xdp_tui.workbench import CheckOutcome

if TYPE_CHECKING:
    from xdp_tui.journey import LessonProgress
    from xdp_tui.lessons import Assignment, Lesson


@dataclass
class ChecksDone(Message):
    lesson_id: str
    outcomes: list[CheckOutcome]


@dataclass
class ProgressLoaded(Message):
    progress: LessonProgress


class ChecksPane(Pane):
    NAME = "checks"
    KEYS = [
        pane_key("checks", "c", "check", "Check", "Check the assignment highlighted in Tasks"),
        pane_key(
            "checks",
            "A",
            "check_all",
            "Check all",
            "Run the checks of every assignment",
            show=False,
        ),  # fmt: skip
    ]
    # The status line's "checked: N of M passed" and whose lesson it was about.
    _checked_text = ""
    _checked_lesson = ""

    @property
    def checklist(self) -> Checklist:
        return self.workshop.query_one(Checklist)

    def target(self, lesson: Lesson) -> Assignment | None:
        """The assignment `c`, hints and the solution part are about: the highlighted one."""
        checklist = self.checklist
        chosen = checklist.selected_id
        if checklist.progress is not None and checklist.progress.lesson_id == lesson.id and chosen:
            return lesson.assignment(chosen)
        passed = self.workshop.passed.get(lesson.id, set())
        return self.workbench.current_assignment(lesson, passed)

    def note(self, text: str) -> None:
        self.checklist.add_note(Text(text, "yellow"))

    # ---- the checklist ---------------------------------------------------------

    @work(thread=True, exclusive=True, group="progress", exit_on_error=False)
    def load_progress(self, lesson: Lesson) -> None:
        self.post_message(ProgressLoaded(self.workbench.lesson_progress(lesson)))
        if self.status.activity == self._checked_text and self._checked_lesson != lesson.id:
            self.status.activity = ""  # another lesson's check result, not this one's

    def on_progress_loaded(self, message: ProgressLoaded) -> None:
        lesson = self.lesson
        if lesson is not None and lesson.id == message.progress.lesson_id:
            self.checklist.show_progress(message.progress)

    # ---- checking -------------------------------------------------------------

    def _has_assignments(self, lesson: Lesson) -> bool:
        if not lesson.assignments:
            self.say(f"{lesson.id} has no assignments: nothing to check", "yellow")
            self.status.activity = "nothing to check"
        return bool(lesson.assignments)

    def action_check(self) -> None:
        lesson = self.need_lesson()
        if lesson is None or not self._has_assignments(lesson):
            return
        assignment = self.target(lesson)
        what = f"#{assignment.id} {assignment.title}" if assignment else "every assignment"
        self.status.activity = f"checking {what}…"
        self.say(f"checking {lesson.id} {what}…")
        self.workshop.switch_tab("tasks")
        self.run_check(lesson, assignment)

    def action_check_all(self) -> None:
        lesson = self.need_lesson()
        if lesson is not None and self._has_assignments(lesson):
            self.status.activity = f"checking every assignment of {lesson.id}…"
            self.workshop.switch_tab("tasks")
            self.run_check(lesson, None)

    @work(thread=True, exclusive=True, group="check", exit_on_error=False)
    def run_check(self, lesson: Lesson, assignment: Assignment | None) -> None:
        outcomes = self.workbench.run_check(lesson, assignment)
        self.post_message(ChecksDone(lesson.id, outcomes))
        self.post_message(ProgressLoaded(self.workbench.lesson_progress(lesson)))
        lessons = self.workbench.lessons()  # the list's marks follow the new progress
        self.workshop.lessons_pane.post_message(
            LessonsLoaded(lessons, self.workbench.passed(lessons))
        )

    def on_checks_done(self, message: ChecksDone) -> None:
        passed = sum(1 for outcome in message.outcomes if outcome.passed)
        self._checked_text = f"checked: {passed} of {len(message.outcomes)} passed"
        self._checked_lesson = message.lesson_id
        self.status.activity = self._checked_text
        self.checklist.add_outcomes(message.lesson_id, message.outcomes)
        for outcome in message.outcomes:
            head = f"{message.lesson_id} #{outcome.assignment} {outcome.title}"
            if outcome.passed:
                self.say(f"✔ PASS {head}: {outcome.detail}", "green")
            else:
                self.say(f"✘ FAIL {head}: {outcome.detail}", "red")
                if outcome.hint:
                    self.say(f"  hint: {outcome.hint}", "yellow")

    def recover(self, group: str) -> None:
        self.status.activity = ""
