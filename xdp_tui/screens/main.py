"""The workshop screen: lessons on the left, README / source / live / lab / object / activity tabs.

Every action that blocks (clang, netlink, the kernel, checks, traffic) runs
in a thread worker that calls the `Workbench` and posts a message back;
handlers here only touch widgets. Failures of any worker arrive in
`on_worker_state_changed` and are shown by `show_problem`.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.lazy import Lazy
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from xdp_tui.screens import messages as msg
from xdp_tui.screens.chooser import ChoiceScreen
from xdp_tui.screens.confirm import ConfirmScreen
from xdp_tui.screens.editor import EditorScreen
from xdp_tui.screens.leftovers import LeftoversScreen
from xdp_tui.screens.problems import describe, guarded
from xdp_tui.screens.solution import SolutionScreen
from xdp_tui.widgets.activity_log import ActivityLog
from xdp_tui.widgets.fallbacks import make_pane
from xdp_tui.widgets.key_bar import KeyBar
from xdp_tui.widgets.lesson_browser import LessonBrowser
from xdp_tui.widgets.packet_workbench import PacketWorkbench
from xdp_tui.widgets.packets import PacketsPane
from xdp_tui.widgets.problem_panel import ProblemPanel
from xdp_tui.widgets.readme_view import ReadmeView
from xdp_tui.widgets.source_view import SourceView
from xdp_tui.widgets.status_line import StatusLine
from xdp_tui.workbench import Workbench

SAMPLE_PERIOD_S = 0.25  # 4 Hz
LAB_EVERY_N_SAMPLES = 4  # the lab diagram (when shown) refreshes once a second
LAB_STATUS_MAX_AGE_S = 10.0  # the lab itself (a netlink dump) changes rarely
# Paced streams are sent by a Python thread of this process; "max" lets the kernel
# repeat the frame when the lab's outer end runs native XDP (testenv.live_frames).
STREAM_RATES = [
    ("100", "100 packets/s"),
    ("1000", "1 000 packets/s"),
    ("10000", "10 000 packets/s"),
    ("100000", "100 000 packets/s"),
    ("max", "as fast as possible (Mpps on a native attach)"),
]
README_DELAY_S = 0.15  # a README is rendered once the lesson highlight stops moving
TOC_MIN_WIDTH = 110  # below this the README's table of contents starts hidden


def _b(
    key: str, action: str, description: str, tooltip: str, *, show: bool = True, name: str = ""
) -> Binding:
    """A binding with an id (workshop.<name>), so users can rebind it with App.set_keymap."""
    return Binding(
        key, action, description, show=show, tooltip=tooltip, id=f"workshop.{name or action}"
    )


class WorkshopScreen(Screen[None]):
    BINDING_GROUP_TITLE = "Workshop"
    BINDINGS = [
        _b("question_mark,f1", "app.help", "Help", "All keys and what they do", name="help"),
        _b("q", "app.quit", "Quit", "Detach what this session attached and leave", name="quit"),
        _b("b", "build_attach", "Build", "Build the lesson's program and attach it to the lab"),
        _b("d", "detach", "Detach", "Detach the program this session attached"),
        _b("m", "cycle_mode", "Mode", "Cycle the XDP mode: auto, native, skb (generic)"),
        _b("P", "choose_program", "Prog", "Choose which program of the object to attach"),
        _b("c", "check", "Check", "Run the check of the current assignment"),
        _b("p", "ping", "Ping", "Ping the outer side from inside the lab"),
        _b("t", "stream", "Stream", "Start or stop a UDP stream from inside the lab"),
        _b("e", "edit", "Edit", "Edit the source in $EDITOR (or in the app)"),
        _b("E", "edit_here", "In-app edit", "Edit the source inside the app (ctrl+s saves)"),
        _b("r", "reset", "Reset", "Reset your source to the lesson's starter"),
        _b("S", "solution", "Solution", "Show the lesson's solution"),
        _b("o", "show_object", "Object", "Inside the object: sections, maps, instructions"),
        _b("l", "show_lab", "Lab", "The lab at a glance"),
        _b("1", "tab('readme')", "README", "Show the lesson text", show=False, name="readme"),
        _b("2", "tab('source')", "Source", "Show your source", show=False, name="source"),
        _b("3", "tab('live')", "Live", "Live counters and rates", show=False, name="live"),
        _b("4", "tab('lab')", "Lab tab", "The lab diagram", show=False, name="lab_tab"),
        _b("5", "tab('object')", "Object tab", "The object view", show=False, name="object_tab"),
        _b("6", "tab('activity')", "Activity", "What the session did", show=False, name="activity"),
        _b(
            "7", "tab('packets')", "Packets", "Every packet at the hook", show=False, name="packets"
        ),
        _b("8", "tab('packet-bench')", "Run frame", "Run the program on one frame", show=False),
        _b("f2", "toggle_lessons", "Lessons", "Show or hide the lesson list", show=False),
        _b("f3", "toggle_toc", "Contents", "Show or hide the README's contents", show=False),
        _b("A", "check_all", "Check all", "Run the checks of every assignment", show=False),
    ]

    def __init__(self, workbench: Workbench) -> None:
        super().__init__()
        self.workbench = workbench
        self.lessons: list[Any] = []
        self.passed: dict[str, set[str]] = {}
        self.lesson: Any | None = None
        self.source_path: Path | None = None
        self.chosen_program: dict[str, str] = {}
        self._sampling = False
        self._sample_shown = threading.Event()
        self.last_sample: dict[str, Any] | None = None
        self.active_tab = "readme"
        self._fed_sample: dict[str, Any] | None = None
        self._lab_shown: tuple[Any, ...] | None = None
        self._streaming = False
        self._toc_choice: bool | None = None
        self._started = False
        self._readme_timer: Timer | None = None

    # ---- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Horizontal(id="body"):
            yield LessonBrowser(id="lessons")
            with TabbedContent(id="tabs", initial="readme"):
                with TabPane("README", id="readme"):
                    yield ReadmeView(id="readme-view")
                with TabPane("Source", id="source"), Vertical():
                    yield SourceView(id="source-view")
                    yield ProblemPanel(id="problem")
                # Hidden at start: mounted after the first frame (Lazy) so it comes sooner.
                with TabPane("Live", id="live"):
                    yield Lazy(
                        Vertical(
                            make_pane("stats", id="live-stats"),
                            make_pane("monitor", id="monitor-pane"),
                        )
                    )
                with TabPane("Lab", id="lab"):
                    yield Lazy(make_pane("lab", id="lab-diagram"))
                with TabPane("Object", id="object"):
                    yield Lazy(make_pane("object", id="object-view"))
                with TabPane("Activity", id="activity"):
                    yield ActivityLog(id="activity-log")
                with TabPane("Packets", id="packets"):
                    yield Lazy(PacketsPane(lambda: self.workbench.lab_name, id="packets-pane"))
                with TabPane("Run frame", id="packet-bench"):
                    yield Lazy(PacketWorkbench(self._program_to_run, id="packet-bench-pane"))
        yield KeyBar(self.BINDINGS, id="keys")

    def _program_to_run(self) -> tuple[Path | None, str | None]:
        """For the packet workbench (from its worker): the learner's source and chosen function."""
        lesson = self.lesson
        program = self.chosen_program.get(lesson.id) if lesson is not None else None
        return self.source_path, program or (lesson.default_program if lesson else None)

    def on_mount(self) -> None:
        status = self.status
        status.lab = self.workbench.requested_lab or "…"  # the current lab: from a worker
        status.mode = self.workbench.mode
        self.query_one(LessonBrowser).focus()
        self.call_after_refresh(self._start_up)  # the first frame first, then the content

    def _start_up(self) -> None:
        self.load_lessons()  # the lab and leftover checks follow the first README

    def _after_first_lesson(self) -> None:
        """Start-up work that loads netlink and libbpf: once the first lesson is on screen."""
        if not self._started:
            self._started = True
            self.refresh_lab()
            self.find_leftovers()

    def on_resize(self) -> None:
        readme = self.pane("#readme-view")
        if self._toc_choice is None and readme is not None:
            readme.show_table_of_contents = self.size.width >= TOC_MIN_WIDTH

    # ---- handy accessors ----------------------------------------------------------------

    @property
    def status(self) -> StatusLine:
        return self.query_one(StatusLine)

    @property
    def readme(self) -> ReadmeView:
        return self.query_one(ReadmeView)

    @property
    def source(self) -> SourceView:
        return self.query_one("#source-view", SourceView)

    @property
    def activity(self) -> ActivityLog:
        return self.query_one(ActivityLog)

    def pane(self, selector: str) -> Any | None:
        """A pane widget, or None while it is not mounted yet (Lazy)."""
        try:
            return self.query_one(selector)
        except NoMatches:
            return None

    def say(self, text: str, style: str = "") -> None:
        self.activity.say(text, style)

    def switch_tab(self, tab: str) -> None:
        self.query_one("#tabs", TabbedContent).active = tab

    def _need_lesson(self) -> Any | None:
        if self.lesson is None:
            self.notify("no lesson selected", severity="warning")
        return self.lesson

    # ---- lessons -------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="lessons", exit_on_error=False)
    def load_lessons(self) -> None:
        lessons = self.workbench.lessons()
        self.post_message(msg.LessonsLoaded(lessons, self.workbench.passed(lessons)))

    def on_lessons_loaded(self, message: msg.LessonsLoaded) -> None:
        self.lessons, self.passed = message.lessons, message.passed
        browser = self.query_one(LessonBrowser)
        browser.set_lessons(self.lessons, self.passed)
        if not self.lessons:
            self.say("no lessons found", "yellow")
            self._after_first_lesson()

    @on(LessonBrowser.Chosen)
    def show_lesson(self, event: LessonBrowser.Chosen) -> None:
        if self.lesson is not None and self.lesson.id == event.lesson.id:
            return
        self.lesson = event.lesson
        self.status.lesson = event.lesson.id
        self.query_one(ProblemPanel).clear_problem()
        self.load_source(event.lesson)
        # A README takes a while to lay out: wait until the highlight rests, and let a
        # newer choice cancel an older rendering (moving down the list stays fluid).
        if self._readme_timer is not None:
            self._readme_timer.stop()
        self._readme_timer = self.set_timer(README_DELAY_S, self._render_readme)

    def _render_readme(self) -> None:
        if self.lesson is not None:
            path = self.workbench.readme_path(self.lesson)
            self.run_worker(self._readme_worker(path), exclusive=True, group="readme")
            self.warm_compiler(self.lesson)  # the highlight rests here: a build may follow

    @work(thread=True, exclusive=True, group="warm", exit_on_error=False)
    def warm_compiler(self, lesson: Any) -> None:
        """Start the lesson's clang now, so its first build skips clang's start-up."""
        self.workbench.prepare_build(lesson)

    async def _readme_worker(self, path: Path) -> None:
        await self.readme.show_readme(path)
        self._after_first_lesson()

    def go_to_lesson(self, lesson_id: str) -> None:
        self.query_one(LessonBrowser).select_id(lesson_id)

    @work(thread=True, exclusive=True, group="source", exit_on_error=False)
    def load_source(self, lesson: Any, *, reset: bool = False) -> None:
        path = self.workbench.reset_source(lesson) if reset else self.workbench.source_path(lesson)
        self.post_message(msg.SourceLoaded(lesson.id, path, path.read_text()))

    def on_source_loaded(self, message: msg.SourceLoaded) -> None:
        if self.lesson is None or message.lesson_id != self.lesson.id:
            return
        self.source_path = Path(message.path)
        self.source.show_text(message.text, self.source_path)
        self.source.border_title = self.source_path.name

    @on(ReadmeView.SourceLink)
    def open_linked_source(self, event: ReadmeView.SourceLink) -> None:
        if self.source_path is not None and event.path.name == self.source_path.name:
            self.switch_tab("source")
        elif event.path.is_file():
            self.app.push_screen(SolutionScreen(event.path))
        else:
            self.notify(f"{event.path.name}: no such file here", severity="warning")

    # ---- build and attach ----------------------------------------------------------------

    def action_build_attach(self) -> None:
        lesson = self._need_lesson()
        if lesson is not None:
            self.query_one(ProblemPanel).clear_problem()
            self.build_attach(lesson, self.chosen_program.get(lesson.id))

    @work(thread=True, exclusive=True, group="attach", exit_on_error=False)
    def build_attach(self, lesson: Any, program: str | None) -> None:
        def progress(text: str) -> None:
            self.post_message(msg.Progress(text))

        attached = self.workbench.build_and_attach(lesson, program, progress)
        self.post_message(msg.Attached(attached, self.workbench.notes()))
        self._post_lab()

    def on_progress(self, message: msg.Progress) -> None:
        self.status.activity = message.text
        if message.text:
            self.say(message.text, "bright_black")

    def on_attached(self, message: msg.Attached) -> None:
        attached = message.attached
        status = self.status
        status.activity = ""
        status.program, status.prog_id, status.attached_mode = (
            attached.program, attached.prog_id, attached.mode,
        )  # fmt: skip
        self.say(f"attached {attached.program} (id {attached.prog_id}) to {attached.dev} "
                 f"in {attached.mode} mode", "green")  # fmt: skip
        for note in message.notes:
            self.say(f"note: {note}", "yellow")
        self.notify(f"{attached.program} attached to {attached.dev} ({attached.mode})")
        self._reload_source()  # the workspace may have been created by the build
        self.start_monitor()
        self._start_sampling()

    def action_detach(self) -> None:
        self.detach()

    @work(thread=True, exclusive=True, group="attach", exit_on_error=False)
    def detach(self) -> None:
        self.post_message(msg.Detached(self.workbench.detach()))
        self._post_lab()

    def on_detached(self, message: msg.Detached) -> None:
        self._sync_attached_status()
        self.say("detached" if message.was_attached else "nothing was attached")

    def _sync_attached_status(self) -> None:
        attached = self.workbench.attached
        status = self.status
        if attached is None:
            status.prog_id, status.program, status.attached_mode = 0, "", ""
        else:
            status.prog_id, status.program = attached.prog_id, attached.program
            status.attached_mode = attached.mode

    def action_cycle_mode(self) -> None:
        mode = self.workbench.cycle_mode()
        self.status.mode = mode
        if self.workbench.attached is not None and self.lesson is not None:
            self.say(f"mode {mode}: attaching again")
            self.build_attach(self.lesson, self.chosen_program.get(self.lesson.id))
        else:
            self.notify(f"mode {mode}: used at the next attach")

    def action_choose_program(self) -> None:
        lesson = self._need_lesson()
        if lesson is None:
            return
        if lesson.programs:
            self._ask_program(lesson, list(lesson.programs))
        else:
            self.list_programs(lesson)

    @work(thread=True, exclusive=True, group="attach", exit_on_error=False)
    def list_programs(self, lesson: Any) -> None:
        result = self.workbench.build(lesson, lambda text: self.post_message(msg.Progress(text)))
        self.post_message(msg.ProgramsListed(lesson.id, self.workbench.programs_in(result.obj)))

    def on_programs_listed(self, message: msg.ProgramsListed) -> None:
        self.status.activity = ""
        if self.lesson is not None and self.lesson.id == message.lesson_id:
            self._ask_program(self.lesson, message.programs)

    def _ask_program(self, lesson: Any, programs: list[str]) -> None:
        current = self.chosen_program.get(lesson.id) or lesson.default_program

        def chosen(program: str | None) -> None:
            if program:
                self.chosen_program[lesson.id] = program
                self.say(f"program {program} chosen for {lesson.id}")
                self.build_attach(lesson, program)

        choices = [(name, name) for name in programs]
        self.app.push_screen(ChoiceScreen("Attach which program?", choices, current), chosen)

    # ---- live samples: one sampler loop, never two samples in flight ------------------------

    def _start_sampling(self) -> None:
        if not self._sampling:
            self._sampling = True
            self._sample_shown.set()
            self.sample_loop()

    @work(thread=True, exclusive=True, group="sample", exit_on_error=False)
    def sample_loop(self) -> None:
        """Sample at 4 Hz while something is attached.

        The next sample is taken only after the UI has shown the previous one
        (`_sample_shown`), so a slow terminal never gets a backlog of samples.
        """
        worker = get_current_worker()
        count = 0
        while not worker.is_cancelled:
            time.sleep(SAMPLE_PERIOD_S)
            if not self._sample_shown.wait(timeout=1.0):
                continue
            sample = self.workbench.sample()
            if sample is None:
                break  # detached
            self._sample_shown.clear()
            self.post_message(msg.SampleReady(sample))
            count += 1
            if self.active_tab == "lab" and count % LAB_EVERY_N_SAMPLES == 0:
                self._post_lab(lab_max_age=LAB_STATUS_MAX_AGE_S)
        self.post_message(msg.SampleReady(None))

    def on_sample_ready(self, message: msg.SampleReady) -> None:
        sample = message.sample
        if sample is None:  # the loop ended; a new attach may have raced it
            self._sampling = False
            self._resume_sampling()
            return
        self.last_sample = sample
        if self.active_tab == "live":  # hidden panes are fed when shown: no wasted redraws
            self._feed_live(sample)
        self._sample_shown.set()

    @guarded
    def _feed_live(self, sample: dict[str, Any]) -> None:
        stats, monitor = self.pane("#live-stats"), self.pane("#monitor-pane")
        if stats is None or monitor is None:
            return  # not mounted yet (Lazy); the next sample will do
        if _same_numbers(sample, self._fed_sample):
            return  # nothing moved: no redraw
        self._fed_sample = sample
        stats.update_sample(sample)
        if sample.get("exceptions"):
            monitor.add_events(sample["exceptions"])  # type: ignore[attr-defined]
        if sample.get("trace"):
            monitor.add_lines(sample["trace"])  # type: ignore[attr-defined]

    @on(TabbedContent.TabActivated, "#tabs")
    def tab_shown(self, event: TabbedContent.TabActivated) -> None:
        self.active_tab = event.pane.id or ""
        if self.active_tab == "live" and self.last_sample is not None:
            self.call_after_refresh(self._feed_live, self.last_sample)
        elif self.active_tab == "lab":
            self.refresh_lab()

    @work(thread=True, exclusive=True, group="monitor", exit_on_error=False)
    def start_monitor(self) -> None:
        note = self.workbench.start_monitor()
        if note:
            self.post_message(msg.Notice(note, "bright_black"))

    # ---- lab and object -------------------------------------------------------------------

    def _post_lab(self, lab_max_age: float = 0.0) -> None:
        """From a worker thread: the lab's state for the status line and the diagram."""
        wb = self.workbench
        lab = wb.lab_status(max_age=lab_max_age)
        self.post_message(
            msg.LabChanged(lab, wb.attach_status(), wb.inner_attach_status(), wb.lab_name)
        )

    @work(thread=True, exclusive=True, group="lab", exit_on_error=False)
    def refresh_lab(self) -> None:
        self._post_lab()

    @guarded
    def on_lab_changed(self, message: msg.LabChanged) -> None:
        lab = message.lab_status
        if message.lab_name:
            self.status.lab = message.lab_name
        shown = (lab, message.attach_status, message.inner_status)
        if shown == self._lab_shown:
            return  # unchanged: spare the diagram a relayout
        self._lab_shown = shown
        self.status.lab_state = "" if lab else "not created yet"
        if lab is not None and not lab.get("healthy", True):
            self.status.lab_state = "unhealthy"
        diagram = self.pane("#lab-diagram")
        if diagram is None:
            self._lab_shown = None  # try again once it is mounted
            return
        if message.inner_status is not None:
            diagram.update_lab(lab, message.attach_status, message.inner_status)  # type: ignore[attr-defined]
        else:
            diagram.update_lab(lab, message.attach_status)  # type: ignore[attr-defined]

    def action_show_lab(self) -> None:
        self.switch_tab("lab")

    def action_show_object(self) -> None:
        lesson = self._need_lesson()
        if lesson is not None:
            self.switch_tab("object")
            self.load_object(lesson)

    @work(thread=True, exclusive=True, group="object", exit_on_error=False)
    def load_object(self, lesson: Any) -> None:
        self.post_message(msg.Progress(f"reading the object of {lesson.id}…"))
        info = self.workbench.object_info(lesson)
        attached = self.workbench.attached
        xlated = None
        if attached is not None and attached.lesson_id == lesson.id:
            xlated = self.workbench.loaded_code()
        self.post_message(msg.ObjectInfoReady(info, xlated[1] if xlated else None))

    @guarded
    def on_object_info_ready(self, message: msg.ObjectInfoReady) -> None:
        self.status.activity = ""
        view = self.pane("#object-view")
        if view is None:
            return
        view.show_object(message.info)  # type: ignore[attr-defined]
        if hasattr(view, "show_xlated"):
            view.show_xlated(message.xlated)

    def action_tab(self, tab: str) -> None:
        self.switch_tab(tab)

    def action_toggle_lessons(self) -> None:
        browser = self.query_one(LessonBrowser)
        browser.display = not browser.display

    def action_toggle_toc(self) -> None:
        self._toc_choice = not self.readme.show_table_of_contents
        self.readme.show_table_of_contents = self._toc_choice

    # ---- traffic -------------------------------------------------------------------------

    def action_ping(self) -> None:
        self.status.activity = "ping…"
        self.ping()

    @work(thread=True, exclusive=True, group="ping", exit_on_error=False)
    def ping(self) -> None:
        self.post_message(msg.PingDone(self.workbench.ping()))

    def on_ping_done(self, message: msg.PingDone) -> None:
        result = message.result
        self.status.activity = ""
        seqs = " ".join(str(seq) for seq in result.answered_seqs) or "none"
        text = f"ping: {result.received}/{result.sent} answered (seq {seqs})"
        style = "green" if result.received == result.sent else "yellow"
        self.say(text, style)
        self.notify(text, severity="information" if style == "green" else "warning")

    def action_stream(self) -> None:
        if self._streaming:
            self.workbench.stop_stream()
            self.status.activity = "stopping stream…"
            return

        def chosen(rate: str | None) -> None:
            if rate is not None:
                self._streaming = True
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
            self._streaming = False
        self.post_message(msg.StreamStopped(total))

    def on_stream_stopped(self, message: msg.StreamStopped) -> None:
        self.status.activity = ""
        self.say(f"stream stopped: {message.total} frames sent")

    # ---- checks -------------------------------------------------------------------------

    def action_check(self) -> None:
        lesson = self._need_lesson()
        if lesson is None:
            return
        assignment = self.workbench.current_assignment(lesson, self.passed.get(lesson.id, set()))
        what = f"assignment {assignment.id}" if assignment is not None else "all assignments"
        self.status.activity = f"checking {what} of {lesson.id}…"
        self.run_check(lesson, assignment)

    def action_check_all(self) -> None:
        lesson = self._need_lesson()
        if lesson is not None:
            self.status.activity = f"checking every assignment of {lesson.id}…"
            self.run_check(lesson, None)

    @work(thread=True, exclusive=True, group="check", exit_on_error=False)
    def run_check(self, lesson: Any, assignment: Any | None) -> None:
        outcomes = self.workbench.run_check(lesson, assignment)
        self.post_message(msg.ChecksDone(lesson.id, outcomes))
        lessons = self.workbench.lessons()
        self.post_message(msg.LessonsLoaded(lessons, self.workbench.passed(lessons)))

    def on_checks_done(self, message: msg.ChecksDone) -> None:
        self.status.activity = ""
        for outcome in message.outcomes:
            head = f"{message.lesson_id} #{outcome.assignment} {outcome.title}"
            if outcome.passed:
                self.say(f"✔ PASS {head}: {outcome.detail}", "green")
                self.notify(f"{head}: passed", title="Check")
            else:
                self.say(f"✘ FAIL {head}: {outcome.detail}", "red")
                if outcome.hint:
                    self.say(f"  hint: {outcome.hint}", "yellow")
                self.notify(f"{head}: {outcome.detail}\nhint: {outcome.hint}",
                            title="Check failed", severity="error", timeout=10)  # fmt: skip

    # ---- edit, reset, solution --------------------------------------------------------------

    def action_edit(self) -> None:
        if self.source_path is None:
            self.notify("the lesson's source is still loading", severity="warning")
            return
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            self.action_edit_here()
            return
        try:
            with self.app.suspend():
                subprocess.run([*shlex.split(editor), str(self.source_path)], check=False)
        except SuspendNotSupported:
            self.action_edit_here()
            return
        except OSError as exc:
            self.notify(f"cannot run {editor}: {exc.strerror}", severity="error")
            return
        self._reload_source()

    def action_edit_here(self) -> None:
        if self.source_path is None:
            self.notify("the lesson's source is still loading", severity="warning")
            return

        def closed(saved: bool | None) -> None:
            if saved:
                self._reload_source()

        self.app.push_screen(EditorScreen(self.source_path), closed)

    def _reload_source(self) -> None:
        if self.lesson is not None:
            self.load_source(self.lesson)

    def action_reset(self) -> None:
        lesson = self._need_lesson()
        if lesson is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.load_source(lesson, reset=True)
                self.say(f"{lesson.id}: source reset to the starter")

        question = (
            f"Replace your {lesson.source_name} with the lesson's starter? Your changes are lost."
        )
        self.app.push_screen(ConfirmScreen(question, yes="Reset"), answered)

    def action_solution(self) -> None:
        lesson = self._need_lesson()
        if lesson is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.push_screen(SolutionScreen(self.workbench.solution_path(lesson)))

        question = "Show the solution? Trying a little longer teaches more."
        self.app.push_screen(ConfirmScreen(question, yes="Show it"), answered)

    # ---- leftovers ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="leftovers", exit_on_error=False)
    def find_leftovers(self) -> None:
        found = self.workbench.leftovers()
        if found:
            self.post_message(msg.LeftoversFound(found))

    def on_leftovers_found(self, message: msg.LeftoversFound) -> None:
        for item in message.leftovers:
            self.say(f"left over: {item.describe()}", "yellow")

        def answered(clean: bool | None) -> None:
            if clean:
                self.clean_leftovers(message.leftovers)

        self.app.push_screen(LeftoversScreen(message.leftovers), answered)

    @work(thread=True, exclusive=True, group="leftovers", exit_on_error=False)
    def clean_leftovers(self, leftovers: list[Any]) -> None:
        for line in self.workbench.cleanup(leftovers) or ["nothing to clean"]:
            self.post_message(msg.Notice(line, "green"))
        self._post_lab()

    def on_notice(self, message: msg.Notice) -> None:
        self.say(message.text, message.style)
        if message.toast:
            self.notify(message.text)

    # ---- failures -------------------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.ERROR and worker.error is not None:
            self.show_problem(worker.error, worker.group)
        if event.state == WorkerState.ERROR and worker.group == "sample":
            self._sampling = False
            self.set_timer(1.0, self._resume_sampling)  # keep sampling after a hiccup

    def _resume_sampling(self) -> None:
        if self.workbench.attached is not None:
            self._start_sampling()

    def show_problem(self, exc: BaseException, group: str = "") -> None:
        """The one place a failure becomes words on the screen."""
        self.status.activity = ""
        if group == "stream":
            self._streaming = False
        if group == "attach":  # a failed re-attach has detached the previous program
            self._sync_attached_status()
            self.refresh_lab()
        problem = describe(exc)
        self.say(problem.title, "red")
        for text, _style in problem.lines:
            self.say(f"  {text}", "red")
        if problem.hint:
            self.say(f"  hint: {problem.hint}", "yellow")
        if group == "sample":
            return  # a failed sample is retried; the log is enough
        if problem.in_source:
            self._point_at(problem)
        body = problem.title + (f"\nhint: {problem.hint}" if problem.hint else "")
        self.notify(body, title="Error", severity="error", timeout=10)

    @guarded
    def _point_at(self, problem: Any) -> None:
        """Show the source with the failing line selected and the explanation under it."""
        self.query_one(ProblemPanel).show_problem(problem.title, problem.lines, problem.hint)
        self.switch_tab("source")
        same_file = (
            self.source_path is not None
            and (problem.file is None or Path(problem.file).name == self.source_path.name)
        )  # fmt: skip
        if same_file and self.source_path is not None:
            self.source.show_text(self.source_path.read_text(), self.source_path)
            self.source.point_at(problem.line or 1, problem.column)


def _same_numbers(sample: dict[str, Any], before: dict[str, Any] | None) -> bool:
    """SAMPLE shows exactly what BEFORE showed (only the timestamp moved)."""
    if before is None:
        return False
    return all(sample.get(key) == before.get(key) for key in sample.keys() | before.keys()
               if key != "time")  # fmt: skip
