"""The app's service layer: the only place the TUI reaches the engine, testenv, lessons and checks.

Every method here may block (clang, netlink, the kernel), so the UI calls
them from thread workers and never from an event handler. Nothing in this
package imports Textual: it returns dataclasses that the panes draw.

Three parts, along the same seams as the workshop screen's panes:
- `attached.AttachedSession`: what this session attached, its mode, undoing it;
- `live_feed.LiveFeed`: the live sample (counters, monitor, bpf_printk);
- `Workbench` (here): one object per app session holding both, plus thin
  pass-throughs to lessons, the lab, traffic, checks and leftovers.
`close()` undoes everything on every way out (quit, SIGTERM, SIGHUP).

Errors are not swallowed here: an XdpTuiError reaches the screen's one
problem handler. Where going on without something is intended (no lab yet,
no monitor), the method says so in its docstring and logs the reason.

The engine, testenv, lessons and checks are imported inside the methods
that use them: pyroute2, libbpf and bcc then load on first use, after the
first screen is up, instead of delaying it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xdp_tui import paths
from xdp_tui.engine.live import LiveSample
from xdp_tui.errors import XdpTuiError
from xdp_tui.labs import DEFAULT_NAME
from xdp_tui.workbench.attached import MODES, Attached, AttachedSession, Mode
from xdp_tui.workbench.live_feed import LiveFeed

if TYPE_CHECKING:
    from testenv.traffic import PingResult, StreamResult
    from xdp_tui.engine.attach import XdpStatus
    from xdp_tui.engine.build import BuildResult
    from xdp_tui.engine.objinfo import CodeRow, ObjectInfo
    from xdp_tui.engine.tc import TcStatus
    from xdp_tui.labs import Lab
    from xdp_tui.lessons import Assignment, Lesson

__all__ = [
    "MODES", "Attached", "CheckOutcome", "LabState", "Leftover", "LiveSample", "ProgramChoice",
    "Workbench",
]  # fmt: skip

log = logging.getLogger(__name__)
logging.getLogger("xdp_tui").addHandler(logging.NullHandler())  # the app adds its log file

Progress = Callable[[str], object]  # a return value (post_message's bool) is ignored
DEFAULT_LAB = DEFAULT_NAME


SAMPLES_MAP = "samples"  # a lesson program's own packet samples (tracing04)


def _no_progress(_: str) -> None:
    pass


@dataclass(frozen=True)
class LabState:
    """The session's lab as the status line and the Lab tab show it."""

    name: str
    outer: str  # the interface in the root namespace (where programs attach)
    inner: str  # its peer inside the lab's namespace
    ipv6: tuple[str, ...] = ()  # outer's address first, then inner's
    ipv4: tuple[str, ...] = ()
    healthy: bool = True
    problems: tuple[str, ...] = ()

    @classmethod
    def from_status(cls, entry: Mapping[str, Any]) -> LabState:
        """From one entry of testenv.status()["labs"]."""
        return cls(
            name=str(entry["name"]),
            outer=str(entry["outer"]),
            inner=str(entry["inner"]),
            ipv6=tuple(entry.get("ipv6") or ()),
            ipv4=tuple(entry.get("ipv4") or ()),
            healthy=bool(entry.get("healthy", True)),
            problems=tuple(str(p) for p in entry.get("problems") or ()),
        )


@dataclass
class Leftover:
    """Something this user's earlier, killed session left: an attached program or a pin folder."""

    kind: str  # "attach" | "pins"
    dev: str
    what: str
    session_pid: int = 0  # the session that left it (its record goes once answered)

    def describe(self) -> str:
        if self.kind == "attach":
            return f"{self.dev}: program {self.what} still attached"
        return f"{self.dev}: pinned maps left in {self.what}"


@dataclass
class CheckOutcome:
    """One assignment's check result, flattened for the UI."""

    assignment: str
    title: str
    passed: bool
    detail: str
    hint: str


