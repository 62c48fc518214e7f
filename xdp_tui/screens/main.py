"""The workshop screen: lessons on the left, README / source / live / lab / object / activity tabs.

Layout and the few screen-wide keys (help, quit, tabs, the lesson list) live
here; every feature lives in a pane of `xdp_tui.screens.panes`:

    lessons    the lesson list, README and source; edit, reset, solution
    attach     build and attach, detach, mode, program choice
    live       the sampler loop feeding the Live tab (LiveStats, MonitorLog)
    lab        the lab's state (status line, Lab tab diagram)
    object     the Object tab
    traffic    ping and UDP streams from inside the lab
    checks     the assignments checklist (Tasks tab) and their checks
    guide      graduated hints, one assignment's solution part, the diff
    leftovers  what earlier sessions left, offered for cleaning

A pane is a non-visual widget that owns its thread workers (calling the
`Workbench`) and the messages they post back, and declares its keys in
`KEYS`. To add one: write its module and add its class to `PANES` below;
its keys join the screen's bindings (ids `workshop.<name>`) in that order.
Every failure of a worker reaches `show_problem`, the one place a failure
becomes words on the screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.lazy import Lazy
from textual.screen import Screen
from textual.widgets import TabbedContent, TabPane

from xdp_tui.engine.live import LiveSample
from xdp_tui.errors import XdpTuiError
from xdp_tui.screens.editor import EditorScreen
from xdp_tui.screens.panes.attach import AttachPane
from xdp_tui.screens.panes.base import Pane
from xdp_tui.screens.panes.checks import ChecksPane
from xdp_tui.screens.panes.guide import GuidePane
from xdp_tui.screens.panes.lab import LabPane
from xdp_tui.screens.panes.leftovers import LeftoversPane
from xdp_tui.screens.panes.lessons import LessonsPane
from xdp_tui.screens.panes.live import LivePane
from xdp_tui.screens.panes.messages import Notice, Progress
from xdp_tui.screens.panes.object import ObjectPane
from xdp_tui.screens.panes.traffic import TrafficPane
from xdp_tui.screens.problems import Problem, describe, marks_of_failure
from xdp_tui.widgets.activity_log import ActivityLog
from xdp_tui.widgets.checklist import Checklist
from xdp_tui.widgets.key_bar import KeyBar, bound_keys
from xdp_tui.widgets.lab_diagram import LabDiagram
from xdp_tui.widgets.lesson_browser import LessonBrowser
from xdp_tui.widgets.live_stats import LiveStats
from xdp_tui.widgets.monitor_log import MonitorLog
from xdp_tui.widgets.object_view import ObjectView
from xdp_tui.widgets.packet_workbench import PacketWorkbench, RunTarget
from xdp_tui.widgets.packets import PacketsPane
from xdp_tui.widgets.problem_panel import ProblemPanel
from xdp_tui.widgets.readme_view import ReadmeView
from xdp_tui.widgets.source_view import LineMark, SourceView
from xdp_tui.widgets.status_line import StatusLine
from xdp_tui.widgets.top_talkers import TopTalkers
from xdp_tui.workbench import Workbench

if TYPE_CHECKING:
    from xdp_tui.engine.verifier import VerifierReport
    from xdp_tui.lessons import Lesson

TOC_MIN_WIDTH = 110  # below this the README's table of contents starts hidden
TAB_PADDING = 2  # columns of a tab around its label (Textual's Tab: padding 0 1)

# The panes, in the order their keys are shown.
PANES: tuple[type[Pane], ...] = (
    AttachPane,
    ChecksPane,
    GuidePane,
    TrafficPane,
    LessonsPane,
    ObjectPane,
    LabPane,
    LivePane,
    LeftoversPane,
)

P = TypeVar("P", bound=Pane)


def _b(
    key: str, action: str, description: str, tooltip: str, *, show: bool = True, name: str = ""
) -> Binding:
    """A binding with an id (workshop.<name>), so users can rebind it with App.set_keymap."""
    return Binding(
        key, action, description, show=show, tooltip=tooltip, id=f"workshop.{name or action}"
    )


SCREEN_KEYS_FIRST = [
    _b("question_mark,f1", "app.help", "Help", "All keys and what they do", name="help"),
    _b("q", "app.quit", "Quit", "Detach what this session attached and leave", name="quit"),
]


@dataclass(frozen=True)
class TabSpec:
    """One tab of the workshop: its pane id, labels, and its digit key's help."""

    id: str
    label: str
    short: str  # when the full labels do not fit (80 columns beside the lesson list)
    key_description: str
    tooltip: str
    binding_name: str  # the binding id's last part (workshop.<name>), kept for keymaps


