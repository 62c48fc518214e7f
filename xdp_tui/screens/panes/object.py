"""The Object tab: what is inside the lesson's built object, and the loaded program's code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import work
from textual.css.query import NoMatches
from textual.message import Message

from xdp_tui.screens.panes.base import Pane, pane_key
from xdp_tui.screens.panes.messages import Progress
from xdp_tui.screens.problems import guarded
from xdp_tui.widgets.object_view import ObjectView

if TYPE_CHECKING:
    from xdp_tui.engine.objinfo import CodeRow, ObjectInfo
    from xdp_tui.lessons import Lesson


@dataclass
class ObjectInfoReady(Message):
    info: ObjectInfo
    xlated: list[CodeRow] | None = None  # the verifier's translated code, once loaded


class ObjectPane(Pane):
    NAME = "object"
    KEYS = [
        pane_key(
            "object",
            "o",
            "show_object",
            "Object",
            "Inside the object: sections, maps, instructions",
        ),  # fmt: skip
    ]

    def action_show_object(self) -> None:
        lesson = self.need_lesson()
        if lesson is not None:
            self.workshop.switch_tab("object")
            self.load_object(lesson)

    @work(thread=True, exclusive=True, group="object", exit_on_error=False)
    def load_object(self, lesson: Lesson) -> None:
        self.post_message(Progress(f"reading the object of {lesson.id}…"))
        self._read_object(lesson)

    @work(thread=True, exclusive=True, group="object_follow", exit_on_error=False)
    def follow_object(self, lesson: Lesson) -> None:
        """Unasked (a new attach, the tab shown): a failure goes to the log only."""
        self._read_object(lesson)

    def _read_object(self, lesson: Lesson) -> None:
        info = self.workbench.object_info(lesson)
        attached = self.workbench.attached
        xlated = None
        if attached is not None and attached.lesson_id == lesson.id:
            xlated = self.workbench.loaded_code()
        self.post_message(ObjectInfoReady(info, xlated[1] if xlated else None))

    @guarded
    def on_object_info_ready(self, message: ObjectInfoReady) -> None:
        self.status.activity = ""
        try:
            view = self.workshop.query_one(ObjectView)
        except NoMatches:
            return  # Lazy: not mounted yet; `o` again reads it
        view.show_object(message.info)
        view.show_xlated(message.xlated)

    def recover(self, group: str) -> None:
        self.status.activity = ""

    def quiet_failures(self, group: str) -> bool:
        return group == "object_follow"
