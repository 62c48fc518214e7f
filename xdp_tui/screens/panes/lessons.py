"""Lessons, their README and the learner's source: choosing, reading, editing, resetting.

The solution, hints and the diff live in the guide pane."""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import SuspendNotSupported
from textual.message import Message
from textual.timer import Timer

from xdp_tui.errors import XdpTuiError
from xdp_tui.screens.chooser import ChoiceScreen
from xdp_tui.screens.confirm import ConfirmScreen
from xdp_tui.screens.editor import EditorMemory, EditorScreen
from xdp_tui.screens.panes.attach import AttachPane
from xdp_tui.screens.panes.base import Pane, pane_key
from xdp_tui.screens.solution import SolutionScreen
from xdp_tui.widgets.lesson_browser import LessonBrowser
from xdp_tui.widgets.problem_panel import ProblemPanel
from xdp_tui.widgets.readme_view import code_blocks

if TYPE_CHECKING:
    from xdp_tui.lessons import Lesson
    from xdp_tui.screens.main import WorkshopScreen

README_DELAY_S = 0.15  # a README is rendered once the lesson highlight stops moving


@dataclass
class LessonsLoaded(Message):
    lessons: list[Lesson]
    passed: dict[str, set[str]]


@dataclass
class ReadmeReady(Message):
    lesson_id: str
    path: Path
    text: str


def _preview(block: str, width: int = 60) -> str:
    """A code block's first non-empty line (and how many lines it has), for a chooser."""
    lines = [line for line in block.splitlines() if line.strip()]
    first = lines[0].strip() if lines else "(empty)"
    more = f"  (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
    return (first[: width - 1] + "…" if len(first) > width else first) + more


@dataclass
class SourceLoaded(Message):
    lesson_id: str
    path: Path
    text: str