# Left to right as shown; the digit keys 1-9 follow this order.
TABS: tuple[TabSpec, ...] = (
    TabSpec("readme", "README", "Read", "README", "Show the lesson text", "readme"),
    TabSpec("source", "Source", "Src", "Source", "Show your source", "source"),
    TabSpec("tasks", "Tasks", "Tasks", "Tasks",
            "The assignments, your progress and check results", "tasks"),
    TabSpec("live", "Live", "Live", "Live", "Live counters and rates", "live"),
    TabSpec("lab", "Lab", "Lab", "Lab tab", "The lab diagram", "lab_tab"),
    TabSpec("object", "Object", "Obj", "Object tab", "The object view", "object_tab"),
    TabSpec("activity", "Activity", "Log", "Activity", "What the session did", "activity"),
    TabSpec("packets", "Packets", "Pkts", "Packets", "Every packet at the hook", "packets"),
    TabSpec("packet-bench", "Run frame", "Run", "Run frame", "Run the program on one frame",
            "tab('packet-bench')"),
)  # fmt: skip
TAB_LABELS = {tab.id: tab.label for tab in TABS}
TAB_KEYS_HELP = "1-9"  # the key bar's one entry for the tab keys

SCREEN_KEYS_LAST = [
    *(
        _b(str(digit), f"tab({tab.id!r})", tab.key_description, tab.tooltip, show=False,
           name=tab.binding_name)
        for digit, tab in enumerate(TABS, start=1)
    ),
    _b("f2", "toggle_lessons", "Lessons", "Show or hide the lesson list", show=False),
]  # fmt: skip


# The key bar's keys first, in pane order; then the hidden ones (the help screen lists
# every key in this order, which stays the one users knew).
WORKSHOP_KEYS: list[Binding] = [
    *SCREEN_KEYS_FIRST,
    *(key for pane in PANES for key in pane.KEYS if key.show),
    *SCREEN_KEYS_LAST,
    *(key for pane in reversed(PANES) for key in pane.KEYS if not key.show),
]


