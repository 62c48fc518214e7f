"""Packet workbench: run the lesson's program on one crafted frame, keep frames as cases.

A self-contained pane. Type a spec (`icmp6-echo:seq=2`, `udp4:dport=53,vlan=5`,
`icmp6-echo:seq=2,truncate=57`, `pcap:FILE#N`; see engine.packetspec) and
press enter: a thread worker builds the program, runs a private copy of it on
the frame with BPF_PROG_TEST_RUN and the pane shows the verdict, the frame
out, the bytes that changed, the map entries that changed and ns per run.

`ctrl+t` keeps the frame as a named case (saved beside the learner's copy
of the program), `ctrl+r` reruns every saved case: the learner's own
regression tests. `program()` tells the pane which source and function to run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from xdp_tui.errors import XdpTuiError
from xdp_tui.widgets.packets import VERDICT_STYLES
from xdp_tui.widgets.plain_table import PlainTable

if TYPE_CHECKING:
    from xdp_tui.engine.testrun import SavedCase, TestRunner, TestRunResult


@dataclass(frozen=True)
class RunTarget:
    """What the pane runs: the learner's C source, its XDP function (None: the only one),
    and where its object goes (None: beside the source; the TUI gives its run folder)."""

    source: Path | None
    program: str | None = None
    build_to: Path | None = None
    defaults: Mapping[str, str] | None = None  # the lab's addresses (packetspec.lab_defaults)


NO_TARGET = RunTarget(None)
MAX_REPEAT_TYPED = 1_000_000


@dataclass(frozen=True)
class CaseOutcome:
    case: SavedCase
    verdict: str  # "XDP_PASS"..., or "error: ..." when the spec or run failed


class PacketWorkbench(Vertical):
    DEFAULT_CSS = """
    PacketWorkbench { height: 1fr; }
    PacketWorkbench #wb-inputs { height: 3; }
    PacketWorkbench #wb-spec { width: 3fr; }
    PacketWorkbench #wb-repeat { width: 12; }
    PacketWorkbench #wb-name { width: 2fr; }
    PacketWorkbench #wb-result-box { height: 2fr; background: $surface; }
    PacketWorkbench #wb-cases { height: 1fr; }
    """
    BINDINGS = [
        Binding("ctrl+t", "keep_case", "Keep case", tooltip="Save this frame as a named case"),
        Binding("ctrl+r", "rerun_cases", "Rerun cases", tooltip="Run every saved case again"),
        Binding("escape", "leave_inputs", "Leave", tooltip="Back to the workshop's keys"),
    ]

    class Ran(Message):
        def __init__(self, spec: str, result: TestRunResult | None, error: str = "") -> None:
            super().__init__()
            self.spec = spec
            self.result = result
            self.error = error

    class CasesRan(Message):
        def __init__(self, outcomes: list[CaseOutcome], note: str, error: bool = False) -> None:
            super().__init__()
            self.outcomes = outcomes
            self.note = note
            self.error = error

    def __init__(
        self,
        program: Callable[[], RunTarget] | None = None,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.program = program or (lambda: NO_TARGET)
        self.last: TestRunResult | None = None
        self.outcomes: list[CaseOutcome] = []

    def focus_spec(self) -> None:
        """Put the cursor in the frame's spec (when the tab is shown)."""
        self.query_one("#wb-spec", Input).focus()

    def on_mount(self) -> None:
        self.show_saved_cases()

    def show_saved_cases(self) -> None:
        """List the lesson's saved cases (not run: ctrl+r runs them) as soon as the tab is
        shown, not only after the first ctrl+r."""
        self._list_saved()

    @work(thread=True, exclusive=True, group="wb-cases", exit_on_error=False)
    def _list_saved(self) -> None:
        from xdp_tui.engine.testrun import load_cases

        path = self._cases_file()
        try:
            cases = load_cases(path) if path is not None else []
        except XdpTuiError as exc:
            self.post_message(self.CasesRan([], exc.render("tui"), error=True))
            return
        self.post_message(self.CasesRan(self._outcomes_of(cases), ""))

    def action_leave_inputs(self) -> None:
        self.screen.set_focus(None)  # the workshop's one-letter keys work again

    def compose(self) -> ComposeResult:
        with Horizontal(id="wb-inputs"):
            yield Input(placeholder="packet: icmp6-echo:seq=2  (enter runs)", id="wb-spec")
            yield Input(value="1", placeholder="repeat", id="wb-repeat", type="integer")
            yield Input(placeholder="case name (ctrl+t keeps)", id="wb-name")
        with VerticalScroll(id="wb-result-box"):
            yield Static(_intro(), id="wb-result")
        table = PlainTable(id="wb-cases", cursor_type="row")
        table.add_column("Case", key="name")
        table.add_column("Packet", key="spec")
        table.add_column("Verdict", key="verdict")
        yield table

    # ---- running one frame -----------------------------------------------------

    @on(Input.Submitted, "#wb-spec")
    @on(Input.Submitted, "#wb-repeat")
    def run_typed(self) -> None:
        spec = self.query_one("#wb-spec", Input).value.strip()
        if not spec:
            return
        self._show(Text("running…", style="dim"))
        self._run(spec, self._repeat())

    def _repeat(self) -> int:
        text = self.query_one("#wb-repeat", Input).value.strip()
        try:
            return min(max(int(text), 1), MAX_REPEAT_TYPED)
        except ValueError:
            return 1

    @work(thread=True, exclusive=True, group="wb-run", exit_on_error=False)
    def _run(self, spec: str, repeat: int) -> None:
        from xdp_tui.engine.packetspec import frame_from_spec

        target = self.program()
        try:
            if target.source is None:
                raise XdpTuiError("no lesson program yet: open a lesson first")
            frame = frame_from_spec(spec, base=target.source.parent, defaults=target.defaults)
            with _open_runner(target, target.source) as runner:
                result = runner.run(frame, repeat)
        except XdpTuiError as exc:
            self.post_message(self.Ran(spec, None, exc.render("tui")))
            return
        self.post_message(self.Ran(spec, result))

    @on(Ran)
    def _ran(self, message: Ran) -> None:
        if message.result is None:
            self._show(Text(message.error, style="red"))
            return
        self.last = message.result
        self._show(result_text(message.spec, message.result))

    def _show(self, text: Text) -> None:
        self.query_one("#wb-result", Static).update(text)

    # ---- saved cases -------------------------------------------------------------

    def _cases_file(self) -> Path | None:
        from xdp_tui.engine.testrun import cases_path

        source = self.program().source
        return cases_path(source) if source is not None else None

    def action_keep_case(self) -> None:
        spec = self.query_one("#wb-spec", Input).value.strip()
        name = self.query_one("#wb-name", Input).value.strip() or spec
        if spec:
            self._keep(name, spec)

    @work(thread=True, exclusive=True, group="wb-cases", exit_on_error=False)
    def _keep(self, name: str, spec: str) -> None:
        from xdp_tui.engine.packetspec import frame_from_spec
        from xdp_tui.engine.testrun import SavedCase, load_cases, save_cases

        path = self._cases_file()
        try:
            if path is None:
                raise XdpTuiError("no lesson program yet: open a lesson first")
            frame_from_spec(spec, base=path.parent)  # a bad spec is refused now, not at rerun
            cases = [c for c in load_cases(path) if c.name != name] + [SavedCase(name, spec)]
            save_cases(path, cases)
        except XdpTuiError as exc:
            self.post_message(self.Ran(spec, None, exc.render("tui")))
            return
        self.post_message(self.CasesRan(self._outcomes_of(cases), f"kept case {name!r} in {path}"))

    def _outcomes_of(self, cases: list[SavedCase]) -> list[CaseOutcome]:
        known = {o.case: o.verdict for o in self.outcomes}
        return [CaseOutcome(c, known.get(c, "")) for c in cases]

    def action_rerun_cases(self) -> None:
        self._show(Text("running every saved case…", style="dim"))
        self._rerun()

    @work(thread=True, exclusive=True, group="wb-cases", exit_on_error=False)
    def _rerun(self) -> None:
        from xdp_tui.engine.testrun import load_cases

        target = self.program()
        path = self._cases_file()
        try:
            if target.source is None or path is None:
                raise XdpTuiError("no lesson program yet: open a lesson first")
            cases = load_cases(path)
            with _open_runner(target, target.source) as runner:
                outcomes = [_run_case(runner, c, path.parent, target.defaults) for c in cases]
        except XdpTuiError as exc:
            self.post_message(self.CasesRan([], exc.render("tui"), error=True))
            return
        self.post_message(self.CasesRan(outcomes, f"ran {len(outcomes)} saved case(s)"))

    @on(CasesRan)
    def _cases_ran(self, message: CasesRan) -> None:
        if message.error:
            self._show(Text(message.note, style="red"))
            return
        self.outcomes = message.outcomes
        table = self.query_one("#wb-cases", DataTable)
        table.clear()
        for outcome in self.outcomes:
            style = VERDICT_STYLES.get(outcome.verdict, "red" if outcome.verdict else "")
            table.add_row(outcome.case.name, outcome.case.spec, Text(outcome.verdict, style=style))
        if message.note:  # listing the saved cases leaves the result (or the intro) shown
            self._show(Text(message.note, style="dim"))