class LessonsPane(Pane):
    NAME = "lessons"
    KEYS = [
        pane_key("lessons", "e", "edit", "Edit", "Edit the source in $EDITOR (or in the app)"),
        pane_key(
            "lessons",
            "E",
            "edit_here",
            "In-app edit",
            "Edit the source inside the app (ctrl+s saves)",
        ),  # fmt: skip
        pane_key("lessons", "r", "reset", "Reset", "Reset your source to the lesson's starter"),
        pane_key(
            "lessons",
            "y",
            "copy_code",
            "Copy code",
            "Copy a code block or command from the README",
            show=False,
        ),  # fmt: skip
        pane_key(
            "lessons",
            "f3",
            "toggle_toc",
            "Contents",
            "Show or hide the README's contents",
            show=False,
        ),  # fmt: skip
    ]

    def __init__(self, workshop: WorkshopScreen) -> None:
        super().__init__(workshop)
        self.lessons: list[Lesson] = []
        self.passed: dict[str, set[str]] = {}
        self.current: Lesson | None = None
        self.source_path: Path | None = None
        self.toc_choice: bool | None = None  # the learner's F3 choice wins over the width
        self._readme_timer: Timer | None = None
        self._first_shown = False
        self.editor_memory: dict[Path, EditorMemory] = {}  # cursor and undo per file, this session

    # ---- the list -------------------------------------------------------------

    @work(thread=True, exclusive=True, group="lessons", exit_on_error=False)
    def load_lessons(self) -> None:
        lessons = self.workbench.lessons()
        self.post_message(LessonsLoaded(lessons, self.workbench.passed(lessons)))

    def on_lessons_loaded(self, message: LessonsLoaded) -> None:
        self.lessons, self.passed = message.lessons, message.passed
        self.workshop.query_one(LessonBrowser).set_lessons(self.lessons, self.passed)
        if not self.lessons:
            self.say("no lessons found", "yellow")
            self._first_lesson_shown()

    def go_to(self, lesson_id: str) -> None:
        self.workshop.query_one(LessonBrowser).select_id(lesson_id)

    def show(self, lesson: Lesson) -> None:
        """LESSON was chosen in the list: its source now, its README once the highlight rests."""
        if self.current is not None and self.current.id == lesson.id:
            return
        self.current = lesson
        self.status.lesson = lesson.id
        self.workshop.query_one(ProblemPanel).clear_problem()
        self.load_source(lesson)
        # A README takes a while to lay out: wait until the highlight rests, and let a
        # newer choice cancel an older rendering (moving down the list stays fluid).
        if self._readme_timer is not None:
            self._readme_timer.stop()
        self._readme_timer = self.set_timer(README_DELAY_S, self._render_readme)

    def _render_readme(self) -> None:
        if self.current is not None:
            self.readme_text(self.current)
            self.warm_compiler(self.current)  # the highlight rests here: a build may follow

    @work(thread=True, exclusive=True, group="readme_text", exit_on_error=False)
    def readme_text(self, lesson: Lesson) -> None:
        """The README with the lab's own addresses (they depend on the lab's number)."""
        path = self.workbench.readme_path(lesson)
        self.post_message(ReadmeReady(lesson.id, path, self.workbench.readme_text(lesson)))

    def on_readme_ready(self, message: ReadmeReady) -> None:
        if self.current is not None and self.current.id == message.lesson_id:
            worker = self._readme_worker(message.path, message.text)
            self.run_worker(worker, exclusive=True, group="readme")

    async def _readme_worker(self, path: Path, text: str) -> None:
        await self.workshop.readme.show_readme(path, text)
        self._first_lesson_shown()

    def recover(self, group: str) -> None:
        if group == "readme_text" and self.current is not None:  # the plain file, then
            path = self.workbench.readme_path(self.current)
            self.run_worker(self._readme_worker(path, path.read_text()), group="readme")

    def action_copy_code(self) -> None:
        """Copy one of the README's code blocks (OSC 52: works over SSH too)."""
        blocks = code_blocks(self.workshop.readme.markdown_text)
        if not blocks:
            self.notify("this README has no code blocks", severity="warning")
            return

        def chosen(key: str | None) -> None:
            if key is not None:
                block = blocks[int(key)]
                self.app.copy_to_clipboard(block)
                self.notify(f"copied {block.count(chr(10))} line(s) to the clipboard")

        choices = [(str(i), _preview(block)) for i, block in enumerate(blocks)]
        self.app.push_screen(ChoiceScreen("Copy which code block?", choices, "0"), chosen)

    def _first_lesson_shown(self) -> None:
        if not self._first_shown:
            self._first_shown = True
            self.workshop.after_first_lesson()

    @work(thread=True, exclusive=True, group="warm", exit_on_error=False)
    def warm_compiler(self, lesson: Lesson) -> None:
        """Start the lesson's clang now, so its first build skips clang's start-up."""
        self.workbench.prepare_build(lesson)

    # ---- the source -----------------------------------------------------------

    @work(thread=True, exclusive=True, group="source", exit_on_error=False)
    def load_source(self, lesson: Lesson, *, reset: bool = False) -> None:
        path = self.workbench.reset_source(lesson) if reset else self.workbench.source_path(lesson)
        try:
            text = self.workbench.read_source(path)
        except XdpTuiError as exc:
            self.app.call_from_thread(self.notify, exc.render("tui"), severity="error", timeout=10)
            text = f"/* xdp-tui cannot show this file: {exc.render('tui')} */\n"
        self.post_message(SourceLoaded(lesson.id, path, text))

    def on_source_loaded(self, message: SourceLoaded) -> None:
        if self.current is None or message.lesson_id != self.current.id:
            return
        self.source_path = message.path
        source = self.workshop.source
        source.show_text(message.text, message.path)
        source.set_marks(self.workshop.build_marks.get(message.path, []))
        source.border_title = message.path.name

    def reload_source(self) -> None:
        if self.current is not None:
            self.load_source(self.current)

    def open_linked(self, path: Path) -> None:
        """A README link to a file: the learner's source tab, or the file read-only."""
        if self.source_path is not None and path.name == self.source_path.name:
            self.workshop.switch_tab("source")
        elif path.is_file():
            self.app.push_screen(SolutionScreen(path))
        else:
            self.notify(f"{path.name}: no such file here", severity="warning")

    def action_toggle_toc(self) -> None:
        readme = self.workshop.readme
        self.toc_choice = not readme.show_table_of_contents
        readme.show_table_of_contents = self.toc_choice

    # ---- edit, reset, solution ------------------------------------------------

    def action_edit(self) -> None:
        if self.source_path is None:
            self.notify("the lesson's source is still loading", severity="warning")
            return
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            self.action_edit_here()
            return
        try:
            with self.app.suspend():
                command = [*shlex.split(editor), str(self.source_path)]
                subprocess.run(self.workbench.editor_command(command), check=False)
        except SuspendNotSupported:
            self.action_edit_here()
            return
        except OSError as exc:
            self.notify(f"cannot run {editor}: {exc.strerror}", severity="error")
            return
        self.reload_source()

    def action_edit_here(self) -> None:
        if self.source_path is None:
            self.notify("the lesson's source is still loading", severity="warning")
            return

        def closed(saved: bool | None) -> None:
            if saved:
                self.reload_source()

        try:
            text = self.workbench.read_source(self.source_path)
        except XdpTuiError as exc:
            self.notify(exc.render("tui"), title="Cannot edit", severity="error", timeout=10)
            return
        editor = EditorScreen(
            self.source_path,
            text,
            self.workbench.save_source,
            memory=self.editor_memory,
            marks=self.workshop.build_marks.get(self.source_path, []),
            build=self._build_from_editor,
        )
        self.app.push_screen(editor, closed)

    def _build_from_editor(self) -> None:
        self.reload_source()
        self.workshop.pane(AttachPane).action_build_attach()

    def action_reset(self) -> None:
        lesson = self.need_lesson()
        if lesson is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.load_source(lesson, reset=True)
                self.say(f"{lesson.id}: source reset to the starter")

        question = (
            f"Replace your {lesson.source_name} with the lesson's starter? Your changes are lost."
        )
        self.app.push_screen(ConfirmScreen(question, yes="Reset"), answered)
