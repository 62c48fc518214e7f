"""Graduated help: hints level by level, then one assignment's solution part; the diff; the solution.

Which assignment: the one highlighted in the checklist (`ChecksPane.target`).
Hint levels are remembered in the progress store (journey.next_help).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import work
from textual.message import Message

from xdp_tui.screens.chooser import ChoiceScreen
from xdp_tui.screens.guide import DiffScreen, HintScreen, help_heading
from xdp_tui.screens.panes.base import Pane, pane_key
from xdp_tui.screens.panes.checks import ChecksPane
from xdp_tui.screens.solution import SolutionScreen

if TYPE_CHECKING:
    from xdp_tui.journey import HelpStep, SolutionDiff
    from xdp_tui.lessons import Assignment, Lesson

SOLUTION_CHOICES = [
    ("part", "Only this assignment's lines"),
    ("diff", "Your file against the solution (coloured diff)"),
    ("whole", "The whole solution file"),
]


@dataclass
class HelpReady(Message):
    lesson_id: str
    title: str
    step: HelpStep


@dataclass
class DiffReady(Message):
    diff: SolutionDiff


@dataclass
class SolutionReady(Message):
    title: str
    text: str


class GuidePane(Pane):
    NAME = "guide"
    KEYS = [
        pane_key("guide", "h", "hint", "Hint", "The next hint for the highlighted assignment"),
        pane_key(
            "guide",
            "S",
            "solution",
            "Solution",
            "The solution: this assignment's part, a diff, or all",
            show=False,
        ),  # fmt: skip
        pane_key(
            "guide", "D", "diff", "Diff", "Your file against the solution, coloured", show=False
        ),  # fmt: skip
    ]

    def _target(self) -> tuple[Lesson, Assignment] | None:
        lesson = self.need_lesson()
        if lesson is None:
            return None
        assignment = self.workshop.pane(ChecksPane).target(lesson)
        if assignment is None:
            self.notify(f"{lesson.id} has no assignments", severity="warning")
            return None
        return lesson, assignment

    # ---- hints ---------------------------------------------------------------

    def action_hint(self) -> None:
        target = self._target()
        if target is not None:
            self.next_help(*target)

    @work(thread=True, exclusive=True, group="guide", exit_on_error=False)
    def next_help(self, lesson: Lesson, assignment: Assignment) -> None:
        step = self.workbench.next_help(lesson, assignment.id)
        self.post_message(HelpReady(lesson.id, assignment.title, step))

    def on_help_ready(self, message: HelpReady) -> None:
        step = message.step
        self.say(help_heading(step, message.title), "yellow")
        if not step.is_solution:
            self.workshop.pane(ChecksPane).note(f"hint {step.level}/{step.levels}: {step.text}")
        lesson = self.lesson

        def answered(more: bool | None) -> None:
            if more and lesson is not None and lesson.id == message.lesson_id:
                self.next_help(lesson, lesson.assignment(step.assignment_id))

        self.app.push_screen(HintScreen(step, message.title), answered)

    # ---- solution and diff --------------------------------------------------------

    def action_solution(self) -> None:
        target = self._target()
        if target is None:
            return
        lesson, assignment = target

        def chosen(choice: str | None) -> None:
            if choice == "part":
                self.solution_part(lesson, assignment)
            elif choice == "diff":
                self.diff(lesson)
            elif choice == "whole":
                self.whole_solution(lesson)

        title = f"The solution of #{assignment.id} {assignment.title}? Trying a little longer teaches more."
        self.app.push_screen(ChoiceScreen(title, SOLUTION_CHOICES, "part"), chosen)

    @work(thread=True, exclusive=True, group="guide", exit_on_error=False)
    def solution_part(self, lesson: Lesson, assignment: Assignment) -> None:
        part = self.workbench.solution_part(lesson, assignment.id)
        title = f"solution of {lesson.id} #{assignment.id} {assignment.title} (only its lines)"
        self.post_message(SolutionReady(title, part.text))

    @work(thread=True, exclusive=True, group="guide", exit_on_error=False)
    def whole_solution(self, lesson: Lesson) -> None:
        text = self.workbench.solution_text(lesson)
        self.post_message(SolutionReady(f"solution of {lesson.id} (the whole file)", text))

    def on_solution_ready(self, message: SolutionReady) -> None:
        self.app.push_screen(SolutionScreen(None, text=message.text, title=message.title))

    def action_diff(self) -> None:
        lesson = self.need_lesson()
        if lesson is not None:
            self.diff(lesson)

    @work(thread=True, exclusive=True, group="guide", exit_on_error=False)
    def diff(self, lesson: Lesson) -> None:
        self.post_message(DiffReady(self.workbench.solution_diff(lesson)))

    def on_diff_ready(self, message: DiffReady) -> None:
        self.app.push_screen(DiffScreen(message.diff))
