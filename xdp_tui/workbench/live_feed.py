"""The live feed: the attached program's counters, the exception monitor and bpf_printk lines.

One `LiveFeed` per session. `follow(dev)` starts sampling an interface
after an attach, `stop()` ends it on detach; `sample()` returns one typed
`LiveSample` (or None when nothing is followed). The monitor and the
printk reader start once (`start_monitor`) and live until `close()`.
A program with an `xsks_map` (advanced03) also gets the workshop's own
AF_XDP socket for as long as it is followed (`engine.afxdp.XskService`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from xdp_tui.engine.live import LiveSample, MonitorTotals, from_stats, monitor_totals
from xdp_tui.errors import XdpTuiError

if TYPE_CHECKING:
    from xdp_tui.engine.afxdp import XskService
    from xdp_tui.engine.monitor import ExceptionMonitor, PrintkFilter, TracePipe
    from xdp_tui.engine.stats import StatsSampler

log = logging.getLogger(__name__)

# The monitor's totals are read at most this often: each read walks two bcc hash
# tables from Python, the costliest part of a sample, and a second is soon enough.
MONITOR_PERIOD_S = 1.0


class LiveFeed:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # One start at a time: a follow and an attach each start the monitor from a worker,
        # and two bcc BPF() compiles at once crash the process (a segfault was seen).
        self._start_lock = threading.Lock()
        self._sampler: StatsSampler | None = None
        self._monitor: ExceptionMonitor | None = None
        self._trace: TracePipe | None = None
        self._totals = MonitorTotals()
        self._totals_read_at = float("-inf")
        self._printk_filter: PrintkFilter | None = None  # lines of the followed object only
        self._xsk: XskService | None = None
        self._xsk_note = ""
        self._stand_ins: set[int] = set()  # programs that ran in the followed one's stead

    def follow(
        self,
        dev: str,
        obj: Path | None = None,
        *,
        prog_maps: dict[str, int] | None = None,
        prog_id: int | None = None,
        runs_instead: Callable[[], int | None] | None = None,
    ) -> None:
        """Sample DEV's program from now on (replacing what was followed).

        OBJ, the program's object: the bpf_printk pane shows only the lines its
        format strings can print (other sessions' programs print too); without
        it (another tool's program), those kept in PROG_ID's .rodata maps.
        PROG_MAPS (name -> fd) of the attached program: an `xsks_map` among
        them gets the workshop's AF_XDP socket (see `_open_xsk`). Another tool's
        program gets none: its maps are only read.
        RUNS_INSTEAD (this session's own program, PROG_ID): what runs in our link now;
        the view stays on PROG_ID while a capture's twin runs there instead (it shares
        the maps), with the twin's run counts. Without it, whatever DEV runs is shown.
        """
        from xdp_tui.engine import maps, monitor, stats

        self.stop()
        self._open_xsk(dev, prog_maps or {}, obj)
        try:
            if obj is not None:
                self._printk_filter = monitor.PrintkFilter.from_object(obj)
            else:
                formats = monitor.printk_formats_of_program(prog_id) if prog_id else ()
                self._printk_filter = monitor.PrintkFilter(formats)
        except (OSError, XdpTuiError) as exc:
            log.info("bpf_printk filter unavailable for %s: %s", obj or prog_id, exc)
            self._printk_filter = monitor.PrintkFilter(())
        # Maps too big to read whole each tick are the top-talkers view's (widgets/top_talkers.py).
        big = maps.DEFAULT_LIMIT
        fixed = prog_id if runs_instead is not None else None
        try:
            sampler = stats.StatsSampler(
                dev, prog_id=fixed, run_stats=True, skip_maps_over=big, runs_instead=runs_instead
            )
        except XdpTuiError as exc:
            log.info("run statistics unavailable on %s: %s", dev, exc.render("tui"))
            sampler = stats.StatsSampler(dev, prog_id=fixed, skip_maps_over=big)
        with self._lock:
            self._sampler = sampler
            self._stand_ins = set()

    def _open_xsk(self, dev: str, maps: dict[str, int], obj: Path | None) -> None:
        """Open the AF_XDP socket an attached program with an xsks_map redirects to.

        Optional like the monitor: when it cannot open, the Live view says why.
        """
        from xdp_tui.engine.afxdp import XSKMAP_NAME, XskService

        if XSKMAP_NAME not in maps:
            return
        try:
            self._xsk = XskService.for_program(dev, maps, obj)
        except XdpTuiError as exc:
            self._xsk_note = f"no AF_XDP socket: {exc.render('tui')}"
            log.info("%s", self._xsk_note)

    @property
    def following(self) -> bool:
        """A program is being sampled (ours or another tool's)."""
        return self._sampler is not None

    def stop(self) -> None:
        with self._lock:
            sampler, self._sampler = self._sampler, None
            xsk, self._xsk = self._xsk, None
            self._xsk_note = ""
        if xsk is not None:
            xsk.close()  # before the program goes: its slot empties with the socket
        if sampler is not None:
            sampler.close()

    def start_monitor(self) -> str | None:
        """Start the exception monitor and the bpf_printk reader; a note when one cannot run.

        Both are optional: bcc may lack kernel headers and tracefs may be
        missing; the Live view then says why instead of showing them.
        """
        from xdp_tui.engine import monitor

        with self._start_lock:
            notes = self._start_readers(monitor)
        for note in notes:
            log.info("%s", note)
        return "; ".join(notes) or None

    def _start_readers(self, monitor: ModuleType) -> list[str]:
        notes = []
        if self._monitor is None:
            try:
                self._monitor = monitor.ExceptionMonitor().start()
            except XdpTuiError as exc:
                notes.append(f"exception monitor unavailable: {exc.render('tui')}")
        if self._trace is None:
            try:
                self._trace = monitor.open_printk_reader()
            except XdpTuiError as exc:
                notes.append(f"bpf_printk log unavailable: {exc.render('tui')}")
        return notes

    @property
    def monitoring(self) -> bool:
        """The exception monitor runs (start_monitor succeeded)."""
        return self._monitor is not None

    def sample(self) -> LiveSample | None:
        """One live sample; None when nothing is followed (detached)."""
        with self._lock:
            sampler = self._sampler
            if sampler is None:
                return None
            stats = sampler.sample()
            shown = stats.get("prog_id")
            if shown:
                running = sampler.running(shown)
                if running != shown:  # a capture's twin in our link: its exceptions are ours
                    self._stand_ins.add(running)
            xsk = self._xsk.rates() if self._xsk is not None else None
            note = self._xsk.problem if self._xsk is not None else self._xsk_note
        trace = self._trace.read(0.0) if self._trace is not None else []
        only_ours = self._printk_filter
        if only_ours is not None:
            trace = [line for line in trace if only_ours.matches(line.message)]
        totals = self._monitor_totals().of_program(shown, self._stand_ins)
        sample = from_stats(stats, totals, trace)
        return replace(sample, xsk=xsk, xsk_note=note) if xsk is not None or note else sample

    def _monitor_totals(self) -> MonitorTotals:
        now = time.monotonic()
        if self._monitor is not None and now - self._totals_read_at >= MONITOR_PERIOD_S:
            self._totals, self._totals_read_at = monitor_totals(self._monitor), now
        return self._totals

    def close(self) -> None:
        self.stop()
        monitor, self._monitor = self._monitor, None
        trace, self._trace = self._trace, None
        if monitor is not None:
            monitor.close()
        if trace is not None:
            trace.close()
