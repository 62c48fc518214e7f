"""`xdp-tui room`: the instructor's screen. Every learner of the room, live, over SSH.

The screen owns the RoomPoller: an async worker runs rounds (asyncssh never
blocks the loop, and a round never overlaps the next) and posts each one to
the grid. Selecting a learner fetches their detail with a second worker; a
slow or broken host only ever fills its own row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from xdp_tui import paths
from xdp_tui.room import LearnerDetail, RoomPoller, RoomRound
from xdp_tui.screens.help import HelpScreen
from xdp_tui.stderr import divert_fd2_to_log
from xdp_tui.widgets.learner_detail import LearnerDetailView
from xdp_tui.widgets.room_grid import HostProblems, RoomGrid

ROOM_INTRO = (
    "Every learner of the room, polled over SSH every few seconds. Stuck learners come first "
    "(the same assignment failing several times, or no progress for a while); hosts that are "
    "unreachable, answer badly or fail `doctor` are listed below them. Select a learner and "
    "press enter for their last check's output and their source's diff against the solution."
)


@dataclass
class RoundDone(Message):
    room: RoomRound


@dataclass
class DetailFetched(Message):
    detail: LearnerDetail


def summary(room: RoomRound) -> str:
    """One line: how many learners, stuck, hosts in trouble, and the round's time."""
    learners = [learner for _, learner in room.learners()]
    stuck = sum(learner.stuck for learner in learners)
    done = sum(learner.done for learner in learners)
    unreachable = sum(not h.reachable for h in room.hosts)
    failing = sum(h.reachable and (h.error is not None or h.doctor_ok is False) for h in room.hosts)
    stamp = time.strftime("%H:%M:%S", time.localtime(room.time))
    return (
        f"{len(learners)} learners on {len(room.hosts)} hosts · {stuck} stuck · {done} done · "
        f"{unreachable} unreachable · {failing} with problems · round {room.duration_s:.1f} s at {stamp}"
    )


class RoomScreen(Screen[None]):
    BINDINGS = [
        Binding(
            "enter",
            "inspect",
            "Inspect",
            id="room.inspect",
            tooltip="Last check and diff of the selected learner",
        ),
        Binding("r", "refresh_now", "Refresh", id="room.refresh", tooltip="Poll every host now"),
        Binding("f1", "help", "Help", id="room.help", tooltip="All keys"),
        Binding("q", "app.quit", "Quit", id="room.quit", tooltip="Leave the room view"),
    ]

    def __init__(self, poller: RoomPoller, interval_s: float = 5.0) -> None:
        super().__init__()
        self.poller = poller
        self.interval_s = interval_s
        self.last_round: RoomRound | None = None

    def compose(self) -> ComposeResult:
        yield Static(f"Polling {len(self.poller.hosts)} hosts…", id="room-summary")
        with Vertical(id="room-body"):
            yield RoomGrid(id="room-grid")
            yield HostProblems(id="room-hosts")
            yield LearnerDetailView(id="learner-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(RoomGrid).border_title = "Learners (stuck first)"
        self.query_one(HostProblems).border_title = "Hosts that need you"
        self.query_one(HostProblems).display = False
        self.query_one(RoomGrid).focus()
        self.poll_rounds()

    @work(exclusive=True, group="room-poll")
    async def poll_rounds(self) -> None:
        await self.poller.run(self.interval_s, self._deliver)

    def _deliver(self, room: RoomRound) -> None:
        self.post_message(RoundDone(room))

    def on_round_done(self, message: RoundDone) -> None:
        self.last_round = message.room
        self.query_one("#room-summary", Static).update(summary(message.room))
        self.query_one(RoomGrid).show_round(message.room)
        self.query_one(HostProblems).show_round(message.room)

    def action_refresh_now(self) -> None:
        self.poll_rounds()  # exclusive: the running loop is cancelled and starts over now

    @on(DataTable.RowSelected, "#room-grid")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_inspect()

    def action_inspect(self) -> None:
        key = self.query_one(RoomGrid).selected_key()
        if key is None or "/" not in key:
            return  # a host row: its problem is already on screen
        host, user = key.split("/", 1)
        self.query_one(LearnerDetailView).show_loading(host, user)
        self.fetch_detail(host, user)

    @work(exclusive=True, group="room-detail")
    async def fetch_detail(self, host: str, user: str) -> None:
        self.post_message(DetailFetched(await self.poller.detail(host, user)))

    def on_detail_fetched(self, message: DetailFetched) -> None:
        self.query_one(LearnerDetailView).show_detail(message.detail)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(list(self.BINDINGS), ROOM_INTRO))  # type: ignore[arg-type]


class RoomApp(App[int]):
    CSS_PATH = Path(__file__).parent.parent / "app.tcss"  # the one app-wide stylesheet
    TITLE = "xdp-tui room"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", show=False, priority=True)]

    def __init__(self, poller: RoomPoller, interval_s: float = 5.0) -> None:
        super().__init__()
        self.poller = poller
        self.interval_s = interval_s

    def on_mount(self) -> None:
        self.push_screen(RoomScreen(self.poller, self.interval_s))

    async def on_unmount(self) -> None:
        await self.poller.close()


def run_room(poller: RoomPoller, interval_s: float = 5.0) -> int:
    """Run the room screen until the instructor quits; returns the exit code."""
    divert_fd2_to_log(paths.log_file())
    app = RoomApp(poller, interval_s)
    app.run()
    return int(app.return_code or 0)
