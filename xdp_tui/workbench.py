"""The app's service layer: the only place the TUI reaches the engine, testenv, lessons and checks.

Every method here may block (clang, netlink, the kernel), so the UI calls
them from thread workers and never from an event handler. Nothing in this
module imports Textual: it returns plain data (dicts, dataclasses) that the
screens turn into widgets.

One `Workbench` per app session. It remembers what this session attached
so that `close()` can undo it on every way out (quit, SIGTERM, SIGHUP).
"""

from __future__ import annotations

import shutil
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


class IfaceRates:
    """rx/tx packet and bit rates of one interface from sysfs (cheap: ~30 µs a read)."""

    FIELDS = ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes")

    def __init__(self, dev: str) -> None:
        self.dev = dev
        self._last: tuple[float, dict[str, int]] | None = None

    def _read(self) -> dict[str, int]:
        base = Path("/sys/class/net") / self.dev / "statistics"
        return {name: int((base / name).read_text()) for name in self.FIELDS}

    def update(self) -> dict[str, float]:
        try:
            now, counters = time.monotonic(), self._read()
        except OSError:
            return {}
        result: dict[str, float] = dict(counters)
        if self._last is not None:
            then, before = self._last
            span = max(now - then, 1e-6)
            result["rx_pps"] = (counters["rx_packets"] - before["rx_packets"]) / span
            result["tx_pps"] = (counters["tx_packets"] - before["tx_packets"]) / span
            result["rx_bps"] = 8 * (counters["rx_bytes"] - before["rx_bytes"]) / span
            result["tx_bps"] = 8 * (counters["tx_bytes"] - before["tx_bytes"]) / span
        self._last = (now, counters)
        return result


