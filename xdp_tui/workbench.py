"""The app's service layer: the only place the TUI reaches the engine, testenv, lessons and checks.

Every method here may block (clang, netlink, the kernel), so the UI calls
them from thread workers and never from an event handler. Nothing in this
module imports Textual: it returns plain data (dicts, dataclasses) that the
screens turn into widgets.

One `Workbench` per app session. It remembers what this session attached
so that `close()` can undo it on every way out (quit, SIGTERM, SIGHUP).

The engine, testenv, lessons and checks are imported inside the methods
that use them: pyroute2, libbpf and bcc then load on first use, after the
first screen is up, instead of delaying it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xdp_tui import paths
from xdp_tui.errors import XdpTuiError

Progress = Callable[[str], None]
MODES = ("auto", "native", "skb")
DEFAULT_LAB = "test01"


def _no_progress(_: str) -> None:
    pass


@dataclass
class Leftover:
    """Something an earlier session left on a lab: an attached program or a pin folder."""

    kind: str  # "attach" | "pins"
    dev: str
    what: str

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
class TrafficOutcome:
    """What one traffic choice sent, for the Activity log."""

    label: str
    sent: int
    answered: int | None  # echo replies (None: UDP/TCP, nothing answers)
    summary: str  # one line, e.g. "IPv4 ping to 10.11.3.1: 5 sent, 5 answered"


@dataclass
class Attached:
    """What this session has attached right now."""

    lesson_id: str
    dev: str
    program: str
    mode: str
    prog_id: int
    obj: Path
    handle: Any = field(repr=False)  # engine LoadedProgram
    # The lesson's tracepoint programs (tracing01) and TC programs (advanced01),
    # attached beside the XDP program and detached with it.
    tracers: list[Any] = field(default_factory=list, repr=False)  # engine TracepointProgram
    tc: list[Any] = field(default_factory=list, repr=False)  # engine TcProgram

    def close(self) -> None:
        for companion in [*self.tracers, *self.tc]:
            with contextlib.suppress(Exception):  # detaching must go on
                companion.close()
        self.tracers, self.tc = [], []
        self.handle.close()


class Workbench:
    """Lessons, lab, build/attach, live samples, traffic and checks for one app session."""

    def __init__(self, lab: str | None = None) -> None:
        self._requested_lab = lab
        self._lock = threading.RLock()
        self._attached: Attached | None = None
        self._sampler: Any = None
        self._monitor: Any = None
        self._trace: Any = None
        self._stream_stop = threading.Event()
        self._closed = False
        self._lab_cache: tuple[float, dict[str, Any] | None] | None = None
        self._attached_devs: set[str] = set()  # where this session attached (pins to remove)
        self.mode = "auto"

    # ---- lessons ------------------------------------------------------------

    def lessons(self) -> list[Any]:
        from xdp_tui import lessons

        return sorted(lessons.catalog(), key=lambda lesson: (lesson.order, lesson.id))

    def passed(self, lessons: list[Any] | None = None) -> dict[str, set[str]]:
        """Assignments passed so far, per lesson id (of LESSONS, default: the catalog)."""
        from xdp_tui import lessons as lesson_store

        progress = lesson_store.Progress.load()
        return {lesson.id: set(progress.passed(lesson.id)) for lesson in lessons or self.lessons()}

    def readme_path(self, lesson: Any) -> Path:
        return Path(lesson.readme)

    def source_path(self, lesson: Any) -> Path:
        """The learner's copy of the lesson source (made from the starter on first use)."""
        from xdp_tui import lessons

        return Path(lessons.workspace_source(lesson))

    def prepare_build(self, lesson: Any) -> None:
        """Start the lesson's clang now, so the first build skips its start-up."""
        from xdp_tui.engine import build

        build.warm_up(self.source_path(lesson))

    def solution_path(self, lesson: Any) -> Path:
        from xdp_tui import lessons

        return Path(lessons.solution_source(lesson))

    def reset_source(self, lesson: Any) -> Path:
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
    def current_assignment(lesson: Any, passed: set[str]) -> Any | None:
        """The first assignment not yet passed; the last one when all passed."""
        assignments = list(getattr(lesson, "assignments", []) or [])
        for assignment in assignments:
            if str(assignment.id) not in passed:
                return assignment
        return assignments[-1] if assignments else None

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
            try:
                import testenv

                self._requested_lab = testenv.current() or DEFAULT_LAB
            except Exception:  # noqa: BLE001 - no lab records yet: the tutorial's default
                self._requested_lab = DEFAULT_LAB
        return self._requested_lab

    def ensure_lab(self, progress: Progress = _no_progress, *, legacy_ip: bool = False) -> Any:
        """The session's lab, created when missing or broken (with IPv4 if LEGACY_IP)."""
        import testenv

        name = self.lab_name
        try:
            lab = testenv.get(name)
            healthy = self._lab_healthy(name)
            if healthy and (lab.legacy_ip or not legacy_ip):
                return lab
            progress(f"adding IPv4 to lab {name}…" if healthy else f"repairing lab {name}…")
        except XdpTuiError:
            progress(f"creating lab {name}…")
        return testenv.setup(name, legacy_ip=legacy_ip)

    @staticmethod
    def _lab_healthy(name: str) -> bool:
        import testenv

        for lab in testenv.status().get("labs", []):
            if lab.get("name") == name:
                return bool(lab.get("healthy", True))
        return False

    def lab_status(self, max_age: float = 0.0) -> dict[str, Any] | None:
        """testenv.status() narrowed to the session's lab (None when it does not exist).

        A status costs a netlink dump (~20 ms of CPU); MAX_AGE lets the live
        view reuse a recent one.
        """
        cached = self._lab_cache
        if cached is not None and time.monotonic() - cached[0] <= max_age:
            return cached[1]
        found = None
        try:
            import testenv

            for lab in testenv.status().get("labs", []):
                if lab.get("name") == self.lab_name:
                    found = dict(lab)
        except Exception:  # noqa: BLE001 - status is informative only
            pass
        self._lab_cache = (time.monotonic(), found)
        return found

    def inner_attach_status(self) -> dict[str, Any] | None:
        """What is attached on the lab's inner end (veth0 inside the namespace)."""
        try:
            import testenv
            from xdp_tui.engine import attach

            lab = testenv.get(self.lab_name)
            return attach.query(lab.inner, netns=lab.netns).to_dict()
        except Exception:  # noqa: BLE001 - no lab yet
            return None

    def attach_status(self) -> dict[str, Any] | None:
        """attach.query() of the lab's outer interface, plus what this session knows."""
        with self._lock:
            attached = self._attached
        dev = attached.dev if attached else self.lab_name
        try:
            from xdp_tui.engine import attach

            status = attach.query(dev).to_dict()
        except Exception:  # noqa: BLE001 - the interface may not exist (yet)
            status = {"dev": dev, "prog_id": None}
        if attached is not None:
            status.setdefault("prog_name", attached.program)
            status["session_mode"] = attached.mode
            status["lesson"] = attached.lesson_id
            status["tc"] = [tc.to_dict() for tc in attached.tc]
        return status

    # ---- build and attach ----------------------------------------------------------

    def build(self, lesson: Any, progress: Progress = _no_progress) -> Any:
        """Compile the learner's source; BuildError (located) when clang refuses."""
        from xdp_tui.engine import build

        source = self.source_path(lesson)
        progress(f"building {source.name}…")
        return build.build_or_raise(source)

    def programs_in(self, obj: Path) -> list[str]:
        from xdp_tui.engine.libbpf import BpfObject

        with BpfObject.open(obj) as bpf_object:
            return list(bpf_object.xdp_programs)

    def build_and_attach(
        self, lesson: Any, program: str | None, progress: Progress = _no_progress
    ) -> Attached:
        """Build → lab (created when missing) → load + attach with the current mode."""
        from xdp_tui.engine import session

        result = self.build(lesson, progress)  # first: a compiler error needs no lab
        lab = self.ensure_lab(progress)
        if getattr(getattr(lesson, "lab", None), "legacy_ip", False) and not lab.legacy_ip:
            # The lesson needs IPv4: adding it rebuilds the lab, so detach first
            # (the rebuild would take our link with it).
            with self._lock:
                self._detach_locked()
            lab = self.ensure_lab(progress, legacy_ip=True)
        program = program or getattr(lesson, "default_program", None) or None
        with self._lock:
            self._detach_locked()
            progress(f"loading {program or 'program'} and attaching to {lab.outer} ({self.mode})…")
            if self._closed:  # the app is leaving: attach nothing more
                raise XdpTuiError("the session is closing; nothing attached")
            loaded = session.load_program(result.obj, lab.outer, program=program, mode=self.mode)
            tracers, tc = _attach_companions(lesson, Path(result.obj), loaded, progress)
            self._attached = Attached(
                lesson_id=lesson.id,
                dev=lab.outer,
                program=loaded.prog_name,
                mode=loaded.mode,
                prog_id=loaded.prog_id,
                obj=Path(result.obj),
                handle=loaded,
                tracers=tracers,
                tc=tc,
            )
            self._start_observers(lab.outer)
            return self._attached

    def detach(self) -> bool:
        with self._lock:
            return self._detach_locked()

    def _detach_locked(self) -> bool:
        attached, self._attached = self._attached, None
        if attached is None:
            return False
        self._stop_sampler()
        attached.close()
        self._attached_devs.add(attached.dev)
        return True

    def _unpin_session_devs(self) -> None:
        """Remove the pins this session's programs left (kept between attaches for basic04)."""
        from xdp_tui.engine import session

        for dev in sorted(self._attached_devs):
            with contextlib.suppress(Exception):  # leaving must go on
                session.unload(dev)
        self._attached_devs.clear()

    @property
    def attached(self) -> Attached | None:
        return self._attached

    def cycle_mode(self) -> str:
        self.mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)]
        return self.mode

    def notes(self) -> list[str]:
        attached = self._attached
        return list(getattr(attached.handle, "notes", []) or []) if attached else []

    def object_info(self, lesson: Any) -> Any:
        """What is inside the lesson's built object (and, once loaded, the translated code)."""
        from xdp_tui.engine import objinfo

        result = self.build(lesson)
        return objinfo.describe_object(Path(result.obj), Path(result.source))

    def loaded_code(self) -> tuple[int, list[Any]] | None:
        """(prog id, the verifier's translated instructions) of the attached program."""
        from xdp_tui.engine import objinfo

        attached = self._attached
        if attached is None:
            return None
        source = getattr(attached.handle, "source", None)
        return attached.prog_id, objinfo.describe_loaded(attached.prog_id, source)

    # ---- live samples ------------------------------------------------------------

    def _start_observers(self, dev: str) -> None:
        from xdp_tui.engine import stats

        self._stop_sampler()
        try:
            self._sampler = stats.StatsSampler(dev, run_stats=True)
        except XdpTuiError:  # run statistics are a bonus, not a requirement
            self._sampler = stats.StatsSampler(dev)

    def _stop_sampler(self) -> None:
        sampler, self._sampler = self._sampler, None
        if sampler is not None:
            with contextlib.suppress(Exception):
                sampler.close()

    def start_monitor(self) -> str | None:
        """Start the exception monitor and the bpf_printk reader; a note when one cannot run."""
        from xdp_tui.engine import monitor

        notes = []
        if self._monitor is None:
            try:
                self._monitor = monitor.ExceptionMonitor().start()
            except Exception as exc:  # noqa: BLE001 - bcc may lack kernel headers
                notes.append(f"exception monitor unavailable: {_words(exc)}")
        if self._trace is None:
            try:
                self._trace = monitor.open_printk_reader()
            except Exception as exc:  # noqa: BLE001 - tracefs may not be mounted
                notes.append(f"bpf_printk log unavailable: {_words(exc)}")
        return "; ".join(notes) or None

    def sample(self) -> dict[str, Any] | None:
        """One live sample (the `stats --json` shape + monitor keys); None when idle."""
        with self._lock:
            attached, sampler = self._attached, self._sampler
            if attached is None or sampler is None:
                return None
            data: dict[str, Any] = sampler.sample()
        if "interface" in data:  # the live pane calls it "iface"
            data["iface"] = data["interface"]
        data.setdefault("maps", {}).update(_companion_maps(attached))
        data["exceptions"] = self._exception_counts()
        data["trace"] = self._trace_lines()
        return data

    def _exception_counts(self) -> dict[Any, int]:
        if self._monitor is None:
            return {}
        try:
            counts: dict[Any, int] = dict(self._monitor.counts())
            errors = self._monitor.redirect_errors()
        except Exception:  # noqa: BLE001 - a monitor hiccup must not stop the live view
            return {}
        if errors:
            labels: dict[str, int] = {}
            for error in errors:
                label = f"prog {error.prog_id}: {error.error}"
                labels[label] = labels.get(label, 0) + error.count
            counts["redirect_errors"] = labels
        return counts

    def _trace_lines(self) -> list[str]:
        if self._trace is None:
            return []
        try:
            lines = self._trace.read(0.0)
        except Exception:  # noqa: BLE001
            return []
        return [f"{line.task}-{line.pid} {line.message}" for line in lines]

    # ---- traffic -------------------------------------------------------------------

    def ping(self, count: int = 5) -> Any:
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
        send = traffic.udp_stream if choice.kind == "udp" else traffic.tcp_syn_stream
        port = int(choice.port)
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

    def stream(self, pps: int | None, on_chunk: Callable[[Any], None], chunk_s: float = 0.5) -> int:
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

    def run_check(self, lesson: Any, assignment: Any | None) -> list[CheckOutcome]:
        """Run one assignment's check (all when None); run_checks saves the progress."""
        from xdp_tui import checks

        assignment_id = str(assignment.id) if assignment is not None else None
        results = checks.run_checks(lesson, assignment_id)
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
        """Attachments and pins earlier sessions left on lab interfaces."""
        found: list[Leftover] = []
        try:
            import testenv

            labs = [lab["outer"] for lab in testenv.status().get("labs", [])]
        except Exception:  # noqa: BLE001 - no labs, nothing to report
            return found
        with self._lock:  # not while this session is attaching (it would look like a leftover)
            ours = self._session_devs()
            for dev in labs:
                if dev not in ours:
                    found.extend(self._leftovers_on(dev))
        return found

    def _session_devs(self) -> set[str]:
        """Interfaces this session attached to (now or earlier): never leftovers."""
        current = {self._attached.dev} if self._attached is not None else set()
        return self._attached_devs | current

    def _leftovers_on(self, dev: str) -> list[Leftover]:
        from xdp_tui.engine import attach

        found = []
        try:
            status = attach.query(dev)
        except Exception:  # noqa: BLE001 - interface vanished meanwhile
            status = None
        if status is not None and status.prog_id and not self._held_by_live_session(dev):
            found.append(Leftover("attach", dev, f"{status.prog_name} (id {status.prog_id})"))
        pins = paths.pin_dir(dev)
        if pins.is_dir() and any(pins.iterdir()) and not self._held_by_live_session(dev):
            found.append(Leftover("pins", dev, str(pins)))
        return found

    @staticmethod
    def _held_by_live_session(dev: str) -> bool:
        """Another running xdp-tui holds DEV: its attach is not a leftover."""
        import os

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
        with self._lock:
            ours = self._session_devs()
        for dev in sorted({item.dev for item in leftovers} - ours):
            result = session.unload(dev, force=True)
            if result.get("detached"):
                done.append(f"detached the program on {dev}")
            if result.get("pins_removed"):
                done.append(f"removed {len(result['pins_removed'])} pin(s) of {dev}")
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
        with self._lock:
            self._closed = True
            try:
                self._detach_locked()
                self._unpin_session_devs()
            finally:
                for observer in (self._monitor, self._trace):
                    if observer is not None:
                        with contextlib.suppress(Exception):  # leaving must go on
                            observer.close()
                self._monitor = self._trace = None


