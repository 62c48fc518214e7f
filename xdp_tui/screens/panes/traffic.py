"""Traffic from inside the lab: what the lesson needs (pings, VLAN, ports), or a UDP stream.

`p` offers the lesson's traffic choices (journey.traffic_choices: the IPv6
ping, IPv4 and VLAN-tagged pings when its lab has them, UDP/TCP to a port,
a ping to an address the learner types); with one choice it just sends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import work
from textual.message import Message

from xdp_tui.screens.ask import AskScreen
from xdp_tui.screens.chooser import ChoiceScreen
from xdp_tui.screens.panes.base import Pane, pane_key
from xdp_tui.workbench import TrafficOutcome

if TYPE_CHECKING:
    from xdp_tui.lessons import Lesson, TrafficChoice
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
class TrafficSent(Message):
    outcome: TrafficOutcome


@dataclass
class ChoicesListed(Message):
    lesson_id: str
    choices: list[TrafficChoice]


@dataclass
class StreamStopped(Message):
    total: int


class TrafficPane(Pane):
    NAME = "traffic"
    KEYS = [
        pane_key("traffic", "p", "ping", "Ping", "Send the lesson's traffic from inside the lab"),
        pane_key(
            "traffic", "t", "stream", "Stream", "Start or stop a UDP stream from inside the lab"
        ),  # fmt: skip
    ]

    def __init__(self, workshop: WorkshopScreen) -> None:
        super().__init__(workshop)
        self.streaming = False
        self.last_address = ""  # the last address typed for a ping elsewhere

    def action_ping(self) -> None:
        lesson = self.need_lesson()
        if lesson is not None:
            self.list_choices(lesson)

    @work(thread=True, exclusive=True, group="ping", exit_on_error=False)
    def list_choices(self, lesson: Lesson) -> None:
        self.post_message(ChoicesListed(lesson.id, self.workbench.traffic_choices(lesson)))

    def on_choices_listed(self, message: ChoicesListed) -> None:
        choices = message.choices
        if len(choices) == 1:
            self._send(choices[0])
            return

        def chosen(key: str | None) -> None:
            if key is not None:
                self._send(choices[int(key)])

        items = [(str(index), choice.label) for index, choice in enumerate(choices)]
        self.app.push_screen(ChoiceScreen("Send from inside the lab", items, "0"), chosen)

    def _send(self, choice: TrafficChoice) -> None:
        if not choice.ask_to:
            self.status.activity = f"{choice.label}…"
            self.send(choice, None)
            return

        def answered(address: str | None) -> None:
            if address:
                self.last_address = address
                self.status.activity = f"ping {address}…"
                self.send(choice, address)

        question = "Ping which address (from inside the lab)?"
        self.app.push_screen(
            AskScreen(question, placeholder="e.g. fc00:dead:cafe:2::2", value=self.last_address),
            answered,
        )

    @work(thread=True, exclusive=True, group="ping", exit_on_error=False)
    def send(self, choice: TrafficChoice, to: str | None) -> None:
        self.post_message(TrafficSent(self.workbench.send_traffic(choice, to)))

    def on_traffic_sent(self, message: TrafficSent) -> None:
        outcome = message.outcome
        self.status.activity = ""
        answered_all = outcome.answered is None or outcome.answered == outcome.sent
        self.say(outcome.summary, "green" if answered_all else "yellow")

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
