"""Packets: every packet the lab's XDP program handles, with its verdict and what it changed.

A self-contained pane. While it is shown (and not paused) a thread worker
captures at the hook (engine.capture) on the lab whose name `lab_name()`
returns, dissects each packet and posts batches to the pane; hiding the
pane stops the capture, so nothing runs around the program unseen.

Keys (while the pane has focus): space pause/resume, x clear, v cycle the
verdict filter, / type a text filter. Highlighting a row shows its layers
and a byte diff of the frame at entry and at exit.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from xdp_tui.engine.actions import XDP_ACTIONS
from xdp_tui.errors import XdpTuiError
from xdp_tui.widgets.plain_table import PlainTable

if TYPE_CHECKING:
    from xdp_tui.engine.capture import CaptureCounters, CapturedPacket

MAX_ROWS = 2000  # the pane keeps the newest packets only
POLL_MS = 200
WAIT_FOR_PROGRAM_S = 1.0  # while nothing is attached, look again this often (one netlink query)
BATCH = 500  # records decoded per poll at most (the rest waits in the ring)
PANE_RATE = 500  # packets a second the pane records: more than anyone reads, little CPU
VERDICT_STYLES = {
    "XDP_ABORTED": "bold red",
    "XDP_DROP": "red",
    "XDP_PASS": "green",
    "XDP_TX": "cyan",
    "XDP_REDIRECT": "magenta",
    "sample": "cyan",  # a frame the program sent itself: no verdict
}
VERDICT_CYCLE: tuple[str | None, ...] = (None, *XDP_ACTIONS)


@dataclass(frozen=True)
class Row:
    """One captured packet with its one-line dissection (made in the worker)."""

    number: int
    packet: CapturedPacket
    summary: str


class PacketsPane(Vertical, can_focus=False):
    DEFAULT_CSS = """
    PacketsPane { height: 1fr; }
    PacketsPane #packets-status { height: auto; }
    PacketsPane #packets-filter { height: 3; }
    PacketsPane #packets-table { height: 2fr; }
    PacketsPane #packets-detail-box { height: 1fr; background: $surface; }
    """
    BINDINGS = [
        Binding("space", "pause", "Pause", tooltip="Pause or resume the capture"),
        Binding("x", "clear", "Clear", tooltip="Forget the packets shown"),
        Binding("v", "cycle_verdict", "Verdict", tooltip="Show only one verdict (cycles)"),
        Binding("slash", "focus_filter", "Filter", tooltip="Filter by text in the summary"),
        Binding("w", "write_pcapng", "Write pcapng", tooltip="Save the packets kept to a file"),
    ]

    class Captured(Message):
        def __init__(self, rows: list[Row], counters: CaptureCounters | None) -> None:
            super().__init__()
            self.rows = rows
            self.counters = counters

    class Status(Message):
        def __init__(self, text: str, style: str = "") -> None:
            super().__init__()
            self.text = text
            self.style = style

    def __init__(
        self,
        lab_name: Callable[[], str | None] | None = None,
        *,
        samples_ring: Callable[[], int | None] | None = None,
        max_rows: int = MAX_ROWS,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.lab_name = lab_name or (lambda: None)
        # The ring buffer fd of the attached program's own samples (tracing04), if it has
        # one: then the pane lists what the program sends instead of capturing at the hook.
        self.samples_ring = samples_ring or (lambda: None)
        self.rows: deque[Row] = deque(maxlen=max_rows)
        self.paused = False
        self.verdict: str | None = None
        self.text_filter = ""
        self.counters: CaptureCounters | None = None
        self._stop = threading.Event()
        self._numbered = 0
        self._capturing = False

    def compose(self) -> ComposeResult:
        yield Static("Packets: not capturing", id="packets-status")
        yield Input(
            placeholder="/ filter: text in the summary (address, port, ICMPv6 …)",
            id="packets-filter",
        )
        table = PlainTable(id="packets-table", cursor_type="row")
        table.add_column("#", key="n")
        table.add_column("Time", key="time")
        table.add_column("Verdict", key="verdict")
        table.add_column("CPU", key="cpu")
        table.add_column("Len", key="len")
        table.add_column("Δ", key="changed")
        table.add_column("Packet", key="summary")
        yield table
        with VerticalScroll(id="packets-detail-box"):
            yield Static(
                "Highlight a packet to see its layers and what the program changed.",
                id="packets-detail",
            )

    # ---- capture lifecycle -------------------------------------------------

    def on_show(self) -> None:
        if not self.paused:
            self.start_capture()

    def on_hide(self) -> None:
        self.stop_capture()

    def on_unmount(self) -> None:
        self.stop_capture()

    def start_capture(self) -> None:
        dev = self.lab_name()
        if not dev:
            self._set_status("Packets: no lab yet (b creates it and attaches your program)")
            return
        if self._capturing:
            return
        self._capturing = True
        self._stop = threading.Event()
        self._capture(dev, self._stop)

    def stop_capture(self) -> None:
        self._stop.set()
        self._capturing = False

    @work(thread=True, exclusive=True, group="packets-capture", exit_on_error=False)
    def _capture(self, dev: str, stop: threading.Event) -> None:
        """Capture until STOP, following the program on DEV as it is attached (b, or another
        tool), replaced or detached while the pane is shown."""
        waiting = False
        while not stop.is_set():
            outcome = self._capture_once(dev, stop, quiet=waiting)
            waiting = outcome == "none"
            if outcome == "replaced":
                self.post_message(
                    self.Status(f"Packets: the program on {dev} changed; following it")
                )
            elif waiting:
                stop.wait(WAIT_FOR_PROGRAM_S)
            else:
                return

    def _capture_once(self, dev: str, stop: threading.Event, *, quiet: bool = False) -> str:
        """One capture on what runs now: "replaced" when the program on DEV changed under it,
        "none" when nothing is attached (QUIET: already said), "" when stopped or failed."""
        from xdp_tui.engine.capture import Capture, NothingAttachedError
        from xdp_tui.errors import NoSuchInterfaceError

        ring = self.samples_ring()
        if ring is not None:
            return "replaced" if self._samples_once(dev, ring, stop) else ""
        try:
            cap = Capture.start(dev, rate=PANE_RATE)
        except (NothingAttachedError, NoSuchInterfaceError) as exc:  # not yet: wait for it
            if not quiet:
                self.post_message(self.Status(f"Packets: {exc.render('tui')}"))
            return "none"
        except XdpTuiError as exc:
            self.post_message(self.Status(f"Packets: {exc.render('tui')}", "red"))
            return ""
        with cap:
            how = "fentry/fexit" if cap.method == "fentry" else "a capturing twin of the program"
            self.post_message(
                self.Status(f"Packets on {dev} ({cap.target.func_name}, through {how})")
            )
            last = 0.0
            while not stop.is_set():
                packets = cap.poll(POLL_MS, limit=BATCH)
                now = time.monotonic()
                if packets or now - last >= 1.0:
                    last = now
                    self.post_message(self.Captured(_rows(packets), cap.counters()))
                    if not packets and cap.target_replaced():
                        return "replaced"
        return ""

    def _samples_once(self, dev: str, ring: int, stop: threading.Event) -> bool:
        """List the samples the program itself sends (tracing04) until STOP; True when
        the program was replaced (its ring is another one now)."""
        from xdp_tui.engine.samples import SampleReader

        try:
            ifindex = socket.if_nametoindex(dev)
            reader = SampleReader(ring)
        except OSError:
            self.post_message(self.Status(f"Packets: no interface named {dev}", "red"))
            return False
        except XdpTuiError as exc:
            self.post_message(self.Status(f"Packets: {exc.render('tui')}", "red"))
            return False
        with reader:
            self.post_message(
                self.Status(f"Packets on {dev}: the samples your program sends (ring 'samples')")
            )
            seq = 0
            while not stop.is_set():
                samples = reader.poll(POLL_MS)
                packets = []
                for sample in samples:
                    seq += 1
                    packets.append(sample.as_captured(seq, ifindex))
                if packets:
                    self.post_message(self.Captured(_rows(packets), None))
                if self.samples_ring() != ring:
                    return True
        return False

    def action_write_pcapng(self) -> None:
        if not self.rows:
            self._set_status("Packets: nothing to write yet")
            return
        self._write([row.packet for row in self.rows], self.lab_name() or "lab")

    @work(thread=True, exclusive=True, group="packets-write", exit_on_error=False)
    def _write(self, packets: list[CapturedPacket], lab: str) -> None:
        from xdp_tui import userfiles
        from xdp_tui.engine.capture import PcapngWriter
        from xdp_tui.paths import private_dir, user_data_dir

        path = user_data_dir() / "captures" / f"{lab}-{time.strftime('%Y%m%d-%H%M%S')}.pcapng"
        # Written in a root-only folder first, then handed over as the learner
        # (their data folder may hold links planted anywhere).
        scratch = private_dir("captures") / f"{os.getpid()}-{path.name}"
        try:
            writer = PcapngWriter(scratch)
            try:
                for packet in packets:
                    writer.write(packet)
            finally:
                writer.close()
            userfiles.write_bytes(path, scratch.read_bytes())
        except (XdpTuiError, OSError) as exc:
            text = exc.render("tui") if isinstance(exc, XdpTuiError) else str(exc)
            self.post_message(self.Status(f"Packets: not written: {text}", "red"))
            return
        finally:
            scratch.unlink(missing_ok=True)
        self.post_message(
            self.Status(f"Packets: {len(packets)} written to {path} (tcpdump -r reads it)")
        )

    # ---- messages ------------------------------------------------------------

    @on(Status)
    def _show_status(self, message: Status) -> None:
        self._set_status(message.text, message.style)
        if message.style == "red":
            self._capturing = False

    @on(Captured)
    def _add_rows(self, message: Captured) -> None:
        self.counters = message.counters or self.counters
        if self.paused:
            return  # a batch already on its way when the capture stopped
        table = self.query_one("#packets-table", DataTable)
        for row in message.rows:
            row = Row(self._next_number(), row.packet, row.summary)
            if len(self.rows) == self.rows.maxlen:
                oldest = self.rows[0]
                if str(oldest.number) in table.rows:
                    table.remove_row(str(oldest.number))
            self.rows.append(row)
            if self._matches(row):
                table.add_row(*_cells(row), key=str(row.number))
        self._set_status(self._status_text())

    def _next_number(self) -> int:
        self._numbered += 1
        return self._numbered

    # ---- filters and keys ------------------------------------------------------

    def _matches(self, row: Row) -> bool:
        if self.verdict and row.packet.verdict_name != self.verdict:
            return False
        return not self.text_filter or self.text_filter.lower() in row.summary.lower()

    def refill(self) -> None:
        """Show the kept packets again under the current filters."""
        table = self.query_one("#packets-table", DataTable)
        table.clear()
        for row in self.rows:
            if self._matches(row):
                table.add_row(*_cells(row), key=str(row.number))
        self._set_status(self._status_text())

    @on(Input.Changed, "#packets-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.text_filter = event.value.strip()
        self.refill()

    @on(Input.Submitted, "#packets-filter")
    def _filter_done(self) -> None:
        self.query_one("#packets-table", DataTable).focus()

    def focus_table(self) -> None:
        """The packet list takes the keys (the pane's bindings answer inside it)."""
        self.query_one("#packets-table", DataTable).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#packets-filter", Input).focus()

    def action_cycle_verdict(self) -> None:
        at = VERDICT_CYCLE.index(self.verdict)
        self.verdict = VERDICT_CYCLE[(at + 1) % len(VERDICT_CYCLE)]
        self.refill()

    def action_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            self.stop_capture()
        else:
            self.start_capture()
        self._set_status(self._status_text())

    def action_clear(self) -> None:
        self.rows.clear()
        self.refill()
        self.query_one("#packets-detail", Static).update("")

    # ---- detail ------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#packets-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        number = int(event.row_key.value or 0)
        row = next((r for r in self.rows if r.number == number), None)
        if row is not None:
            self.query_one("#packets-detail", Static).update(detail_text(row.packet))

    # ---- status line -------------------------------------------------------------

    def _status_text(self) -> str:
        shown = self.query_one("#packets-table", DataTable).row_count
        parts = [f"{shown} shown of {len(self.rows)} kept"]
        if self.verdict:
            parts.append(f"verdict {self.verdict}")
        if self.text_filter:
            parts.append(f"text {self.text_filter!r}")
        c = self.counters
        if c is not None:
            parts.append(f"seen {c.seen}, recorded {c.recorded}")
            if c.dropped:
                parts.append(
                    f"not captured {c.dropped} (rate cap {c.rate_skipped}, ring full {c.ring_full})"
                )
        if self.paused:
            parts.append("PAUSED (space resumes)")
        return "Packets: " + " · ".join(parts)

    def _set_status(self, text: str, style: str = "") -> None:
        self.query_one("#packets-status", Static).update(Text(text, style=style))


def _rows(packets: list[CapturedPacket]) -> list[Row]:
    """Dissect in the worker: scapy takes a moment per packet."""
    from xdp_tui.engine.dissect import summary

    return [Row(0, p, summary(p.data_in)) for p in packets]


def _cells(row: Row) -> tuple[str | Text, ...]:
    p = row.packet
    stamp = time.strftime("%H:%M:%S", time.localtime(p.time)) + f".{int(p.time % 1 * 1000):03d}"
    verdict = Text(
        p.verdict_name.removeprefix("XDP_"), style=VERDICT_STYLES.get(p.verdict_name, "yellow")
    )
    changed = Text("Δ", style="bold yellow") if p.changed else ""
    cpu = "" if p.sample else str(p.cpu)  # a sample was not caught on any CPU we know
    return (str(row.number), stamp, verdict, cpu, str(p.len_in), changed, row.summary)


def detail_text(packet: CapturedPacket) -> Text:
    """Layers of the frame as it arrived, then what the program changed (or that it did not)."""
    from xdp_tui.engine.dissect import byte_diff, changed_offsets, hexdump_lines, layers

    out = Text()
    if packet.sample:
        out.append("sample", style="cyan")
        out.append(
            f"  {packet.len_in} B, as your program sent it (no verdict: not caught at the hook)\n"
        )
    else:
        out.append(packet.verdict_name, style=VERDICT_STYLES.get(packet.verdict_name, "yellow"))
        out.append(f"  cpu {packet.cpu}  {packet.len_in} B in, {packet.len_out} B out\n")
    for layer in layers(packet.data_in):
        out.append(f"{layer.name}: ", style="bold")
        out.append(", ".join(f"{k}={v}" for k, v in layer.fields) + "\n")
    if packet.sample:
        if packet.truncated:
            out.append("(your program copied only the first bytes)\n", style="dim")
        return out
    changes = byte_diff(packet.data_in, packet.data_out)
    if not changes:
        out.append("\nthe program left the bytes unchanged\n", style="dim")
    else:
        out.append("\nwhat the program changed:\n", style="bold yellow")
        for change in changes:
            out.append(f"  {change.describe()}\n")
        out.append("\nframe at exit (* = changed):\n", style="bold")
        for line in hexdump_lines(packet.data_out, changed_offsets(changes)):
            out.append(line + "\n")
    if packet.truncated:
        out.append("(only the first bytes were kept: snapshot length)\n", style="dim")
    return out