class Workbench:
    """Lessons, lab, build/attach, live samples, traffic and checks for one app session."""

    def __init__(self, lab: str | None = None) -> None:
        self._requested_lab = lab
        self._lock = threading.RLock()
        self._attached: Attached | None = None
        self._sampler: Any = None
        self._run_stats: Any = None
        self._iface: IfaceRates | None = None
        self._monitor: Any = None
        self._trace: Any = None
        self._stream_stop = threading.Event()
        self.mode = "auto"

    # ---- lessons ------------------------------------------------------------

    def lessons(self) -> list[Any]:
        from xdp_tui import lessons

        return sorted(lessons.catalog(), key=lambda lesson: (lesson.order, lesson.id))

    def passed(self) -> dict[str, set[str]]:
        """Assignments passed so far, per lesson id."""
        from xdp_tui import lessons

        progress = lessons.Progress.load()
        return {lesson.id: set(progress.passed(lesson.id)) for lesson in self.lessons()}

    def readme_path(self, lesson: Any) -> Path:
        readme = Path(lesson.readme) if getattr(lesson, "readme", None) else None
        if readme is not None and not readme.is_absolute():
            readme = Path(lesson.dir) / readme
        return readme or Path(lesson.dir) / "README.md"

    def source_path(self, lesson: Any) -> Path:
        """The learner's copy of the lesson source (made from the starter on first use)."""
        from xdp_tui import lessons

        return Path(lessons.workspace_source(lesson))

    def solution_path(self, lesson: Any) -> Path:
        from xdp_tui import lessons

        return Path(lessons.solution_source(lesson))

    def reset_source(self, lesson: Any) -> Path:
        from xdp_tui import lessons

        lessons.reset_workspace(lesson)
        return self.source_path(lesson)

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
    def lab_name(self) -> str:
        if self._requested_lab:
            return self._requested_lab
        try:
            import testenv

            return testenv.current() or DEFAULT_LAB
        except Exception:  # noqa: BLE001 - no lab records yet: use the tutorial's default
            return DEFAULT_LAB

    def ensure_lab(self, progress: Progress = _no_progress) -> Any:
        """The session's lab, created when missing or broken."""
        import testenv

        name = self.lab_name
        try:
            lab = testenv.get(name)
            if self._lab_healthy(name):
                return lab
            progress(f"repairing lab {name}…")
        except XdpTuiError:
            progress(f"creating lab {name}…")
        return testenv.setup(name)

    @staticmethod
    def _lab_healthy(name: str) -> bool:
        import testenv

        for lab in testenv.status().get("labs", []):
            if lab.get("name") == name:
                return bool(lab.get("healthy", True))
        return False

    def lab_status(self) -> dict[str, Any]:
        """testenv.status() narrowed to the session's lab ({} when it does not exist)."""
        try:
            import testenv

            for lab in testenv.status().get("labs", []):
                if lab.get("name") == self.lab_name:
                    return dict(lab)
        except Exception:  # noqa: BLE001 - status is informative only
            pass
        return {"name": self.lab_name, "missing": True}

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
        """Lab (created when missing) → build → load + attach with the current mode."""
        from xdp_tui.engine import session

        lab = self.ensure_lab(progress)
        result = self.build(lesson, progress)
        program = program or getattr(lesson, "default_program", None) or None
        with self._lock:
            self._detach_locked()
            progress(f"loading {program or 'program'} and attaching to {lab.outer} ({self.mode})…")
            loaded = session.load_program(result.obj, lab.outer, program=program, mode=self.mode)
            self._attached = Attached(
                lesson_id=lesson.id,
                dev=lab.outer,
                program=loaded.prog_name,
                mode=loaded.mode,
                prog_id=loaded.prog_id,
                obj=Path(result.obj),
                handle=loaded,
            )
            self._start_observers(lab.outer)
            return self._attached

    def detach(self) -> bool:
        with self._lock:
            return self._detach_locked()

    def _detach_locked(self) -> bool:
        attached, self._attached = self._attached, None
        self._sampler = None
        if attached is None:
            return False
        attached.handle.close()
        return True

    @property
    def attached(self) -> Attached | None:
        return self._attached

    def cycle_mode(self) -> str:
        self.mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)]
        return self.mode

    def notes(self) -> list[str]:
        attached = self._attached
        return list(getattr(attached.handle, "notes", []) or []) if attached else []

    def object_info(self, obj: Path | None = None) -> Any:
        """What is inside the built object (and, once loaded, the translated code)."""
        from xdp_tui.engine import objinfo

        attached = self._attached
        obj = obj or (attached.obj if attached else None)
        if obj is None:
            raise XdpTuiError("nothing built yet", hint="press b to build and attach")
        prog_id = attached.prog_id if attached and attached.obj == obj else None
        return objinfo.object_info(obj, prog_id=prog_id)

    # ---- live samples ------------------------------------------------------------

    def _start_observers(self, dev: str) -> None:
        from xdp_tui.engine import stats

        self._sampler = stats.StatsSampler(dev)
        self._iface = IfaceRates(dev)
        if self._run_stats is None:
            try:
                self._run_stats = stats.RunStats()
            except Exception:  # noqa: BLE001 - run stats are a bonus, not a requirement
                self._run_stats = None

    def start_monitor(self) -> str | None:
        """Start the exception monitor and the bpf_printk reader; a note when not possible."""
        notes = []
        try:
            from xdp_tui.engine import monitor

            if self._monitor is None:
                self._monitor = monitor.ExceptionMonitor()
                self._monitor.start()
        except Exception as exc:  # noqa: BLE001 - bcc may lack kernel headers
            self._monitor = None
            notes.append(f"exception monitor unavailable: {exc}")
        try:
            from xdp_tui.engine import monitor

            if self._trace is None:
                self._trace = monitor.TracePipe()
                start = getattr(self._trace, "start", None)
                if start:
                    start()
        except Exception as exc:  # noqa: BLE001 - tracefs may be missing
            self._trace = None
            notes.append(f"bpf_printk log unavailable: {exc}")
        return "; ".join(notes) or None

    def sample(self) -> dict[str, Any] | None:
        """One live sample (the `stats --json` shape + iface/run/monitor keys); None when idle."""
        with self._lock:
            attached, sampler = self._attached, self._sampler
            iface, run_stats = self._iface, self._run_stats
        if attached is None or sampler is None:
            return None
        raw = sampler.sample()
        data: dict[str, Any] = raw.to_dict() if hasattr(raw, "to_dict") else dict(raw)
        if iface is not None:
            data["iface"] = iface.update()
        if run_stats is not None:
            data["run"] = self._run_sample(run_stats, attached.prog_id)
        data["exceptions"] = self._exception_counts()
        data["trace"] = self._trace_lines()
        return data

    @staticmethod
    def _run_sample(run_stats: Any, prog_id: int) -> dict[str, float]:
        try:
            run_cnt, run_time_ns = run_stats.read(prog_id)
        except Exception:  # noqa: BLE001 - the program may just have gone
            return {}
        per_run = run_time_ns / run_cnt if run_cnt else 0.0
        return {"run_cnt": run_cnt, "run_time_ns": run_time_ns, "ns_per_run": per_run}

    def _exception_counts(self) -> dict[str, int]:
        if self._monitor is None:
            return {}
        try:
            counts = self._monitor.counts()
        except Exception:  # noqa: BLE001
            return {}
        return {f"{prog_id}:{action}": n for (prog_id, action), n in counts.items()}

    def _trace_lines(self) -> list[str]:
        reader = self._trace
        if reader is None:
            return []
        for name in ("read_lines", "lines", "poll", "read"):
            fn = getattr(reader, name, None)
            if callable(fn):
                try:
                    return [str(line) for line in (fn() or [])]
                except Exception:  # noqa: BLE001
                    return []
        return []

    # ---- traffic -------------------------------------------------------------------

    def ping(self, count: int = 5) -> Any:
        from testenv import traffic

        return traffic.ping(self.ensure_lab(), count=count)

    def stream(self, pps: int, on_chunk: Callable[[Any], None], chunk_s: float = 0.5) -> int:
        """Send UDP at `pps` from inside the lab until stop_stream(); returns frames sent."""
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
        """Run one assignment's check (all when None) and save progress."""
        from xdp_tui import checks, lessons

        assignment_id = str(assignment.id) if assignment is not None else None
        results = checks.run_checks(lesson, assignment_id)
        titles = {str(a.id): a for a in getattr(lesson, "assignments", [])}
        progress = lessons.Progress.load()
        outcomes = []
        for result in results:
            aid = str(getattr(result, "assignment", assignment_id) or assignment_id or "")
            spec = titles.get(aid)
            passed = bool(getattr(result, "passed", False))
            outcomes.append(
                CheckOutcome(
                    assignment=aid,
                    title=getattr(spec, "title", aid),
                    passed=passed,
                    detail=str(getattr(result, "detail", "") or ""),
                    hint=str(getattr(result, "hint", "") or getattr(spec, "hint", "") or ""),
                )
            )
            if aid:
                progress.mark(lesson.id, aid, passed)
        save = getattr(progress, "save", None)
        if callable(save):
            save()
        return outcomes

    # ---- leftovers and leaving --------------------------------------------------------

    def leftovers(self) -> list[Leftover]:
        """Attachments and pins earlier sessions left on lab interfaces."""
        found: list[Leftover] = []
        try:
            import testenv

            labs = [lab["outer"] for lab in testenv.status().get("labs", [])]
        except Exception:  # noqa: BLE001 - no labs, nothing to report
            return found
        for dev in labs:
            found.extend(self._leftovers_on(dev))
        return found

    def _leftovers_on(self, dev: str) -> list[Leftover]:
        found = []
        try:
            from xdp_tui.engine import attach

            status = attach.query(dev)
            if status.prog_id:
                found.append(Leftover("attach", dev, f"{status.prog_name} (id {status.prog_id})"))
        except Exception:  # noqa: BLE001 - interface vanished meanwhile
            pass
        pins = paths.pin_dir(dev)
        if pins.is_dir() and any(pins.iterdir()):
            found.append(Leftover("pins", dev, str(pins)))
        return found

    def cleanup(self, leftovers: list[Leftover]) -> list[str]:
        """Detach and unpin what earlier sessions left; returns what was done."""
        from xdp_tui.engine import attach

        done = []
        for item in leftovers:
            if item.kind == "attach":
                if attach.detach(item.dev):
                    done.append(f"detached from {item.dev}")
            else:
                shutil.rmtree(item.what, ignore_errors=True)
                done.append(f"removed {item.what}")
        return done

    def close(self) -> None:
        """Undo everything this session did (idempotent; safe from signal paths)."""
        self.stop_stream()
        with self._lock:
            try:
                self._detach_locked()
            finally:
                for observer in (self._monitor, self._trace, self._run_stats):
                    stop = getattr(observer, "close", None) or getattr(observer, "stop", None)
                    if callable(stop):
                        try:
                            stop()
                        except Exception:  # noqa: BLE001 - leaving must go on
                            pass
                self._monitor = self._trace = self._run_stats = None