def _open_runner(target: RunTarget, source: Path) -> TestRunner:
    from xdp_tui.engine.testrun import TestRunner

    return TestRunner.open(source, program=target.program, build_to=target.build_to)


def _run_case(
    runner: TestRunner, case: SavedCase, base: Path, defaults: Mapping[str, str] | None
) -> CaseOutcome:
    from xdp_tui.engine.packetspec import frame_from_spec

    try:
        result = runner.run(frame_from_spec(case.spec, base=base, defaults=defaults))
    except XdpTuiError as exc:
        return CaseOutcome(case, f"error: {exc.message}")
    return CaseOutcome(case, result.verdict_name)


def _intro() -> Text:
    from xdp_tui.engine.packetspec import SPEC_HELP

    return Text(
        "Run your program on one frame (BPF_PROG_TEST_RUN on a private copy: the lab is untouched).\n"
        + SPEC_HELP
        + "\nfields: seq, id, sport, dport, flags, vlan, qinq, src, dst, smac, dmac, hops,"
        + " payload, truncate (cut the frame), iplen (a wrong IP length: a malformed header)",
        style="dim",
    )


def result_text(spec: str, result: TestRunResult) -> Text:
    """Verdict, ns/run, frame in and out, changed bytes and map entries."""
    from xdp_tui.engine.dissect import byte_diff, changed_offsets, hexdump_lines, summary

    out = Text()
    out.append(result.verdict_name, style=VERDICT_STYLES.get(result.verdict_name, "yellow"))
    runs = f" over {result.repeat} runs" if result.repeat > 1 else ""
    out.append(f"  (retval {result.retval})  {result.duration_ns} ns/run{runs}\n")
    out.append(f"packet {spec}\n", style="dim")
    out.append(f"in:  {len(result.data_in):>5} B  {summary(result.data_in)}\n")
    out.append(f"out: {len(result.data_out):>5} B  {summary(result.data_out)}\n")
    changes = byte_diff(result.data_in, result.data_out)
    if changes:
        out.append("changed:\n", style="bold yellow")
        for change in changes:
            out.append(f"  {change.describe()}\n")
        for line in hexdump_lines(result.data_out, changed_offsets(changes)):
            out.append(line + "\n")
    else:
        out.append("the bytes are unchanged\n", style="dim")
    if result.map_changes:
        out.append("maps:\n", style="bold")
        for mc in result.map_changes:
            out.append(f"  {mc.describe()}\n")
    return out
