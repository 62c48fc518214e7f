"""The packet workbench: run an XDP program on one crafted frame with BPF_PROG_TEST_RUN.

    with TestRunner.open(Path("xdp_prog_kern.c"), program="xdp_parser_func") as runner:
        result = runner.run(frame_from_spec("icmp6-echo:seq=2"), repeat=1)
        result.verdict_name, result.data_out, result.map_changes, result.duration_ns

The program is a private copy: loaded from the file without pins, so its
maps are its own and nothing attached on a lab changes. Maps are read
before and after each run and the entries that changed are reported (for a
repeated run, the change of all runs together).

Saved cases (a name and a spec per line of a JSON list) live next to the
learner's workspace, written by `save_cases` only.
"""

from __future__ import annotations

import ctypes as C
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xdp_tui.engine import bpfsys
from xdp_tui.engine.actions import action_name
from xdp_tui.engine.closable import Closable
from xdp_tui.errors import XdpTuiError

MAX_REPEAT = 10_000_000
OUT_ROOM = 4096  # a program may grow the frame (bpf_xdp_adjust_head/tail)
CASES_FILE = "packet-cases.json"


@dataclass(frozen=True)
class MapChange:
    map: str
    key: Any
    before: Any  # None: the entry did not exist
    after: Any  # None: the entry was deleted

    def describe(self) -> str:
        return f"{self.map}[{self.key}]: {self.before} -> {self.after}"


