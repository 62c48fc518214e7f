"""Automatic checks for lesson assignments.

A lesson's `checks.py` defines one function per assignment:

    def check_bytes(ctx: CheckContext) -> CheckResult | None:
        ctx.load("xdp_stats1_func")
        before = ctx.stats()
        ctx.ping(count=5)
        ...
        if wrong:
            ctx.fail("bytes/packets is 1, expected 118")
        return ctx.passed("118 bytes per echo request")

A check works on PRIVATE labs (never the learner's test01: checks must not
disturb what the learner has attached) and judges only by what it can
observe. Everything it creates (labs, attachments, pins) is removed when it
returns or raises. A build or load error becomes a failed result whose
detail is the located message, never a traceback.

What a check can use on `ctx`:
  ctx.source / ctx.obj / ctx.lesson / ctx.assignment   what is under test
  ctx.lab(role="test01", **opts)      private testenv Lab for a role
  ctx.load(program, role=, mode=)     engine.session.load_program -> LoadedProgram
  ctx.unload(role) / ctx.loaded(role) / ctx.map_fd(name, role) / ctx.map_info(name, role)
  ctx.read_map(name, role)            BTF-decoded (engine.maps.read_map)
  ctx.stats(role) / ctx.stats_delta(before, after)   {"XDP_PASS": {"packets", "bytes"}, ...}
  ctx.pin_path(map_name, role)        /sys/fs/bpf/<lab>/<map>
  ctx.ping / udp_stream / send_frames / build_udp_frame / tap   testenv.traffic on a role
  ctx.passed(detail) / ctx.fail(detail) / ctx.fail_because(what, exc) / ctx.expect(cond, detail) / ctx.defer(fn, *args)
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import itertools
import os
import struct
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, NoReturn

from xdp_tui import pins
from xdp_tui.engine.actions import XDP_ACTIONS
from xdp_tui.errors import Face, XdpTuiError
from xdp_tui.lessons import (
    Assignment,
    Lesson,
    Progress,
    solution_source,
    workspace_source,
)
from xdp_tui.paths import learner_build_dir, pin_dir, run_dir

if TYPE_CHECKING:
    from xdp_tui.engine.attach import Mode

ACTION_NAMES = XDP_ACTIONS  # lessons' checks import it from here
STATS_MAP = "xdp_stats_map"

# Private lab names: "xc" + pid + role initial + counter, well under 15 chars.
_lab_counter = itertools.count(1)


@dataclass
class CheckResult:
    assignment: str
    passed: bool
    detail: str
    hint: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "assignment": self.assignment,
            "passed": self.passed,
            "detail": self.detail,
            "hint": self.hint,
        }


class CheckFailed(Exception):
    """Raised by `ctx.fail(detail)`: the assignment is not done yet."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class CheckContext:
    """What a check function gets: the source under test, private labs, loads, traffic, stats."""

    def __init__(
        self,
        lesson: Lesson,
        assignment: Assignment,
        source: Path,
        obj: Path,
        stack: contextlib.ExitStack,
        face: Face = "cli",
    ) -> None:
        self.face = face  # whose words a failure's hint takes (errors.XdpTuiError.hint_for)
        self.lesson = lesson
        self.assignment = assignment
        self.source = source  # the C file under test (learner workspace or solution)
        self.obj = obj  # its build, made once per run_checks
        self._stack = stack
        self._labs: dict[str, Any] = {}
        self._loaded: dict[str, Any] = {}

    # ---- verdicts -------------------------------------------------------

    def passed(self, detail: str) -> CheckResult:
        return CheckResult(self.assignment.id, True, detail, "")

    def fail(self, detail: str) -> NoReturn:
        raise CheckFailed(detail)

    def fail_because(self, what: str, exc: XdpTuiError) -> NoReturn:
        """Fail with "WHAT: <the error> (<its hint>)", e.g. when a tool the check needs is busy."""
        hint = exc.hint_for(self.face)
        self.fail(f"{what}: {exc.message}" + (f" ({hint})" if hint else ""))

    def expect(self, condition: bool, detail: str) -> None:
        """Fail with DETAIL unless CONDITION holds."""
        if not condition:
            self.fail(detail)

    def defer(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run FN(*ARGS) when the check ends, pass or fail (cleanup of what the check made)."""
        self._stack.callback(_quietly, fn, *args)

    # ---- labs -----------------------------------------------------------

    def lab(self, role: str = "test01", **options: Any) -> Any:
        """A private lab for ROLE (made on first use, torn down after the check).

        Options default to the lesson's [lab] table (legacy_ip, vlan).
        """
        if role in self._labs:
            return self._labs[role]
        import testenv

        opts: dict[str, Any] = {"legacy_ip": self.lesson.lab.legacy_ip}
        if self.lesson.lab.vlan:
            opts["vlan"] = True
        opts.update(options)
        opts = _accepted_kwargs(testenv.setup, opts)
        name = f"xc{os.getpid() % 100000}{role[:1]}{next(_lab_counter)}"
        _sweep_orphan_labs()
        _register_lab(name)
        self._stack.callback(remove_check_lab, name)
        # The learner's current lab must stay theirs.
        lab = testenv.setup(name, make_current=False, **opts)
        self._labs[role] = lab
        return lab

    # ---- programs -------------------------------------------------------

    def load(self, program: str | None, role: str = "test01", mode: Mode = "auto") -> Any:
        """Build-once, load PROGRAM from the source under test and attach it on ROLE's lab.

        Replaces whatever this check had attached there before. Maps are
        pinned under /sys/fs/bpf/<lab iface>/ (removed after the check).
        """
        from xdp_tui.engine.session import load_program

        lab = self.lab(role)
        self.unload(role)
        loaded = load_program(self.obj, lab.outer, program=program, mode=mode, pin_maps=True)
        self._stack.callback(_close_quietly, loaded)
        self._loaded[role] = loaded
        return loaded

    def unload(self, role: str = "test01") -> None:
        """Detach what this check attached on ROLE (its pinned maps stay)."""
        loaded = self._loaded.pop(role, None)
        if loaded is not None:
            _close_quietly(loaded)

    def loaded(self, role: str = "test01") -> Any:
        if role not in self._loaded:
            raise XdpTuiError(f"check bug: nothing loaded on role {role!r}")
        return self._loaded[role]

    # ---- single packets: crafted frames and the capture at the hook ------

    def test_run(self, program: str | None, packet: str | bytes, repeat: int = 1) -> Any:
        """Run PROGRAM of the source under test on one frame with BPF_PROG_TEST_RUN.

        PACKET is a spec (`icmp6-echo:seq=2,truncate=57`, see engine.packetspec)
        or the frame's bytes. A private copy runs: no lab is needed, verdicts are
        deterministic and frames no ping can make (truncated, malformed) are easy.
        Returns engine.testrun.TestRunResult (.verdict_name, .data_out, .map_changes).
        """
        from xdp_tui.engine.packetspec import frame_from_spec
        from xdp_tui.engine.testrun import TestRunner

        key = f"test-run:{program}"
        if key not in self._loaded:
            runner = TestRunner.open(self.obj, program=program)
            self._stack.callback(runner.close)
            self._loaded[key] = runner
        frame = frame_from_spec(packet) if isinstance(packet, str) else packet
        return self._loaded[key].run(frame, repeat)

    def capture(self, role: str = "test01", **options: Any) -> Any:
        """Capture at the hook what the program loaded on ROLE does (engine.capture.Capture).

        Every packet by default (rate=0); stopped when the check ends.
        """
        from xdp_tui.engine.capture import Capture

        options.setdefault("rate", 0)
        cap = Capture.start(self.lab(role).outer, **options)
        self._stack.callback(cap.close)
        return cap

    def map_fd(self, name: str, role: str = "test01") -> int:
        """The fd of map NAME of the program loaded on ROLE."""
        maps = self.loaded(role).maps
        if name not in maps:
            self.fail(f"the program has no map named {name} (it has: {', '.join(maps) or 'none'})")
        return int(maps[name])

    def map_info(self, name: str = STATS_MAP, role: str = "test01") -> Any:
        from xdp_tui.engine import bpfsys

        return bpfsys.map_info(self.map_fd(name, role))

    def read_map(self, name: str, role: str = "test01") -> Any:
        """The map decoded through BTF (engine.maps.read_map)."""
        from xdp_tui.engine.maps import read_map

        return read_map(self.map_fd(name, role))

    def pin_path(self, map_name: str = STATS_MAP, role: str = "test01") -> Path:
        return pin_dir(self.lab(role).outer) / map_name

    # ---- traffic (all sent from inside the lab's namespace) ---------------

    def ping(self, role: str = "test01", count: int = 5, family: int = 6, **kw: Any) -> Any:
        from testenv import traffic

        return traffic.ping(self.lab(role), count, family=family, **kw)

    def udp_stream(self, role: str = "test01", **kw: Any) -> Any:
        from testenv import traffic

        return traffic.udp_stream(self.lab(role), **kw)

    def send_frames(self, frames: list[bytes], role: str = "test01") -> int:
        from testenv import traffic

        return traffic.send_frames(self.lab(role), frames)

    def build_udp_frame(self, port: int, role: str = "test01", **kw: Any) -> bytes:
        from testenv import traffic

        return traffic.build_udp_frame(self.lab(role), port, **kw)

    def tap(self, role: str = "test01") -> Any:
        """testenv.traffic.Tap on ROLE's outer interface (use as a context manager)."""
        from testenv import traffic

        return traffic.Tap(self.lab(role))

    # ---- the stats map --------------------------------------------------

    def stats(self, role: str = "test01", map_name: str = STATS_MAP) -> dict[str, dict[str, int]]:
        """Counters of the stats map: {"XDP_PASS": {"packets": n, "bytes": n}, ...}.

        Per-CPU values are summed. A value of 8 bytes (packets only) reports
        bytes as 0. Read raw, because the layout (struct datarec) is ours.
        """
        return read_stats(self.map_fd(map_name, role))

    def stats_delta(
        self, before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]
    ) -> dict[str, dict[str, int]]:
        return {
            action: {
                field: after.get(action, {}).get(field, 0) - before.get(action, {}).get(field, 0)
                for field in ("packets", "bytes")
            }
            for action in sorted(set(before) | set(after), key=_action_order)
        }


