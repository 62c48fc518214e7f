"""The room's grid (one row per learner, stuck first) and its hosts in trouble.

RoomGrid columns: host, learner, passed/total, one narrow column per lesson
(passed / failing / partly done / untouched), current lesson, last check,
time since their last progress, and why they look stuck. HostProblems lists
the hosts that are unreachable, answer badly, fail `doctor`, or have no
learner yet. Pure rendering of a RoomRound: the screen owns the polling.
"""

from __future__ import annotations

import time

from rich.text import Text

from xdp_tui.room.model import HostReport, Learner, RoomRound
from xdp_tui.widgets.plain_table import PlainTable

# Cell marks per lesson state, and their styles (theme-neutral named colours).
MARKS = {
    "passed": ("✓", "green"),
    "failing": ("✗", "red"),
    "partial": ("◐", "yellow"),
    "untouched": ("·", "dim"),
}
# Lesson marks sit between these two groups, so the grid stays on screen and the
# free-text status (the widest) comes last.
HEAD_COLUMNS = ("Host", "Learner", "Done")
TAIL_COLUMNS = ("Lesson", "Last check", "Idle", "Status")


def ago(when: float | None, now: float) -> str:
    """'42s', '7m', '3h' since WHEN; '-' for never."""
    if not when:
        return "-"
    seconds = max(0, int(now - when))
    if seconds < 60:
        return f"{seconds}s"
    return f"{seconds // 60}m" if seconds < 3600 else f"{seconds // 3600}h"


def short_lesson(lesson_id: str) -> str:
    """basic03-map-counter -> b03: column headers stay narrow."""
    head, _, _ = lesson_id.partition("-")
    digits = "".join(c for c in head if c.isdigit())
    return f"{head[0]}{digits}" if digits else head[:3]


class RoomGrid(PlainTable):
    """Learners x lessons. Row keys: 'host/user'."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self.lessons: list[str] = []
        self.round: RoomRound | None = None
        # Each host's last good answer: a host that drops out keeps its learners on
        # screen (dimmed, "last seen ...") instead of making them vanish.
        self.last_good: dict[str, tuple[HostReport, float]] = {}

    def show_round(self, room: RoomRound) -> None:
        """Redraw from ROOM, keeping the cursor on the same learner when it is still there."""
        self.round = room
        now = time.time()
        lessons = _lesson_order(room)
        if lessons != self.lessons or not self.columns:
            self.clear(columns=True)
            self.lessons = lessons
            marks = (short_lesson(lesson) for lesson in lessons)
            self.add_columns(*HEAD_COLUMNS, *marks, *TAIL_COLUMNS)
        selected = self.selected_key()
        self.clear()
        for host, learner in room.learners():
            self.add_row(
                *self._learner_cells(host, learner, now), key=f"{host.host}/{learner.user}"
            )
        for host in room.hosts:
            if host.learners:
                self.last_good[host.host] = (host, room.time)
            elif host.error and host.host in self.last_good:
                self._add_stale_rows(*self.last_good[host.host], now)
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected))

    def _add_stale_rows(self, host: HostReport, seen: float, now: float) -> None:
        for learner in host.learners:
            cells = self._learner_cells(host, learner, now)
            dimmed = [Text(str(cell), style="dim") for cell in cells[:-1]]
            status = Text(f"host not answering; last seen {ago(seen, now)} ago", style="red")
            self.add_row(*dimmed, status, key=f"{host.host}/{learner.user}")

    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    def _learner_cells(self, host: HostReport, learner: Learner, now: float) -> list[Text | str]:
        check = learner.last_check
        verdict = "-"
        if check:
            verdict = f"{'pass' if check.passed else 'FAIL'} {short_lesson(check.lesson)}#{check.assignment}"
        status = Text(learner.stuck_reason, style="bold red") if learner.stuck else Text("")
        if learner.done:
            status = Text("all done", style="green")
        states = {cell.lesson: cell.state for cell in learner.lessons}
        marks = [Text(*MARKS[states.get(lesson, "untouched")]) for lesson in self.lessons]
        return [
            host.host,
            Text(learner.user, style="bold red" if learner.stuck else ""),
            f"{learner.passed}/{learner.total}",
            *marks,
            learner.current_lesson or "-",
            verdict,
            ago(learner.last_progress, now),
            status,
        ]


class HostProblems(PlainTable):
    """Hosts that need the instructor: unreachable, bad answers, failing doctor, no learner."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", **kwargs)  # type: ignore[arg-type]
        self.add_columns("Host", "State", "Problem")

    def show_round(self, room: RoomRound) -> None:
        self.clear()
        for host in sorted(room.hosts, key=lambda h: (h.reachable, h.error is None, h.host)):
            problem = host_problem(host)
            if problem is not None:
                state = Text("unreachable", style="bold red") if not host.reachable else Text("up")
                self.add_row(host.host, state, problem, key=host.host)
        self.display = self.row_count > 0


def host_problem(host: HostReport) -> Text | None:
    """What is wrong with HOST, or None when it is fine and has learners."""
    if host.error:
        return Text(host.error, style="red")
    if host.doctor_ok is False:
        return Text(f"doctor fails: {', '.join(host.doctor_failures)}", style="yellow")
    if not host.learners:
        return Text("no learner has checked anything yet", style="dim")
    return None


def _lesson_order(room: RoomRound) -> list[str]:
    """Lessons in the order the hosts report them (their catalog order)."""
    seen: dict[str, None] = {}
    for host in room.hosts:
        for learner in host.learners:
            for cell in learner.lessons:
                seen.setdefault(cell.lesson, None)
    return list(seen)
