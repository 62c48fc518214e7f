"""The lab: its state in the status line and the Lab tab's diagram."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from textual import work
from textual.css.query import NoMatches
from textual.message import Message

from xdp_tui.screens.panes.attach import AttachPane
from xdp_tui.screens.panes.base import Pane, pane_key
from xdp_tui.screens.problems import guarded
from xdp_tui.widgets.lab_diagram import LabDiagram
from xdp_tui.workbench import LabState

if TYPE_CHECKING:
    from xdp_tui.engine.attach import XdpStatus
    from xdp_tui.engine.tc import TcStatus
    from xdp_tui.screens.main import WorkshopScreen

LAB_REFRESH_S = 1.0  # the diagram (when shown, while attached) refreshes once a second
TRUTH_CHECK_S = 2.0  # is what we attached still there, or (attached nothing) what other tools did?
LAB_STATUS_MAX_AGE_S = 10.0  # the lab itself (a netlink dump) changes rarely


@dataclass
class LabChanged(Message):
    lab_status: LabState | None  # None: the lab does not exist (yet)
    attach_status: XdpStatus | None
    inner_status: XdpStatus | None
    lab_name: str
    tc_status: tuple[TcStatus, ...] = ()  # TC programs beside XDP on the outer end
    foreign: bool = False  # attach_status's program is not this session's (Workbench.runs_ours)


class LabPane(Pane):
    NAME = "lab"
    KEYS = [pane_key("lab", "l", "show_lab", "Lab", "The lab at a glance")]

    def __init__(self, workshop: WorkshopScreen) -> None:
        super().__init__(workshop)
        self._shown: tuple[object, ...] | None = None
        self._foreign_prog_id: int | None = None  # another tool's program the Live tab shows

    def on_mount(self) -> None:
        self.set_interval(LAB_REFRESH_S, self._tick)
        self.set_interval(TRUTH_CHECK_S, self._check_truth)

    def _check_truth(self) -> None:
        if not self.workshop.is_mounted:
            return
        if self.workbench.attached is not None:
            self.workshop.pane(AttachPane).check_still_attached()
        else:  # another tool may attach (or detach) a program on the lab meanwhile
            self.refresh_lab(LAB_STATUS_MAX_AGE_S)

    def _tick(self) -> None:
        if self.workshop.active_tab == "lab" and self.workbench.attached is not None:
            self.refresh_lab(LAB_STATUS_MAX_AGE_S)

    def post_lab(self, lab_max_age: float = 0.0) -> None:
        """From any worker thread: the lab's state for the status line and the diagram."""
        wb = self.workbench
        lab = wb.lab_status(max_age=lab_max_age)
        status = wb.attach_status()
        foreign = status is not None and bool(status.prog_id) and not wb.runs_ours(status)
        if status is not None and status.prog_id and not foreign:
            status = replace(status, ours=True)  # a capture's twin in our link is ours too
        self.post_message(
            LabChanged(lab, status, wb.inner_attach_status(), wb.lab_name, wb.tc_status(), foreign)
        )

    @work(thread=True, exclusive=True, group="lab", exit_on_error=False)
    def refresh_lab(self, lab_max_age: float = 0.0) -> None:
        self.post_lab(lab_max_age)

    @guarded
    def on_lab_changed(self, message: LabChanged) -> None:
        lab = message.lab_status
        status = self.status
        status.lab = message.lab_name
        self._follow_foreign(message.attach_status)
        shown = (lab, message.attach_status, message.inner_status, message.tc_status,
                 message.foreign)  # fmt: skip
        if shown == self._shown:
            return  # unchanged: spare the diagram a relayout
        self._shown = shown
        theirs = message.attach_status
        if message.foreign and theirs is not None:
            status.foreign = f"{theirs.prog_name or 'a program'} #{theirs.prog_id}"
        else:
            status.foreign = ""
        status.lab_state = "" if lab else "not created yet"
        if lab is not None and not lab.healthy:
            status.lab_state = "unhealthy"
        try:
            diagram = self.workshop.query_one(LabDiagram)
        except NoMatches:
            self._shown = None  # Lazy: try again once it is mounted
            return
        diagram.update_lab(lab, message.attach_status, message.inner_status, message.tc_status)

    def _follow_foreign(self, theirs: XdpStatus | None) -> None:
        """The Live tab shows another tool's program on the lab while this session has none."""
        foreign = theirs if theirs and theirs.prog_id and self.workbench.attached is None else None
        prog_id = foreign.prog_id if foreign is not None else None
        # Followed already, unless a failed attach of ours stopped the feed meanwhile.
        if prog_id == self._foreign_prog_id and (prog_id is None or self.workbench.live_following):
            return
        self._foreign_prog_id = prog_id
        self.workshop.live_pane.follow_foreign(foreign)

    def action_show_lab(self) -> None:
        self.workshop.switch_tab("lab")