def read_stats(fd: int) -> dict[str, dict[str, int]]:
    """Read a struct-datarec stats map (ARRAY or PERCPU_ARRAY) behind FD."""
    from xdp_tui.engine import bpfsys

    info = bpfsys.map_info(fd)
    out: dict[str, dict[str, int]] = {}
    for key in range(info.max_entries):
        raw = bpfsys.lookup(fd, struct.pack("=I", key), info.value_size, per_cpu=info.per_cpu)
        values = raw if isinstance(raw, list) else [raw]
        packets = bytes_ = 0
        for value in values:
            if value is None:
                continue
            if len(value) >= 8:
                packets += struct.unpack_from("=Q", value, 0)[0]
            if len(value) >= 16:
                bytes_ += struct.unpack_from("=Q", value, 8)[0]
        name = ACTION_NAMES[key] if key < len(ACTION_NAMES) else f"KEY_{key}"
        out[name] = {"packets": packets, "bytes": bytes_}
    return out


def read_stats_per_cpu(fd: int) -> list[dict[str, int]]:
    """Per-CPU packet counts per action of a PERCPU stats map: one dict per CPU."""
    from xdp_tui.engine import bpfsys

    info = bpfsys.map_info(fd)
    per_cpu: list[dict[str, int]] = []
    for key in range(min(info.max_entries, len(ACTION_NAMES))):
        raw = bpfsys.lookup(fd, struct.pack("=I", key), info.value_size, per_cpu=True)
        for cpu, value in enumerate(raw or []):
            while len(per_cpu) <= cpu:
                per_cpu.append({})
            per_cpu[cpu][ACTION_NAMES[key]] = struct.unpack_from("=Q", value, 0)[0]
    return per_cpu


