"""Traffic from inside the lab: a ping, or a UDP stream until stopped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import work
from textual.message import Message

from xdp_tui.screens.chooser import ChoiceScreen
from xdp_tui.screens.panes.base import Pane, pane_key

if TYPE_CHECKING:
    from testenv.traffic import PingResult
    from xdp_tui.screens.main import WorkshopScreen

# Paced streams are sent by a Python thread of this process; "max" lets the kernel
# repeat the frame when the lab's outer end runs native XDP (testenv.live_frames).
STREAM_RATES = [
    ("100", "100 packets/s"),
    ("1000", "1 000 packets/s"),
    ("10000", "10 000 packets/s"),
    ("100000", "100 000 packets/s"),
    ("max", "as fast as possible (Mpps on a native attach)"),
]


@dataclass
class PingDone(Message):
    result: PingResult


@dataclass
class StreamStopped(Message):
    total: int


class TrafficPane(Pane):
    NAME = "traffic"
    KEYS = [
        pane_key("traffic", "p", "ping", "Ping", "Ping the outer side from inside the lab"),
        pane_key(
            "traffic", "t", "stream", "Stream", "Start or stop a UDP stream from inside the lab"
        ),  # fmt: skip
    ]

    def __init__(self, workshop: WorkshopScreen) -> None:
        super().__init__(workshop)
        self.streaming = False

    def action_ping(self) -> None:
        self.status.activity = "ping…"
        self.ping()

    @work(thread=True, exclusive=True, group="ping", exit_on_error=False)
    def ping(self) -> None:
        self.post_message(PingDone(self.workbench.ping()))

    def on_ping_done(self, message: PingDone) -> None:
        result = message.result
        self.status.activity = ""
        seqs = " ".join(str(seq) for seq in result.answered_seqs) or "none"
        text = f"ping: {result.received}/{result.sent} answered (seq {seqs})"
        style = "green" if result.received == result.sent else "yellow"
        self.say(text, style)
        self.notify(text, severity="information" if style == "green" else "warning")

    def action_stream(self) -> None:
        if self.streaming:
            self.workbench.stop_stream()
            self.status.activity = "stopping stream…"
            return

        def chosen(rate: str | None) -> None:
            if rate is not None:
                self.streaming = True
                pps = None if rate == "max" else int(rate)
                shown = "at full speed" if pps is None else f"{pps} pps"
                self.status.activity = f"streaming {shown} (t stops)"
                self.stream(pps)

        self.app.push_screen(ChoiceScreen("UDP stream from inside the lab", STREAM_RATES), chosen)

    @work(thread=True, exclusive=True, group="stream", exit_on_error=False)
    def stream(self, pps: int | None) -> None:
        try:
            total = self.workbench.stream(pps, lambda _chunk: None)
        finally:
            self.streaming = False
        self.post_message(StreamStopped(total))

    def on_stream_stopped(self, message: StreamStopped) -> None:
        self.status.activity = ""
        self.say(f"stream stopped: {message.total} frames sent")

    def recover(self, group: str) -> None:
        self.status.activity = ""
        if group == "stream":
            self.streaming = False
