"""Build and attach: build the lesson's program, attach it in the chosen mode, detach."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.message import Message

from xdp_tui.screens.chooser import ChoiceScreen
from xdp_tui.screens.panes.base import Pane, pane_key
from xdp_tui.screens.panes.messages import Progress
from xdp_tui.screens.problems import line_marks
from xdp_tui.screens.verifier_log import VerifierLogScreen
from xdp_tui.widgets.problem_panel import ProblemPanel
from xdp_tui.workbench import Attached, ProgramChoice

if TYPE_CHECKING:
    from xdp_tui.engine.build import Diagnostic
    from xdp_tui.lessons import Lesson
    from xdp_tui.screens.main import WorkshopScreen


@dataclass
class AttachDone(Message):
    attached: Attached
    notes: list[str]
    warnings: list[Diagnostic]  # of the build that made the attached object


@dataclass
class Detached(Message):
    was_attached: bool
    why: str = ""  # said instead of "detached" (a lesson switch, a lost program)


@dataclass
class ProgramsListed(Message):
    lesson_id: str
    programs: list[ProgramChoice]


class AttachPane(Pane):
    NAME = "attach"
    KEYS = [
        pane_key(
            "attach",
            "b",
            "build_attach",
            "Build",
            "Build the lesson's program and attach it to the lab",
        ),  # fmt: skip
        pane_key("attach", "d", "detach", "Detach", "Detach the program this session attached"),
        pane_key(
            "attach", "m", "cycle_mode", "Mode", "Cycle the XDP mode: auto, native, skb (generic)"
        ),  # fmt: skip
        pane_key(
            "attach", "P", "choose_program", "Prog", "Choose which program of the object to attach"
        ),  # fmt: skip
        pane_key(
            "attach",
            "v",
            "verifier_log",
            "Verifier log",
            "The verifier's log of the last refusal, with your C lines",
            show=False,
        ),  # fmt: skip
    ]

    def __init__(self, workshop: WorkshopScreen) -> None:
        super().__init__(workshop)
        self.chosen_program: dict[str, str] = {}  # lesson id -> program the learner chose

    def action_build_attach(self) -> None:
        lesson = self.need_lesson()
        if lesson is not None:
            self.workshop.query_one(ProblemPanel).clear_problem()
            self.build_attach(lesson, self.chosen_program.get(lesson.id))

    def _progress(self, text: str) -> None:
        self.post_message(Progress(text))

    @work(thread=True, exclusive=True, group="attach", exit_on_error=False)
    def build_attach(self, lesson: Lesson, program: str | None) -> None:
        attached = self.workbench.build_and_attach(lesson, program, self._progress)
        built = self.workbench.last_build
        warnings = [d for d in built.diagnostics if d.severity == "warning"] if built else []
        self.post_message(AttachDone(attached, self.workbench.notes(), warnings))
        self.workshop.lab_pane.post_lab()

    def on_attach_done(self, message: AttachDone) -> None:
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
        self._show_warnings(message.warnings, list(attached.handle.replaced_maps))
        self.notify(f"{attached.program} attached to {attached.dev} ({attached.mode})")
        self.workshop.lessons_pane.reload_source()  # the workspace may have been created
        self.workshop.live_pane.reset_view()  # the counters shown are this program's only
        self.workshop.live_pane.start()
        self.workshop.object_changed()

    def _show_warnings(self, warnings: list[Diagnostic], replaced: list[str]) -> None:
        """A successful build's warnings: in the log, under the source and in the gutter;
        REPLACED: pinned maps whose shape changed (their counters restart)."""
        panel = self.workshop.query_one(ProblemPanel)
        name = self.workshop.source_path.name if self.workshop.source_path else ""
        for diag in warnings:
            self.say(f"warning: {diag.file.rsplit('/', 1)[-1]}:{diag.line}: {diag.message}",
                     "yellow")  # fmt: skip
        if warnings:
            summary = f"built and attached, with {len(warnings)} warning(s)"
            lines = [(f"line {d.line}: {d.message}", "yellow") for d in warnings[:8]]
            panel.show_problem(summary, lines, None, style="bold yellow")
        else:
            summary = "built and attached, no warnings"
            panel.clear_problem()
        if replaced:
            names = ", ".join(Path(pin).name for pin in replaced)
            summary += f"; replaced pinned map(s) {names}: counters restart"
        self.workshop.report_build(line_marks(warnings, name), summary,
                                   "yellow" if warnings else "green")  # fmt: skip

    def action_verifier_log(self) -> None:
        report = self.workshop.last_refusal
        if report is None:
            self.notify("no refusal yet: the verifier's log is kept when it refuses a program")
            return
        self.app.push_screen(VerifierLogScreen(report))

    def action_detach(self) -> None:
        self.detach()

    @work(thread=True, exclusive=True, group="attach", exit_on_error=False)
    def detach(self) -> None:
        self.post_message(Detached(self.workbench.detach()))
        self.workshop.lab_pane.post_lab()

    def on_detached(self, message: Detached) -> None:
        self.sync_status()
        self.workshop.live_pane.reset_view()
        if message.why:
            self.say(message.why, "yellow")
        else:
            self.say("detached" if message.was_attached else "nothing was attached")

    @work(thread=True, exclusive=True, group="attach", exit_on_error=False)
    def leave_lesson(self, lesson: Lesson) -> None:
        """Moving to LESSON detaches another lesson's program (and says so)."""
        left = self.workbench.leave_lesson(lesson.id)
        if left is not None:
            why = (f"detached {left.program} of {left.lesson_id} from {left.dev}: "
                   f"you moved to {lesson.id} (b builds and attaches it)")  # fmt: skip
            self.post_message(Detached(True, why))
            self.workshop.lab_pane.post_lab()

    # A group of its own: an exclusive worker cancels the earlier ones of its group, and a
    # thread worker cancelled before a thread was free for it never runs. In "attach", this
    # 2-second check silently dropped a queued b, d or lesson switch (seen: a switch left the
    # old lesson's program attached). It takes the session's lock, so it cannot race them.
    @work(thread=True, exclusive=True, group="attach-check", exit_on_error=False)
    def check_still_attached(self) -> None:
        """Our program may be gone behind our back (lab deleted or reset, another tool)."""
        lost = self.workbench.lost_attachment()
        if lost is not None:
            why = (f"{lost.program} (id {lost.prog_id}) is no longer on {lost.dev}: the lab was "
                   "deleted or reset, or another tool replaced it; b attaches it again")  # fmt: skip
            self.post_message(Detached(True, why))
        self.workshop.lab_pane.post_lab(lab_max_age=10.0)

    def sync_status(self) -> None:
        """The status line from what the workbench has attached now."""
        attached = self.workbench.attached
        status = self.status
        if attached is None:
            status.prog_id, status.program, status.attached_mode = 0, "", ""
        else:
            status.prog_id, status.program = attached.prog_id, attached.program
            status.attached_mode = attached.mode

    def recover(self, group: str) -> None:
        self.status.activity = ""
        self.sync_status()  # a failed re-attach has detached the previous program
        if self.workbench.attached is None:
            self.workshop.live_pane.reset_view()
        self.workshop.lab_pane.refresh_lab()

    def action_cycle_mode(self) -> None:
        mode = self.workbench.cycle_mode()
        self.status.mode = mode
        lesson = self.lesson
        if self.workbench.attached is not None and lesson is not None:
            self.say(f"mode {mode}: attaching again")
            self.build_attach(lesson, self.chosen_program.get(lesson.id))
        else:
            self.notify(f"mode {mode}: used at the next attach")

    def action_choose_program(self) -> None:
        lesson = self.need_lesson()
        if lesson is not None:
            self.list_programs(lesson)

    @work(thread=True, exclusive=True, group="attach", exit_on_error=False)
    def list_programs(self, lesson: Lesson) -> None:
        """Build the learner's source and list the programs its object really has."""
        programs = self.workbench.program_choices(lesson, self._progress)
        self.post_message(ProgramsListed(lesson.id, programs))

    def on_programs_listed(self, message: ProgramsListed) -> None:
        self.status.activity = ""
        lesson = self.lesson
        if lesson is not None and lesson.id == message.lesson_id:
            self._ask_program(lesson, message.programs)

    def _ask_program(self, lesson: Lesson, programs: list[ProgramChoice]) -> None:
        attachable = [p.name for p in programs if p.attachable]
        chosen_before = self.chosen_program.get(lesson.id)
        current = next(
            (name for name in (chosen_before, lesson.default_program) if name in attachable),
            attachable[0] if attachable else None,
        )

        def chosen(program: str | None) -> None:
            if program:
                self.chosen_program[lesson.id] = program
                self.say(f"program {program} chosen for {lesson.id}")
                self.build_attach(lesson, program)

        if not attachable:
            self.say(f"no XDP program in the object of {lesson.id}: nothing to attach", "yellow")
        choices = [(p.name, program_label(p)) for p in programs]
        unavailable = frozenset(p.name for p in programs if not p.attachable)
        title = f"Attach which program of {lesson.source_name}?"
        self.app.push_screen(ChoiceScreen(title, choices, current, unavailable=unavailable), chosen)


def program_label(program: ProgramChoice) -> str:
    """One chooser line: name, section, the lesson's default; why not, when it cannot attach."""
    where = f"section {program.section}" if program.section else ""
    marks = [where] if where else []
    if program.lesson_default:
        marks.append("lesson's default")
    label = program.name + (f"  ({', '.join(marks)})" if marks else "")
    return label if program.attachable else f"{label}\n  not attachable: {program.why_not}"