class WorkshopScreen(Screen[None]):
    BINDING_GROUP_TITLE = "Workshop"
    BINDINGS: ClassVar[list[BindingType]] = [*WORKSHOP_KEYS]

    def __init__(self, workbench: Workbench) -> None:
        super().__init__()
        self.workbench = workbench
        self.active_tab = "readme"
        self._focus_inside_next = True  # see switch_tab
        self._started = False
        self.build_marks: dict[Path, list[LineMark]] = {}  # the last build's, per source file
        self.last_refusal: VerifierReport | None = None  # for the verifier log view
        self._panes: dict[str, Pane] = {pane.NAME: pane(self) for pane in PANES}

    # ---- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Horizontal(id="body"):
            yield LessonBrowser(id="lessons")
            with TabbedContent(id="tabs", initial="readme"):
                with TabPane(TAB_LABELS["readme"], id="readme"):
                    yield ReadmeView(id="readme-view")
                with TabPane(TAB_LABELS["source"], id="source"), Vertical():
                    yield SourceView(id="source-view")
                    yield ProblemPanel(id="problem")
                with TabPane(TAB_LABELS["tasks"], id="tasks"):
                    yield Checklist(id="checklist")
                # Hidden at start: mounted after the first frame (Lazy) so it comes sooner.
                with TabPane(TAB_LABELS["live"], id="live"):
                    yield Lazy(
                        Vertical(
                            LiveStats(id="live-stats"),
                            TopTalkers(id="top-talkers"),
                            MonitorLog(id="monitor-pane"),
                        )
                    )
                with TabPane(TAB_LABELS["lab"], id="lab"):
                    yield Lazy(LabDiagram(id="lab-diagram"))
                with TabPane(TAB_LABELS["object"], id="object"):
                    yield Lazy(ObjectView(id="object-view"))
                with TabPane(TAB_LABELS["activity"], id="activity"):
                    yield ActivityLog(id="activity-log")
                with TabPane(TAB_LABELS["packets"], id="packets"):
                    yield Lazy(
                        PacketsPane(
                            lambda: self.workbench.lab_name,
                            samples_ring=self.workbench.samples_ring_fd,
                            id="packets-pane",
                        )
                    )
                with TabPane(TAB_LABELS["packet-bench"], id="packet-bench"):
                    yield Lazy(PacketWorkbench(self._program_to_run, id="packet-bench-pane"))
        yield KeyBar(WORKSHOP_KEYS, id="keys", extra=self._tab_keys_entry())
        yield from self._panes.values()

    def _tab_keys_entry(self) -> tuple[tuple[str, str], ...]:
        """The key bar's "1-9 Tabs", unless the learner moved the tab keys elsewhere."""
        keymap = getattr(self.app, "keymap_in_use", {})
        tab_keys = [b for b in SCREEN_KEYS_LAST if b.action.startswith("tab(")]
        if any(b.id in keymap for b in tab_keys):
            return ()
        return ((TAB_KEYS_HELP, "Tabs"),)

    def _fit_tab_labels(self) -> None:
        """Full tab labels where they fit, short ones where not (80 columns beside the lesson
        list): every tab stays in sight, so the digit keys match what is on screen."""
        tabbed = self.query_one("#tabs", TabbedContent)
        width = tabbed.size.width
        if not width:
            return
        full = sum(len(tab.label) + TAB_PADDING for tab in TABS)
        for tab in TABS:
            label = tab.label if full <= width else tab.short
            widget = tabbed.get_tab(tab.id)
            if widget.label_text != label:
                widget.label = label

    def _program_to_run(self) -> RunTarget:
        """For the packet workbench (from its worker): the learner's source, chosen function
        and where its object goes (the learner's build folder, never their workspace)."""
        lesson = self.lesson
        if lesson is None:
            return RunTarget(self.source_path)
        program = self.pane(AttachPane).chosen_program.get(lesson.id) or lesson.default_program
        return RunTarget(
            self.source_path,
            program or None,
            self.workbench.run_frame_object_path(lesson),
            self.workbench.frame_defaults(),
        )

    def on_mount(self) -> None:
        status = self.status
        status.lab = self.workbench.requested_lab or "…"  # the current lab: from a worker
        status.mode = self.workbench.mode
        self.query_one(LessonBrowser).focus()
        # The first frame first, then the content; the lab and leftover checks
        # follow the first README (they load netlink and libbpf).
        self.call_after_refresh(self.lessons_pane.load_lessons)

    def after_first_lesson(self) -> None:
        """Start-up work that loads netlink and libbpf: once the first lesson is on screen."""
        if not self._started:
            self._started = True
            self.lab_pane.refresh_lab()
            self.pane(LeftoversPane).find_leftovers()

    def on_resize(self) -> None:
        if self.lessons_pane.toc_choice is None:
            self.readme.show_table_of_contents = self.size.width >= TOC_MIN_WIDTH
        self.call_after_refresh(self._fit_tab_labels)

    # ---- the panes --------------------------------------------------------------------

    def pane(self, kind: type[P]) -> P:
        pane = self._panes[kind.NAME]
        assert isinstance(pane, kind)
        return pane

    async def action_pane(self, name: str, action: str) -> None:
        """Run a pane's action (the target of every pane key)."""
        await self._panes[name].run_action(action)

    @property
    def lessons_pane(self) -> LessonsPane:
        return self.pane(LessonsPane)

    @property
    def live_pane(self) -> LivePane:
        return self.pane(LivePane)

    @property
    def lab_pane(self) -> LabPane:
        return self.pane(LabPane)

    # What the session is on, for the panes, the command palette and tests.

    @property
    def lessons(self) -> list[Lesson]:
        return self.lessons_pane.lessons

    @property
    def passed(self) -> dict[str, set[str]]:
        return self.lessons_pane.passed

    @property
    def lesson(self) -> Lesson | None:
        return self.lessons_pane.current

    @property
    def source_path(self) -> Path | None:
        return self.lessons_pane.source_path

    @property
    def last_sample(self) -> LiveSample | None:
        return self.live_pane.last_sample

    def go_to_lesson(self, lesson_id: str) -> None:
        self.lessons_pane.go_to(lesson_id)

    # ---- widgets the panes share --------------------------------------------------------

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

    def say(self, text: str, style: str = "") -> None:
        self.activity.say(text, style)

    def report_build(self, marks: list[LineMark], summary: str, style: str) -> None:
        """A build ended (attached, or refused): gutter marks in the Source view and the editor."""
        path = self.source_path
        if path is not None:
            self.build_marks[path] = marks
        self.source.set_marks(marks)
        for screen in self.app.screen_stack:
            if isinstance(screen, EditorScreen) and screen.path == path:
                screen.show_build(marks, summary, style)

    def switch_tab(self, tab: str, *, focus_inside: bool = True) -> None:
        """Show TAB. FOCUS_INSIDE: as when the learner asks for it, the focus goes into
        tabs that take typing (Run frame's spec, Packets' list); an app reopening on its
        last tab leaves it where it is, so the digit keys still switch tabs."""
        tabs = self.query_one("#tabs", TabbedContent)
        if tabs.active != tab:  # only a tab that changes is activated (and resets this)
            self._focus_inside_next = focus_inside
        shown, focused = tabs.active_pane, self.focused
        if shown is not None and focused is not None and shown in focused.ancestors:
            # A focused widget in the tab we leave (the packet list) would bring its
            # tab back: TabbedContent shows the pane of whatever has the focus.
            self.set_focus(None)
        tabs.active = tab

    # ---- screen-wide keys and events ------------------------------------------------------

    def action_tab(self, tab: str) -> None:
        self.switch_tab(tab)

    def action_toggle_lessons(self) -> None:
        browser = self.query_one(LessonBrowser)
        browser.display = not browser.display
        self.call_after_refresh(self._fit_tab_labels)

    @on(LessonBrowser.Chosen)
    def lesson_chosen(self, event: LessonBrowser.Chosen) -> None:
        self.lessons_pane.show(event.lesson)
        self.pane(ChecksPane).load_progress(event.lesson)
        attached = self.workbench.attached
        if attached is not None and attached.lesson_id != event.lesson.id:
            self.live_pane.reset_view(monitor_too=True)
            self.pane(AttachPane).leave_lesson(event.lesson)

    def object_changed(self) -> None:
        """A new build was attached: the Object tab, once it was shown, follows it."""
        lesson = self.lesson
        if lesson is not None and self.query(ObjectView):
            self.pane(ObjectPane).follow_object(lesson)

    @on(ReadmeView.SourceLink)
    def source_link(self, event: ReadmeView.SourceLink) -> None:
        self.lessons_pane.open_linked(event.path)

    @on(TabbedContent.TabActivated, "#tabs")
    def tab_shown(self, event: TabbedContent.TabActivated) -> None:
        self.active_tab = event.pane.id or ""
        self.live_pane.tab_shown(self.active_tab == "live")
        if self.active_tab == "lab":
            self.lab_pane.refresh_lab()
        elif self.active_tab == "object" and self.lesson is not None:
            self.pane(ObjectPane).follow_object(self.lesson)
        focus_inside, self._focus_inside_next = self._focus_inside_next, True
        if self.active_tab == "packet-bench":
            # Typing goes into the frame's spec, not to the screen's one-letter keys
            # (d detaches, r resets); esc leaves the inputs.
            self.call_after_refresh(self._show_packet_bench, focus_inside)
        elif self.active_tab == "packets" and focus_inside:
            # Its keys (w writes pcapng, space pauses, v verdicts, / filters) answer only
            # with the focus inside; the key bar does not list them.
            self.call_after_refresh(self._focus_packets)

    def _focus_packets(self) -> None:
        for pane in self.query(PacketsPane):
            pane.focus_table()

    def _show_packet_bench(self, focus_inside: bool) -> None:
        for bench in self.query(PacketWorkbench):
            if focus_inside:
                bench.focus_spec()
            bench.show_saved_cases()  # the lesson may have changed since the tab was shown

    def on_progress(self, message: Progress) -> None:
        self.status.activity = message.text
        if message.text:
            self.say(message.text, "bright_black")

    def on_notice(self, message: Notice) -> None:
        self.say(message.text, message.style)
        if message.toast:
            self.notify(message.text)

    # ---- failures ---------------------------------------------------------------------------

    def show_problem(self, exc: BaseException, *, quiet: bool = False) -> None:
        """The one place a failure becomes words on the screen (QUIET: the log only)."""
        self.status.activity = ""
        problem = describe(exc)
        report = getattr(exc, "report", None)
        if report is not None and hasattr(report, "explanation"):
            self.last_refusal = report
        source_path = self.source_path
        marks = marks_of_failure(exc, source_path.name if source_path else "")
        if marks is not None:
            # The summary shows in the editor, where v types a letter: say how to get there.
            log_hint = self._verifier_log_hint(from_editor=True)
            summary = problem.title + (f" ({log_hint})" if report is not None else "")
            self.report_build(marks, summary, "red")
        self.say(problem.title, "red")
        for text, _style in problem.lines:
            self.say(f"  {text}", "red")
        if problem.hint:
            self.say(f"  hint: {problem.hint}", "yellow")
        if quiet:
            return
        if problem.in_source:
            # The panel under the source says it all; a short toast only draws the eye
            # (a long one would cover the panel on a small terminal).
            self._point_at(problem)
            log_hint = self._verifier_log_hint(
                from_editor=isinstance(self.app.screen, EditorScreen)
            )
            where = "the Source tab" + (f", {log_hint}" if report is not None else "")
            self.notify(f"{problem.title.split(':')[0]} (see {where})",
                        title="Error", severity="error", timeout=6)  # fmt: skip
            return
        body = problem.title + (f"\nhint: {problem.hint}" if problem.hint else "")
        self.notify(body, title="Error", severity="error", timeout=10)

    def _verifier_log_hint(self, *, from_editor: bool) -> str:
        """How to open the verifier log from where the learner is: its key (the learner's
        keymap over the default), after leaving the editor when one is open."""
        log_key = _first_key(self.app, AttachPane.KEYS, "workshop.verifier_log")
        if not from_editor:
            return f"{log_key}: the verifier log"
        close_key = _first_key(self.app, EditorScreen.BINDINGS, "editor.close")
        return f"{close_key} to leave the editor, then {log_key}: the verifier log"

    def _point_at(self, problem: Problem) -> None:
        """Show the source with the failing line selected and the explanation under it."""
        self.query_one(ProblemPanel).show_problem(problem.title, problem.lines, problem.hint)
        self.switch_tab("source")
        source_path = self.source_path
        same_file = source_path is not None and (
            problem.file is None or Path(problem.file).name == source_path.name
        )
        if same_file and source_path is not None:
            try:
                text = self.workbench.read_source(source_path)
            except XdpTuiError:
                return  # the Source tab already says why it cannot show the file
            self.source.show_text(text, source_path)
            self.source.point_at(problem.line or 1, problem.column)


def _first_key(app: object, bindings: Sequence[BindingType], binding_id: str) -> str:
    """The first key the binding BINDING_ID answers to now (the learner may have rebound it)."""
    for binding in bindings:
        if isinstance(binding, Binding) and binding.id == binding_id:
            return bound_keys(app, binding)[0]
    return "?"
