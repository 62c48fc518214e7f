"""The live feed: one sampler loop while something is attached, feeding the Live tab.

The Live tab's widgets (`LiveStats`, `TopTalkers`, `MonitorLog`) are mounted
lazily; a sample that arrives while the tab is hidden is kept and drawn when it
is shown. `TopTalkers` reads the program's big maps with a worker of its own:
this pane only tells it which interface to follow and whether it is shown.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import work
from textual.css.query import NoMatches
from textual.message import Message
from textual.worker import get_current_worker

from xdp_tui.engine.live import LiveSample
from xdp_tui.screens.panes.base import Pane, pane_key
from xdp_tui.screens.panes.messages import Notice
from xdp_tui.screens.problems import guarded
from xdp_tui.widgets.live_stats import LiveStats
from xdp_tui.widgets.monitor_log import MonitorLog
from xdp_tui.widgets.top_talkers import TopTalkers

SAMPLE_PERIOD_S = 0.25  # 4 Hz
RETRY_AFTER_S = 1.0  # a failed sample: try again after this, keep the view alive

if TYPE_CHECKING:
    from xdp_tui.engine.attach import XdpStatus
    from xdp_tui.screens.main import WorkshopScreen


@dataclass
class SampleReady(Message):
    sample: LiveSample | None  # None: the loop ended (detached)


@dataclass
class ForeignFollowed(Message):
    """The live feed follows another tool's program (STATUS) or, None, stopped following it."""

    status: XdpStatus | None


class LivePane(Pane):
    NAME = "live"
    KEYS = [
        pane_key(
            "live",
            "T",
            "top_talkers",
            "Top talkers",
            "Go to the big-map view (s sort, f filter)",
            show=False,
        ),  # fmt: skip
    ]

    def __init__(self, workshop: WorkshopScreen) -> None:
        super().__init__(workshop)
        self.last_sample: LiveSample | None = None
        self._fed_sample: LiveSample | None = None
        self._sampling = False
        self._sample_shown = threading.Event()
        self._top_focus_wanted = False  # `T` pressed before the Live tab was mounted

    def start(self) -> None:
        """Something was attached: start the monitor and the sampler loop (once)."""
        self.start_monitor()
        if not self._sampling:
            self._sampling = True
            self._sample_shown.set()
            self.sample_loop()

    @work(thread=True, exclusive=True, group="foreign", exit_on_error=False)
    def follow_foreign(self, status: XdpStatus | None) -> None:
        """Show another tool's program (STATUS, on the lab) read-only while this session has
        none attached; None: it went, stop showing it."""
        if status is None:
            if self.workbench.stop_foreign():
                self.post_message(ForeignFollowed(None))
        elif self.workbench.follow_foreign(status):
            self.post_message(ForeignFollowed(status))

    def on_foreign_followed(self, message: ForeignFollowed) -> None:
        status = message.status
        self.reset_view()
        if status is None:
            return
        owner = "loaded with `xdp-tui load`" if status.ours else "attached by another tool"
        self.say(f"Live shows {status.prog_name or 'the program'} (id {status.prog_id}) on "
                 f"{status.dev}, {owner}: read-only, xdp-tui leaves it as it is", "yellow")  # fmt: skip
        self.start()

    @work(thread=True, exclusive=True, group="monitor", exit_on_error=False)
    def start_monitor(self) -> None:
        note = self.workbench.start_monitor()
        if note:
            self.post_message(Notice(note, "bright_black"))

    @work(thread=True, exclusive=True, group="sample", exit_on_error=False)
    def sample_loop(self) -> None:
        """Sample at 4 Hz while something is attached.

        The next sample is taken only after the UI has shown the previous one
        (`_sample_shown`), so a slow terminal never gets a backlog of samples.
        """
        worker = get_current_worker()
        while not worker.is_cancelled:
            time.sleep(SAMPLE_PERIOD_S)
            if not self._sample_shown.wait(timeout=1.0):
                continue
            sample = self.workbench.sample()
            if sample is None:
                break  # detached
            self._sample_shown.clear()
            self.post_message(SampleReady(sample))
        self.post_message(SampleReady(None))

    def on_sample_ready(self, message: SampleReady) -> None:
        sample = message.sample
        if sample is None:  # the loop ended; a new attach may have raced it
            self._sampling = False
            self._follow_top_talkers(None)
            self._resume()
            return
        self.last_sample = sample
        if self.workshop.active_tab == "live":  # hidden panes are fed when shown
            self.feed(sample)
        self._sample_shown.set()

    @guarded
    def feed(self, sample: LiveSample) -> None:
        """Draw SAMPLE in the Live tab (nothing while its widgets are not mounted yet)."""
        try:
            stats, monitor = self.workshop.query_one(LiveStats), self.workshop.query_one(MonitorLog)
        except NoMatches:
            return  # Lazy: mounted after the first frame; the next sample will do
        self._follow_top_talkers(sample.dev)
        if sample.trace:
            monitor.add_lines(sample.trace)  # new lines every time, never skipped
        fed = self._fed_sample
        if sample.same_numbers(fed) and stats.settled:
            return  # nothing moved and the sparklines are flat: no redraw
        # Sparklines are a fixed time window: samples not drawn (tab hidden) still count,
        # and an unchanged sample still moves them on, so they decay to zero.
        missed = round((sample.time - fed.time) / SAMPLE_PERIOD_S) - 1 if fed else 0
        self._fed_sample = sample
        stats.update_sample(sample, missed=missed)
        program = f"{sample.prog_name} (id {sample.prog_id})" if sample.prog_name else ""
        monitor.show_totals(sample.monitor, program)

    def reset_view(self, *, monitor_too: bool = False) -> None:
        """Nothing of an earlier program stays on screen (detached, replaced, another lesson)."""
        self.last_sample = self._fed_sample = None
        try:
            self.workshop.query_one(LiveStats).clear()
            monitor = self.workshop.query_one(MonitorLog)
            if monitor_too:
                monitor.clear()
            else:
                monitor.clear_totals()  # the program's own exceptions only
        except NoMatches:
            pass  # Lazy: not mounted yet, nothing shown

    def tab_shown(self, shown: bool = True) -> None:
        """The Live tab was shown (SHOWN) or another tab was."""
        top = self._top_talkers()
        if top is not None:
            top.set_active(shown)
        if shown and self.last_sample is not None:
            self.call_after_refresh(self.feed, self.last_sample)

    def action_top_talkers(self) -> None:
        """The Live tab, with the keys on the big-map view (once it shows, if not yet)."""
        self.workshop.switch_tab("live")
        top = self._top_talkers()
        if top is not None:
            top.want_focus()
        else:
            self._top_focus_wanted = True  # the Live tab mounts lazily: on its first sample

    def _top_talkers(self) -> TopTalkers | None:
        try:
            return self.workshop.query_one(TopTalkers)
        except NoMatches:
            return None

    def _follow_top_talkers(self, dev: str | None) -> None:
        """The big-map view reads by itself (its own worker); it needs the interface."""
        top = self._top_talkers()
        if top is not None:
            top.follow(dev)
            if self._top_focus_wanted:
                self._top_focus_wanted = False
                top.want_focus()

    def quiet_failures(self, group: str) -> bool:
        return group == "sample"  # retried: the activity log is enough

    def recover(self, group: str) -> None:
        if group == "sample":
            self._sampling = False
            self.set_timer(RETRY_AFTER_S, self._resume)  # keep sampling after a hiccup

    def _resume(self) -> None:
        if self.workbench.attached is not None or self.workbench.live_following:
            self.start()