def _action_order(name: str) -> tuple[int, str]:
    return (ACTION_NAMES.index(name) if name in ACTION_NAMES else 99, name)


# ---- cleanup helpers ------------------------------------------------------


def _accepted_kwargs(fn: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    """Drop options FN does not take (e.g. vlan before testenv grows it)."""
    import inspect

    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return options
    return {k: v for k, v in options.items() if k in params}


def _quietly(fn: Callable[..., Any], *args: Any) -> None:
    with contextlib.suppress(Exception):
        fn(*args)


def _close_quietly(loaded: Any) -> None:
    with contextlib.suppress(Exception):
        loaded.close()


def _registry() -> Path:
    return run_dir() / "check-labs"


def _register_lab(name: str) -> None:
    """Note who owns a private lab, so a crashed check's lab can be swept later."""
    folder = _registry()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(f"{os.getpid()}\n")


def _sweep_orphan_labs() -> None:
    """Remove private labs whose checking process died (killed mid-check)."""
    from xdp_tui.sweep import sweep_check_labs

    sweep_check_labs()


def remove_check_lab(name: str) -> None:
    """Tear down the private lab NAME, its pins and its registry entry."""
    import testenv

    # Pinned maps keep kernel memory alive: the pins xdp-tui made go with the lab.
    pins.remove_ours(name)
    with contextlib.suppress(Exception):
        testenv.teardown(name)
    (_registry() / name).unlink(missing_ok=True)


# ---- running --------------------------------------------------------------


def load_checks_module(lesson: Lesson) -> ModuleType:
    """Import lessons/<id>/checks.py by path (fresh each time, so edits count)."""
    path = lesson.checks_file
    if not path.is_file():
        raise XdpTuiError(f"lesson {lesson.id} has no checks", location=str(path))
    module_name = "xdp_tui_lesson_checks_" + lesson.id.replace("-", "_")
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise XdpTuiError("cannot import lesson checks", location=str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise XdpTuiError(f"lesson checks do not import: {exc!r}", location=str(path)) from exc
    return module


def source_under_test(lesson: Lesson, *, solution: bool = False) -> Path:
    return solution_source(lesson) if solution else workspace_source(lesson)


def build_for_checks(lesson: Lesson, source: Path, kind: str) -> Path:
    """Build SOURCE into a root-private folder (never next to a shipped file, never in a home).

    The folder is this process's own: two processes of one learner checking one
    lesson at once (the TUI's `c` beside `xdp-tui check`) would otherwise load
    each other's object between build and load. Within one process the build
    cache still spares an unchanged rebuild.
    """
    from xdp_tui.engine.build import build_or_raise

    result = build_or_raise(source, _own_check_folder(lesson) / f"{kind}-{source.stem}.o")
    return result.obj


# `<prefix><pid>-<token>`: one folder per live process under `.../<lesson>/checks/`,
# removed at its exit; what a killed process left is swept by the next check run.
_CHECK_FOLDER_PREFIX = "run-"
_check_folders: dict[Path, int] = {}  # folder -> the pid that made it (a fork is not its owner)


def _own_check_folder(lesson: Lesson) -> Path:
    import secrets
    import shutil

    from xdp_tui.process import left_by_dead_processes

    checks = learner_build_dir(lesson.id) / "checks"
    pid = os.getpid()
    for folder, owner in _check_folders.items():
        if owner == pid and folder.parent == checks:
            return folder
    checks.mkdir(mode=0o700, parents=True, exist_ok=True)
    for left in left_by_dead_processes(checks, _CHECK_FOLDER_PREFIX):
        shutil.rmtree(left, ignore_errors=True)
    folder = checks / f"{_CHECK_FOLDER_PREFIX}{pid}-{secrets.token_hex(4)}"
    folder.mkdir(mode=0o700)
    if not _check_folders:
        atexit.register(_remove_own_check_folders)
    _check_folders[folder] = pid
    return folder


def _remove_own_check_folders() -> None:
    import shutil

    for folder, owner in list(_check_folders.items()):
        if owner == os.getpid():
            shutil.rmtree(folder, ignore_errors=True)
            del _check_folders[folder]


def run_checks(
    lesson: Lesson,
    assignment: str | None = None,
    *,
    solution: bool = False,
    source: Path | None = None,
    progress: bool | None = None,
    face: Face = "cli",
) -> list[CheckResult]:
    """Run the checks of LESSON (all, or just ASSIGNMENT) on the learner's code or the solution.

    FACE: who shows the results (a failure's hint in the TUI's words for "tui").

    SOURCE overrides the file under test (tests use it for starters).
    Results go to the progress store when the learner's own workspace was
    checked (not for the solution or an explicit SOURCE) unless PROGRESS says otherwise.
    """
    asked = [lesson.assignment(assignment)] if assignment else list(lesson.assignments)
    record = progress if progress is not None else (not solution and source is None)
    if source is None:
        source = source_under_test(lesson, solution=solution)
    kind = "solution" if solution else "learner"
    module = load_checks_module(lesson)

    results: list[CheckResult] = []
    try:
        obj = build_for_checks(lesson, source, kind)
    except XdpTuiError as exc:
        results = [_failed(item, _render(exc, face)) for item in asked]
    else:
        results = [_run_one(lesson, item, module, source, obj, face) for item in asked]

    if record:
        store = Progress.load()
        for result in results:
            title = lesson.assignment(result.assignment).title
            store.mark(lesson.id, result.assignment, result.passed, result.detail, title=title)
    return results


def check_assignment(
    lesson: Lesson,
    assignment_id: str,
    *,
    solution: bool = False,
    source: Path | None = None,
    progress: bool | None = None,
) -> CheckResult:
    """Check the ONE assignment the learner chose (recorded like run_checks)."""
    [result] = run_checks(
        lesson,
        lesson.assignment(assignment_id).id,
        solution=solution,
        source=source,
        progress=progress,
    )
    return result


def _run_one(
    lesson: Lesson, item: Assignment, module: ModuleType, source: Path, obj: Path, face: Face
) -> CheckResult:
    fn = getattr(module, item.check, None)
    if not callable(fn):
        return _failed(item, f"{lesson.checks_file}: no check function {item.check}()")
    try:
        with contextlib.ExitStack() as stack:
            ctx = CheckContext(lesson, item, source, obj, stack, face)
            outcome = fn(ctx)
    except CheckFailed as exc:
        return _failed(item, exc.detail)
    except XdpTuiError as exc:
        return _failed(item, _render(exc, face))
    except Exception as exc:  # a defect in the check itself: say where, briefly
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        return _failed(
            item,
            f"internal error in check {item.check} at {frame.filename}:{frame.lineno}: {exc!r}",
        )
    if outcome is None:
        return CheckResult(item.id, True, "ok", "")
    outcome.assignment = item.id
    if not outcome.passed and not outcome.hint:
        outcome.hint = item.hint
    return outcome


def _failed(item: Assignment, detail: str) -> CheckResult:
    return CheckResult(item.id, False, detail, item.hint)


def _render(exc: XdpTuiError, face: Face) -> str:
    text = exc.render(face)
    report = getattr(exc, "report", None)  # verifier errors: add the explanation
    explanation = getattr(report, "explanation", None)
    if explanation and explanation not in text:
        text += f"\n  {explanation}"
    return text