@dataclass(frozen=True)
class ProgramChoice:
    """One program of the learner's built object, as the program chooser (P) lists it."""

    name: str
    section: str
    kind: str  # libbpf's program type: "xdp", "tracepoint", "sched_cls", "unspec", ...
    attachable: bool  # an XDP program: P can attach it to the lab
    why_not: str = ""  # why it cannot be attached by P
    lesson_default: bool = False  # the lesson's default program


def _not_attachable(name: str, section: str, lesson: Lesson) -> str:
    """Why the program NAME (of SECTION) is not one P attaches to the lab."""
    if name in lesson.tracepoint_programs:
        return "a tracepoint program: b attaches it beside the XDP one"
    if name in lesson.tc_programs:
        return "a TC program: b attaches it on the lab's ingress beside the XDP one"
    return f'not XDP: section "{section}" (XDP sections start with "xdp")'


@dataclass(frozen=True)
class TrafficOutcome:
    """What one traffic choice sent, for the Activity log."""

    label: str
    sent: int
    answered: int | None  # echo replies (None: UDP/TCP, nothing answers)
    summary: str  # one line, e.g. "IPv4 ping to 10.11.3.1: 5 sent, 5 answered"


class Workbench:
    """Lessons, lab, build/attach, live samples, traffic and checks for one app session."""

    def __init__(self, lab: str | None = None) -> None:
        self._requested_lab = lab
        self.session = AttachedSession()
        self.live = LiveFeed()
        self._stream_stop = threading.Event()
        self._lab_cache: tuple[float, LabState | None] | None = None
        self.last_build: BuildResult | None = None  # warnings of a successful build, for the UI
        self._lesson_on_dev: dict[str, str] = {}  # the lesson whose maps we pinned on a device
        self._foreign_owner = ""  # whose program the live feed follows when it is not ours

    # ---- lessons ------------------------------------------------------------

    def lessons(self) -> list[Lesson]:
        from xdp_tui import lessons

        return sorted(lessons.catalog(), key=lambda lesson: (lesson.order, lesson.id))

    def passed(self, lessons: list[Lesson] | None = None) -> dict[str, set[str]]:
        """Assignments passed so far, per lesson id (of LESSONS, default: the catalog)."""
        from xdp_tui import lessons as lesson_store

        progress = lesson_store.Progress.load()
        return {lesson.id: set(progress.passed(lesson.id)) for lesson in lessons or self.lessons()}

    def readme_path(self, lesson: Lesson) -> Path:
        return Path(lesson.readme)

    def source_path(self, lesson: Lesson) -> Path:
        """The learner's copy of the lesson source (made from the starter on first use)."""
        from xdp_tui import lessons

        return Path(lessons.workspace_source(lesson))

    @staticmethod
    def read_source(path: Path) -> str:
        """A source to show or edit: the learner's file read as them, no links, at most 1 MiB.

        XdpTuiError (located) for a link, a non-UTF-8 or an oversized file.
        """
        from xdp_tui import userfiles

        return userfiles.read_text(path)

    @staticmethod
    def save_source(path: Path, text: str) -> None:
        """Save the editor's text as the learner (a new file renamed over the old one)."""
        from xdp_tui import userfiles

        userfiles.write_text(path, text)

    @staticmethod
    def editor_command(argv: list[str]) -> list[str]:
        """ARGV (the learner's $EDITOR on their file) run as the learner, never as root."""
        from xdp_tui import userfiles

        return userfiles.learner_command(argv)

    def prepare_build(self, lesson: Lesson) -> None:
        """Start the lesson's clang now, so the first build skips its start-up."""
        from xdp_tui.engine import build

        build.warm_up(self.source_path(lesson), self._object_path(lesson))

    def solution_path(self, lesson: Lesson) -> Path:
        from xdp_tui import lessons

        return Path(lessons.solution_source(lesson))

    def reset_source(self, lesson: Lesson) -> Path:
        from xdp_tui import lessons

        lessons.reset_workspace(lesson)
        return self.source_path(lesson)

    # ---- the learner's journey (checklist, graduated help, solution) -------------------

    def lesson_progress(self, lesson: Any) -> Any:
        """journey.LessonProgress: each assignment's title, state and last detail; the fraction."""
        from xdp_tui.journey import lesson_progress

        return lesson_progress(lesson)

    def next_help(self, lesson: Any, assignment_id: str) -> Any:
        """journey.HelpStep: the next hint level for the assignment, then its solution part."""
        from xdp_tui.journey import next_help

        return next_help(lesson, assignment_id)

    def solution_part(self, lesson: Any, assignment_id: str) -> Any:
        """journey.SolutionPart: the solution's lines for one assignment."""
        from xdp_tui.journey import solution_part

        return solution_part(lesson, assignment_id)

    def solution_text(self, lesson: Any) -> str:
        """The whole solution, without its assignment markers."""
        from xdp_tui.journey import solution_text

        return solution_text(lesson)

    def solution_diff(self, lesson: Any) -> Any:
        """journey.SolutionDiff: the learner's file against the solution, lines tagged for colour."""
        from xdp_tui.journey import solution_diff

        return solution_diff(lesson, self.source_path(lesson))

    @staticmethod
    def current_assignment(lesson: Lesson, passed: set[str]) -> Assignment | None:
        """The first assignment not yet passed; the last one when all passed."""
        for assignment in lesson.assignments:
            if str(assignment.id) not in passed:
                return assignment
        return lesson.assignments[-1] if lesson.assignments else None

    # ---- lab ------------------------------------------------------------------

    @property
    def requested_lab(self) -> str | None:
        return self._requested_lab

    @property
    def lab_name(self) -> str:
        """The session's lab: the one asked for, else the current lab, else test01.

        Decided once, so a `xdp-tui env` command in another terminal does not
        move a running session to another lab.
        """
        if self._requested_lab is None:
            import testenv

            try:
                self._requested_lab = testenv.current() or DEFAULT_LAB
            except (XdpTuiError, OSError) as exc:  # no readable lab records: the default
                log.info("no current lab (%s): using %s", exc, DEFAULT_LAB)
                self._requested_lab = DEFAULT_LAB
        return self._requested_lab

    def ensure_lab(self, progress: Progress = _no_progress, *, legacy_ip: bool = False) -> Lab:
        """The session's lab, created when missing or broken (with IPv4 if LEGACY_IP)."""
        import testenv

        name = self.lab_name
        try:
            lab = testenv.get(name)
        except XdpTuiError:  # not recorded: make it
            progress(f"creating lab {name}…")
            return testenv.setup(name, legacy_ip=legacy_ip)
        status = self.lab_status()
        healthy = status is not None and status.healthy
        if healthy and (lab.legacy_ip or not legacy_ip):
            return lab
        progress(f"adding IPv4 to lab {name}…" if healthy else f"repairing lab {name}…")
        return testenv.setup(name, legacy_ip=legacy_ip)

    def lab_status(self, max_age: float = 0.0) -> LabState | None:
        """testenv.status() narrowed to the session's lab (None when it does not exist).

        A status costs a netlink dump (~20 ms of CPU); MAX_AGE lets the live
        view reuse a recent one.
        """
        import testenv

        cached = self._lab_cache
        if cached is not None and time.monotonic() - cached[0] <= max_age:
            return cached[1]
        found = next(
            (
                LabState.from_status(lab)
                for lab in testenv.status().get("labs", [])
                if lab["name"] == self.lab_name
            ),
            None,
        )
        self._lab_cache = (time.monotonic(), found)
        return found

    def inner_attach_status(self) -> XdpStatus | None:
        """What is attached on the lab's inner end (veth0 inside the namespace); None: no lab."""
        import testenv
        from xdp_tui.engine import attach

        try:
            lab = testenv.get(self.lab_name)
        except XdpTuiError:  # no lab yet: nothing inside to show
            return None
        return attach.query(lab.inner, netns=lab.netns)

    def attach_status(self) -> XdpStatus | None:
        """What is attached on the lab's outer interface; None while it does not exist."""
        from xdp_tui.engine import attach

        attached = self.session.attached
        dev = attached.dev if attached else self.lab_name
        try:
            return attach.query(dev)
        except XdpTuiError as exc:  # the interface does not exist (yet): nothing attached
            log.info("no XDP status for %s: %s", dev, exc.render("tui"))
            return None

    def runs_ours(self, status: XdpStatus | None) -> bool:
        """STATUS's program is this session's: the one we attached, or a capture's twin
        swapped into our own link for a while (capture_twin), not another tool's."""
        if status is None or not status.prog_id:
            return False
        with self.session.lock:
            attached = self.session.attached
            if attached is None or attached.dev != status.dev:
                return False
            return _runs_ours(attached, status.prog_id)

    def frame_defaults(self) -> dict[str, str] | None:
        """The Run-frame tab's default addresses and MACs: the session lab's (from its
        record), None while it does not exist (lab 1's then)."""
        from xdp_tui import labs
        from xdp_tui.engine.packetspec import lab_defaults

        try:
            return lab_defaults(labs.get(self.lab_name))
        except XdpTuiError:
            return None

    def samples_ring_fd(self) -> int | None:
        """The fd of the attached program's `samples` ring buffer (tracing04), or None."""
        from xdp_tui.engine import bpfsys

        attached = self.session.attached
        fd = attached.handle.maps.get(SAMPLES_MAP) if attached is not None else None
        if fd is None:
            return None
        try:
            return fd if bpfsys.map_info(fd).type_name == "ringbuf" else None
        except XdpTuiError:  # detached meanwhile
            return None

    def tc_status(self) -> tuple[TcStatus, ...]:
        """The TC programs on the lab's outer interface (advanced01 puts one beside XDP)."""
        from xdp_tui.engine.tc import tc_status

        attached = self.session.attached
        dev = attached.dev if attached else self.lab_name
        try:
            return tc_status(dev)
        except XdpTuiError as exc:  # the interface does not exist (yet)
            log.info("no TC status for %s: %s", dev, exc.render("tui"))
            return ()

    # ---- build and attach ----------------------------------------------------------

    @property
    def mode(self) -> Mode:
        return self.session.mode

    def cycle_mode(self) -> Mode:
        return self.session.cycle_mode()

    @property
    def attached(self) -> Attached | None:
        return self.session.attached

    def notes(self) -> list[str]:
        return self.session.notes()

    def build(self, lesson: Lesson, progress: Progress = _no_progress) -> BuildResult:
        """Compile the learner's source; BuildError (located) when clang refuses."""
        from xdp_tui.engine import build

        source = self.source_path(lesson)
        progress(f"building {source.name}…")
        self.last_build = None
        self.last_build = build.build_or_raise(source, self._object_path(lesson))
        return self.last_build

    def _object_path(self, lesson: Any) -> Path:
        """The build of LESSON's workspace: in a root-private folder, not in the learner's home."""
        return paths.learner_build_dir(lesson.id) / Path(lesson.source_name).with_suffix(".o")

    def run_frame_object_path(self, lesson: Lesson) -> Path:
        """The Run-frame tab's build of LESSON's workspace: its own folder beside the TUI's
        build (a test run never races an attach for the same file), root-private too."""
        return (
            paths.learner_build_dir(lesson.id)
            / "run-frame"
            / Path(lesson.source_name).with_suffix(".o")
        )

    def program_choices(
        self, lesson: Lesson, progress: Progress = _no_progress
    ) -> list[ProgramChoice]:
        """The programs of the learner's object as built now (build first), for the chooser.

        What is in the object, not what the lesson declares: a learner may rename or add
        functions. The lesson's default is marked; one the object lacks comes last, not
        attachable, with the reason.
        """
        from xdp_tui.engine.libbpf import BpfObject

        result = self.build(lesson, progress)
        with BpfObject.open(Path(result.obj)) as bpf_object:
            specs = bpf_object.programs
        choices = [
            ProgramChoice(
                spec.name,
                spec.section,
                spec.type,
                attachable=spec.is_xdp,
                why_not="" if spec.is_xdp else _not_attachable(spec.name, spec.section, lesson),
                lesson_default=spec.name == lesson.default_program,
            )
            for spec in specs
        ]
        default = lesson.default_program
        if default and not any(choice.name == default for choice in choices):
            choices.append(ProgramChoice(default, "", "", attachable=False, lesson_default=True,
                                         why_not="not in your object (renamed or removed?)"))  # fmt: skip
        return choices

    def build_and_attach(
        self, lesson: Lesson, program: str | None, progress: Progress = _no_progress
    ) -> Attached:
        """Build → lab (created when missing) → load + attach with the current mode."""
        result = self.build(lesson, progress)  # first: a compiler error needs no lab
        lab = self.ensure_lab(progress)
        if lesson.lab.legacy_ip and not lab.legacy_ip:
            # The lesson needs IPv4: adding it rebuilds the lab, so detach first
            # (the rebuild would take our link with it).
            with self.session.lock:
                self._detach_locked()
            lab = self.ensure_lab(progress, legacy_ip=True)
        program = program or lesson.default_program or None
        with self.session.lock:
            before = self.session.attached
            if self._detach_locked() and before is not None:
                # Said here: when the new one is refused, the lab is left with none.
                progress(f"detached {before.program} (id {before.prog_id}) from {before.dev}")
            self._unpin_other_lesson(lab.outer, lesson.id, progress)
            progress(f"loading {program or 'program'} and attaching to {lab.outer} ({self.mode})…")
            attached = self.session.attach(
                lesson.id,
                Path(result.obj),
                lab.outer,
                program,
                tracepoint_programs=lesson.tracepoint_programs,
                tc_programs=lesson.tc_programs,
            )
            self._note_session_dev(lab.outer)
            self._foreign_owner = ""
            self.live.follow(
                lab.outer,
                Path(result.obj),
                prog_maps=attached.handle.maps,
                prog_id=attached.prog_id,
                runs_instead=_in_our_link(attached),
            )
            return attached

    def _unpin_other_lesson(self, dev: str, lesson_id: str, progress: Progress) -> None:
        """Maps another lesson pinned on DEV go first: no counter of one lesson shows in the next
        (same-named maps of the same shape would otherwise be reused). The caller holds the lock."""
        from xdp_tui import pins

        previous = self._lesson_on_dev.get(dev)
        if previous is not None and previous != lesson_id:
            removed = pins.remove_ours(dev)
            if removed:
                progress(f"removed {len(removed)} map pin(s) {previous} left on {dev}")
        self._lesson_on_dev[dev] = lesson_id

    def leave_lesson(self, lesson_id: str) -> Attached | None:
        """The learner moved to LESSON_ID: detach another lesson's program (returned, or None)."""
        with self.session.lock:
            attached = self.session.attached
            if attached is None or attached.lesson_id == lesson_id:
                return None
            self._detach_locked()
            return attached

    def lost_attachment(self) -> Attached | None:
        """Our program is no longer on its interface (lab deleted or reset, or another tool
        replaced it): forget it and return what was lost; None while it is still there."""
        from xdp_tui.engine import attach

        with self.session.lock:
            attached = self.session.attached
            if attached is None:
                return None
            try:
                status = attach.query(attached.dev)
            except XdpTuiError:  # the interface is gone
                status = None
            if status is not None and _runs_ours(attached, status.prog_id):
                return None  # ours, or a capture's twin in our link for now (ours comes back)
            try:
                self._detach_locked()
            except (XdpTuiError, OSError) as exc:  # its link went with the interface
                log.info("forgetting a lost attachment on %s: %s", attached.dev, exc)
            return attached

    @staticmethod
    def _note_session_dev(dev: str) -> None:
        """Remember DEV for this user's next session, should this one be killed."""
        from xdp_tui import tui_sessions

        with contextlib.suppress(OSError):  # a record is a convenience, never a failure
            tui_sessions.note_dev(dev)

    def detach(self) -> bool:
        with self.session.lock:
            return self._detach_locked()

    def _detach_locked(self) -> bool:
        self.live.stop()
        return self.session.detach()

    def object_info(self, lesson: Lesson) -> ObjectInfo:
        """What is inside the lesson's built object (and, once loaded, the translated code)."""
        from xdp_tui.engine import objinfo

        result = self.build(lesson)
        return objinfo.describe_object(Path(result.obj), Path(result.source))

    def loaded_code(self) -> tuple[int, list[CodeRow]] | None:
        """(prog id, the verifier's translated instructions) of the attached program."""
        from xdp_tui.engine import objinfo

        attached = self.session.attached
        if attached is None:
            return None
        return attached.prog_id, objinfo.describe_loaded(attached.prog_id, attached.handle.source)

    # ---- live samples ------------------------------------------------------------

    def start_monitor(self) -> str | None:
        return self.live.start_monitor()

    def follow_foreign(self, status: XdpStatus) -> bool:
        """Show the program another tool (or `xdp-tui load`) attached on STATUS.dev in the
        live view, read-only, while this session has nothing attached; False when it has.

        Read-only: its maps are read by id (no AF_XDP socket goes into its xsks_map), and
        nothing of this session ever detaches it or removes its pins (`session.devs()`
        and the leftovers only know what this session attached).
        """
        with self.session.lock:
            if self.session.attached is not None:
                return False
            self._foreign_owner = (
                "loaded with `xdp-tui load`" if status.ours else "another tool's program"
            )
            self.live.follow(status.dev, prog_id=status.prog_id)
            return True

    def stop_foreign(self) -> bool:
        """The other tool's program went: stop following it (never this session's own);
        False when this session has its own program attached (nothing stopped)."""
        with self.session.lock:
            if self.session.attached is not None:
                return False
            self.live.stop()
            return True

    @property
    def live_following(self) -> bool:
        """The live feed samples a program (this session's or another tool's)."""
        return self.live.following

    def sample(self) -> LiveSample | None:
        sample = self.live.sample()
        if sample is None:
            return None
        attached = self.session.attached
        if attached is None or sample.prog_id != attached.prog_id:
            # Not what this session attached (another tool's, or ours replaced by one).
            owner = self._foreign_owner or "another tool's program"
            return replace(sample, foreign=owner) if sample.prog_id else sample
        companions = attached.companion_maps()  # tracing01, advanced01: maps beside XDP
        return replace(sample, maps=sample.maps + companions) if companions else sample

    # ---- traffic -------------------------------------------------------------------

    def ping(self, count: int = 5) -> PingResult:
        from testenv import traffic

        return traffic.ping(self.ensure_lab(), count=count)

    def traffic_choices(self, lesson: Any) -> list[Any]:
        """The traffic LESSON offers (journey.TrafficChoice), IPv6 ping first."""
        from xdp_tui.journey import traffic_choices

        return traffic_choices(lesson)

    def send_traffic(self, choice: Any, to: str | None = None) -> TrafficOutcome:
        """Send one TrafficChoice from inside the session's lab; TO for `ask_to` choices."""
        from testenv import traffic

        lab = self.ensure_lab()
        if choice.kind == "ping":
            if choice.ask_to and not (to or "").strip():
                raise XdpTuiError("which address should the ping go to?", location="ping")
            dst = to.strip() if choice.ask_to and to else None
            result = traffic.ping(
                lab, choice.count, family=choice.family, vlan=choice.vlan, dst=dst
            )
            tagged = f" tagged {choice.vlan}" if choice.vlan is not None else ""
            why = f" ({result.unreachable})" if result.unreachable else ""
            return TrafficOutcome(
                choice.label,
                result.sent,
                result.received,
                f"ping{tagged} to {result.dst}: {result.sent} sent,"
                f" {result.received} answered{why}",
            )
        port = int(choice.port)
        if choice.kind == "udp" and choice.sizes:
            frames = traffic.udp_frames_of_sizes(
                lab, choice.sizes, choice.count, port=port, family=choice.family, vlan=choice.vlan
            )
            sent = traffic.send_frames(lab, frames)
            lengths = ", ".join(str(len(frame)) for frame in frames)
            return TrafficOutcome(
                choice.label,
                sent,
                None,
                f"{sent} UDP datagrams sent to port {port} (IPv{choice.family}),"
                f" frames of {lengths} bytes",
            )
        send = traffic.udp_stream if choice.kind == "udp" else traffic.tcp_syn_stream
        sent = send(
            lab, count=choice.count, pps=100.0, port=port, family=choice.family, vlan=choice.vlan
        ).sent
        what = "UDP datagrams" if choice.kind == "udp" else "TCP SYNs"
        return TrafficOutcome(
            choice.label, sent, None, f"{sent} {what} sent to port {port} (IPv{choice.family})"
        )

    def readme_text(self, lesson: Any) -> str:
        """The lesson's README with its addresses filled in from the session's lab
        (said generically while no lab exists; never creates one)."""
        from xdp_tui.journey import render_readme

        lab = None
        with contextlib.suppress(Exception):  # no lab yet: the generic words
            import testenv

            lab = testenv.get(self.lab_name)
        return render_readme(Path(lesson.readme).read_text(encoding="utf-8"), lab)

    def stream(
        self, pps: int | None, on_chunk: Callable[[StreamResult], None], chunk_s: float = 0.5
    ) -> int:
        """Send UDP at `pps` (None: as fast as possible) from inside the lab until stop_stream().

        Sent in short chunks so a stop takes effect within `chunk_s`; returns frames sent.
        """
        from testenv import traffic

        lab = self.ensure_lab()
        self._stream_stop.clear()
        total = 0
        while not self._stream_stop.is_set():
            result = traffic.udp_stream(lab, pps=pps, duration=chunk_s)
            total += int(result.sent)
            on_chunk(result)
        return total

    def stop_stream(self) -> None:
        self._stream_stop.set()

    # ---- checks ----------------------------------------------------------------------

    def run_check(self, lesson: Lesson, assignment: Assignment | None) -> list[CheckOutcome]:
        """Run one assignment's check (all when None); run_checks saves the progress."""
        from xdp_tui import checks

        assignment_id = str(assignment.id) if assignment is not None else None
        results = checks.run_checks(lesson, assignment_id, face="tui")
        titles = {str(a.id): a.title for a in lesson.assignments}
        return [
            CheckOutcome(
                assignment=result.assignment,
                title=titles.get(result.assignment, result.assignment),
                passed=result.passed,
                detail=result.detail,
                hint=result.hint if not result.passed else "",
            )
            for result in results
        ]

    # ---- leftovers and leaving --------------------------------------------------------

    def leftovers(self) -> list[Leftover]:
        """What this user's earlier xdp-tui sessions left when they were killed.

        Only interfaces such a session attached to are looked at: other
        users' labs and programs loaded on purpose (`xdp-tui load`) are
        never listed. A dead session that left nothing is forgotten.
        """
        from xdp_tui import tui_sessions

        found: list[Leftover] = []
        with (
            self.session.lock
        ):  # not while this session is attaching (it would look like a leftover)
            ours = self.session.devs()
            for record in tui_sessions.dead_sessions():
                left = [
                    item
                    for dev in record.devs
                    if dev not in ours
                    for item in self._leftovers_on(dev, record.pid)
                ]
                if not left:
                    tui_sessions.forget(record.pid)
                found.extend(left)
        return found

    def forget_leftovers(self, leftovers: list[Leftover]) -> None:
        """The learner answered about LEFTOVERS (cleaned or kept): do not ask again."""
        from xdp_tui import tui_sessions

        for pid in {item.session_pid for item in leftovers}:
            tui_sessions.forget(pid)

    def _leftovers_on(self, dev: str, session_pid: int) -> list[Leftover]:
        from xdp_tui.engine import attach

        record = attach.read_record(dev) or {}
        if record.get("persistent") or self._held_by_live_session(dev):
            return []  # loaded on purpose, or another running session's
        found = []
        try:
            status = attach.query(dev)
        except XdpTuiError as exc:  # the interface vanished meanwhile: nothing left on it
            log.info("leftovers: %s", exc.render("tui"))
            status = None
        left_by_session = int(record.get("pid", 0) or 0) == session_pid
        if status is not None and status.prog_id and left_by_session:
            what = f"{status.prog_name} (id {status.prog_id})"
            found.append(Leftover("attach", dev, what, session_pid))
        pins = paths.pin_dir(dev)
        if pins.is_dir() and any(pins.iterdir()):
            found.append(Leftover("pins", dev, str(pins), session_pid))
        return found

    @staticmethod
    def _held_by_live_session(dev: str) -> bool:
        """Another running xdp-tui holds DEV: its attach is not a leftover."""
        from xdp_tui.engine import attach
        from xdp_tui.process import pid_alive

        record = attach.read_record(dev) or {}
        pid = int(record.get("pid", 0) or 0)
        if record.get("persistent") or not pid or pid == os.getpid():
            return False
        return pid_alive(pid)

    def cleanup(self, leftovers: list[Leftover]) -> list[str]:
        """Detach and unpin what earlier sessions left (lab interfaces only); what was done."""
        from xdp_tui.engine import session

        done = []
        # A program this session attached since the list was made is not a leftover.
        with self.session.lock:
            ours = self.session.devs()
        for dev in sorted({item.dev for item in leftovers} - ours):
            result = session.unload(dev, force=True)
            if result.get("detached"):
                done.append(f"detached the program on {dev}")
            removed = result.get("pins_removed")
            if isinstance(removed, list) and removed:
                done.append(f"removed {len(removed)} pin(s) of {dev}")
        self.forget_leftovers(leftovers)
        return done

    def close(self) -> None:
        """Undo everything this session did (idempotent; safe from signal paths).

        Netlink (pyroute2) cannot run on a thread with a running event loop,
        so from the UI thread the work goes to a short-lived thread.
        """
        if _in_event_loop():
            worker = threading.Thread(target=self._close, name="xdp-tui-close")
            worker.start()
            worker.join(timeout=10)
        else:
            self._close()

    def _close(self) -> None:
        self.stop_stream()
        try:
            with self.session.lock:
                self.live.stop()
                self.session.close()
                self._end_session_record()
        finally:
            self.live.close()

    @staticmethod
    def _end_session_record() -> None:
        from xdp_tui import tui_sessions

        with contextlib.suppress(OSError, XdpTuiError):
            tui_sessions.end()


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _in_our_link(attached: Attached) -> Callable[[], int | None]:
    """What runs in ATTACHED's link now (a capture's twin for a while, else ATTACHED's own
    program); without a link (netlink attach) there is no stand-in: ATTACHED's id."""
    attachment = attached.handle.attachment
    if attachment is None:
        return lambda: attached.prog_id
    return lambda: attachment.program_in_link() or attached.prog_id


def _runs_ours(attached: Attached, running: int | None) -> bool:
    """Whether RUNNING (the program on the interface) is ATTACHED's: its own program, or a
    capturing twin swapped into its link (capture_twin.swap_in), not another tool's."""
    if running is None:
        return False
    if running == attached.prog_id:
        return True
    attachment = attached.handle.attachment
    return attachment is not None and attachment.program_in_link() == running