@dataclass(frozen=True)
class TestRunResult:
    __test__ = False  # not a pytest class

    retval: int
    duration_ns: int  # per run, as the kernel measured it
    repeat: int
    data_in: bytes
    data_out: bytes
    map_changes: list[MapChange] = field(default_factory=list)

    @property
    def verdict_name(self) -> str:
        return action_name(self.retval)

    @property
    def changed(self) -> bool:
        return self.data_in != self.data_out

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `xdp-tui run --json`."""
        return {
            "verdict": self.verdict_name,
            "retval": self.retval,
            "duration_ns": self.duration_ns,
            "repeat": self.repeat,
            "len_in": len(self.data_in),
            "len_out": len(self.data_out),
            "data_out": self.data_out.hex(),
            "changed": self.changed,
            "maps": [
                {"map": c.map, "key": c.key, "before": c.before, "after": c.after}
                for c in self.map_changes
            ],
        }


def run_frame(prog_fd: int, frame: bytes, repeat: int = 1) -> tuple[int, int, bytes]:
    """(retval, ns per run, output frame) of one BPF_PROG_TEST_RUN."""
    if not 1 <= repeat <= MAX_REPEAT:
        raise XdpTuiError(f"repeat {repeat} is outside 1..{MAX_REPEAT}", location="--repeat")
    data_in = C.create_string_buffer(frame, len(frame))
    out = C.create_string_buffer(len(frame) + OUT_ROOM)
    opts = bpfsys.TestRunOpts(
        data_in=C.cast(data_in, C.c_void_p),
        data_size_in=len(frame),
        data_out=C.cast(out, C.c_void_p),
        data_size_out=len(out),
        repeat=repeat,
    )
    ret = bpfsys.prog_test_run(prog_fd, opts)
    if ret != 0:
        err = -ret if ret < 0 else C.get_errno()
        raise XdpTuiError(
            f"the kernel could not run the program on this {len(frame)}-byte frame: "
            f"{os.strerror(err)} (errno {err})",
            location="BPF_PROG_TEST_RUN",
            hint="XDP test runs need a frame of 14 to ~3500 bytes",
        )
    return int(opts.retval), int(opts.duration), out.raw[: opts.data_size_out]


class TestRunner(Closable):
    """A private copy of an XDP program, loaded once and run on frames on demand."""

    __test__ = False

    def __init__(self, obj: Any, program: str) -> None:
        self._obj = obj
        self.program = program
        self.prog_fd = obj.program_fd(program)

    @classmethod
    def open(
        cls, path: Path, *, program: str | None = None, build_to: Path | None = None
    ) -> TestRunner:
        """Build (if .c) and load PATH's program without pins.

        build_to: where the object of a .c goes (the TUI: the learner's build folder
        under the run folder, root's own); None: beside the source, written as the
        learner, as `xdp-tui run FILE.c` does.
        """
        from xdp_tui.engine.libbpf import BpfObject

        obj_path, source = _object_to_run(Path(path), build_to)
        obj = BpfObject.open(obj_path, source=source)
        try:
            name = obj.load(program)
            return cls(obj, name)
        except BaseException:
            obj.close()
            raise

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every map entry by map name and key (as JSON text, so any key shape compares)."""
        from xdp_tui.engine.maps import read_map

        found: dict[str, dict[str, Any]] = {}
        for name, fd in self._obj.map_fds().items():
            decoded = read_map(fd)
            found[name] = {json.dumps(e["key"], default=str): e["value"] for e in decoded.entries}
        return found

    def run(self, frame: bytes, repeat: int = 1) -> TestRunResult:
        before = self.snapshot()
        retval, duration, out = run_frame(self.prog_fd, frame, repeat)
        return TestRunResult(
            retval=retval,
            duration_ns=duration,
            repeat=repeat,
            data_in=frame,
            data_out=out,
            map_changes=diff_snapshots(before, self.snapshot()),
        )

    def close(self) -> None:
        if self._obj is not None:
            self._obj.close()
            self._obj = None


def _object_to_run(path: Path, build_to: Path | None) -> tuple[Path, Path | None]:
    """(object file, C source or None) of PATH, built into BUILD_TO when given."""
    from xdp_tui.engine.session import object_for

    if build_to is not None and path.suffix == ".c":
        from xdp_tui.engine.build import build_or_raise

        result = build_or_raise(path, build_to)
        return result.obj, result.source
    obj_path, source, _ = object_for(path)
    return obj_path, source


def diff_snapshots(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> list[MapChange]:
    changes = []
    for name, entries in after.items():
        old = before.get(name, {})
        for key in sorted(set(old) | set(entries)):
            if old.get(key) != entries.get(key):
                changes.append(MapChange(name, json.loads(key), old.get(key), entries.get(key)))
    return changes


# ---- saved cases --------------------------------------------------------------


@dataclass(frozen=True)
class SavedCase:
    name: str
    spec: str


CASES_MAX_BYTES = 1 << 20  # thousands of cases; more is not a case list


def cases_path(workspace_source: Path) -> Path:
    """Where a lesson's saved cases live: beside the learner's copy of the program."""
    return workspace_source.parent / CASES_FILE


def load_cases(path: Path) -> list[SavedCase]:
    """The saved cases (none when there is no file); read as the learner, no links, capped."""
    from xdp_tui import userfiles

    if not userfiles.is_file(path):  # none yet, or a link: never read through it
        return []
    try:
        data = json.loads(userfiles.read_text(path, CASES_MAX_BYTES))
        return [SavedCase(str(c["name"]), str(c["spec"])) for c in data]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:  # "[[[[...": too deep
        raise XdpTuiError(
            f"the saved packet cases are unreadable: {exc}",
            location=str(path),
            hint='fix or remove the file; each case is {"name": ..., "spec": ...}',
        ) from None


def save_cases(path: Path, cases: list[SavedCase]) -> None:
    """Write the cases file as the learner (a new file renamed over it, never through a link).

    The one place the workbench writes into a learner's directory.
    """
    from xdp_tui import userfiles

    if userfiles.lexists(path) and not userfiles.is_file(path):
        raise XdpTuiError(
            "refusing to replace a symlink (or anything but a file) with the saved cases",
            location=str(path),
        )
    text = json.dumps([{"name": c.name, "spec": c.spec} for c in cases], indent=1) + "\n"
    userfiles.write_text(path, text)