def _attach_companions(
    lesson: Any, obj: Path, loaded: Any, progress: Progress
) -> tuple[list[Any], list[Any]]:
    """Attach the lesson's tracepoint and TC programs from OBJ beside LOADED (the XDP
    program); on any failure detach all of them, LOADED too, and raise."""
    from xdp_tui.engine.tc import attach_tc_program
    from xdp_tui.engine.tracepoint import attach_tracepoint_program

    tracers: list[Any] = []
    tc: list[Any] = []
    try:
        for name in getattr(lesson, "tracepoint_programs", ()):
            progress(f"attaching {name} to its tracepoint…")
            tracers.append(attach_tracepoint_program(obj, name))
        for name in getattr(lesson, "tc_programs", ()):
            progress(f"attaching {name} to {loaded.dev} TC ingress…")
            tc.append(attach_tc_program(obj, name, loaded.dev))
    except BaseException:
        for companion in [*tracers, *tc]:
            companion.close()
        loaded.close()
        raise
    return tracers, tc


def _companion_maps(attached: Attached) -> dict[str, dict[str, Any]]:
    """The maps of the programs beside XDP, for the live view: a tracepoint program's
    keys are ifindexes, shown as interface names; a TC program's as they are."""
    from xdp_tui.engine.ifnames import live_map_by_interface
    from xdp_tui.engine.maps import read_map

    maps: dict[str, dict[str, Any]] = {}
    for tracer in attached.tracers:
        for name, fd in tracer.maps.items():
            with contextlib.suppress(XdpTuiError):  # a hiccup must not stop the live view
                maps[f"{name} · {tracer.tracepoint}"] = live_map_by_interface(read_map(fd))
    for tc in attached.tc:
        for name, fd in tc.maps.items():
            with contextlib.suppress(XdpTuiError):
                maps[f"{name} · tc {tc.direction}"] = read_map(fd).to_dict()
    return maps


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _words(exc: BaseException) -> str:
    return exc.render() if isinstance(exc, XdpTuiError) else str(exc)
