"""The ordered list of lessons with a progress mark in front of each."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from xdp_tui.lessons import Lesson

# Plain marks that every terminal font has.
MARK_DONE, MARK_SOME, MARK_NONE = "✔", "◑", "·"


def progress_mark(lesson: Lesson, passed: set[str]) -> tuple[str, str]:
    """(mark, style) for a lesson given the assignment ids passed."""
    total = {str(a.id) for a in lesson.assignments}
    done = total & passed
    if total and done == total:
        return MARK_DONE, "green"
    if done:
        return MARK_SOME, "yellow"
    return MARK_NONE, "bright_black"


class LessonBrowser(OptionList):
    """Lessons in order; highlighting one posts `LessonBrowser.Chosen`."""

    BORDER_TITLE = "Lessons"

    class Chosen(Message):
        def __init__(self, lesson: Lesson) -> None:
            super().__init__()
            self.lesson = lesson

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lessons: list[Lesson] = []

    def set_lessons(self, lessons: list[Lesson], passed: dict[str, set[str]]) -> None:
        """Fill the list (keeping the highlighted lesson when it is still there)."""
        keep = self.current.id if self.current is not None else None
        self._lessons = list(lessons)
        self.clear_options()
        self.add_options([self._option(lesson, passed) for lesson in self._lessons])
        ids = [lesson.id for lesson in self._lessons]
        if self._lessons:
            self.highlighted = ids.index(keep) if keep in ids else 0
            # OptionList may already highlight the first option, in which case setting it
            # fires no event: announce the lesson ourselves (repeats are ignored upstream).
            if self.current is not None:
                self.post_message(self.Chosen(self.current))

    def _option(self, lesson: Lesson, passed: dict[str, set[str]]) -> Option:
        mark, style = progress_mark(lesson, passed.get(lesson.id, set()))
        # The short id ("basic03") is what READMEs, the CLI and instructors use.
        short_id = str(lesson.id).split("-", 1)[0]
        label = Text.assemble((mark, style), " ", (short_id, "bold"), " ", str(lesson.title))
        return Option(label, id=lesson.id)

    @property
    def current(self) -> Lesson | None:
        index = self.highlighted
        if index is None or not (0 <= index < len(self._lessons)):
            return None
        return self._lessons[index]

    def select_id(self, lesson_id: str) -> None:
        for index, lesson in enumerate(self._lessons):
            if lesson.id == lesson_id:
                self.highlighted = index

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        lesson = self.current
        if lesson is not None:
            self.post_message(self.Chosen(lesson))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
