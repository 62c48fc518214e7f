"""Compile a C file into a BPF object with clang, and explain what clang said.

Flags: the tutorial builds with `-Werror`. We keep `-Wall` but do not make
warnings fatal: a learner's unused variable should show up as a warning in
the diagnostics list, not block loading the program they are experimenting
with. The `-Wno-...` flags silence warnings that ordinary BPF idioms trigger
(pointer casts of ctx->data, comparisons of distinct pointer types).

An unchanged build is not redone: a stamp file next to the object records a
hash of the flags, the clang binary (path, size, mtime), the source and every
header it included (clang's own dependency list, `-MD`).

A warm compiler: half of compiling a small lesson file is clang starting
(mapping libLLVM and running its static constructors, ~25 ms). So clang
reads the source from stdin, and after a build we start the next clang
(from a thread; after the attach when the build is part of a load, see
next_compiler_after): it gets through its start-up on the other core and
then waits for its input. The next build of a file in the same folder only feeds it the
text. A `#line 1 "<path>"` in front keeps diagnostics, debug info and BTF
line info naming the real file; clang runs in the source's folder so
`#include "x.h"` finds the same headers. One-shot commands (the CLI) run
inside `one_shot_builds()`, which turns this off and restores it after.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from xdp_tui import config, paths, userfiles
from xdp_tui.errors import XdpTuiError
from xdp_tui.paths import bpf_include_dir
from xdp_tui.process import left_by_dead_processes

Severity = Literal["error", "warning", "note"]

CLANG = config.clang()

WARNING_FLAGS = [
    "-Wall",
    "-Wno-unused-value",
    "-Wno-pointer-sign",
    "-Wno-compare-distinct-pointer-types",
    "-Wno-visibility",
]
# -fno-crash-diagnostics: a crashing clang would otherwise leave a
# preprocessed copy of the learner's file and a script in /tmp.
CODEGEN_FLAGS = ["-O2", "-g", "-target", "bpf", "-fno-stack-protector", "-fno-crash-diagnostics"]
# The per-workspace include list: a file in the source's folder.
WORKSPACE_CONFIG = "xdp-tui.toml"
WORKSPACE_CONFIG_MAX_BYTES = 64 * 1024
# Plain, parseable diagnostics; the caret lines stay for the raw text.
# No crash reproducers: a clang stopped at its memory limit would leave
# copies of the learner's source in /tmp.
DIAGNOSTIC_FLAGS = ["-fno-color-diagnostics", "-fdiagnostics-show-option", "-fno-crash-diagnostics"]

_DIAG_LINE = re.compile(
    r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): "
    r"(?P<sev>fatal error|error|warning|note): (?P<msg>.*)$"
)


@dataclass(frozen=True)
class Diagnostic:
    file: str
    line: int
    column: int
    severity: Severity
    message: str

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "message": self.message,
        }


@dataclass
class BuildResult:
    source: Path
    obj: Path
    ok: bool
    diagnostics: list[Diagnostic] = field(default_factory=list)
    raw: str = ""
    cached: bool = False

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    def to_dict(self) -> dict[str, object]:
        return {
            "source": str(self.source),
            "obj": str(self.obj),
            "ok": self.ok,
            "cached": self.cached,
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }


class BuildError(XdpTuiError):
    """Compilation failed; `result` holds every diagnostic and the raw output."""

    def __init__(self, result: BuildResult) -> None:
        first = result.errors[0] if result.errors else None
        if first is not None:
            message = f"error: {first.message}"
            location: str | None = first.location
        else:
            message = f"clang could not compile {result.source}"
            location = str(result.source)
        more = len(result.errors) - 1
        hint = f"{more} more error(s); see the build output" if more > 0 else None
        if first is not None and "gnu/stubs-32.h" in first.message:
            hint = (
                "glibc's headers need their 32-bit stubs in BPF builds: "
                "apt-get install libc6-dev-i386 (`xdp-tui doctor` checks it)"
            )
        super().__init__(message, location=location, hint=hint, detail=result.raw)
        self.result = result


# ---- clang facts (asked once per process) ---------------------------------


@functools.cache
def multiarch_include_dir() -> Path | None:
    """`/usr/include/<triplet>`: BPF builds need it for <asm/types.h>."""
    # Debian's Python knows the triplet: no need to start gcc (a few ms) to ask.
    triplet: str | None = getattr(sys.implementation, "_multiarch", None)
    if triplet and (Path("/usr/include") / triplet / "asm").is_dir():
        return Path("/usr/include") / triplet
    for compiler in ("gcc", CLANG):
        try:
            out = subprocess.run(
                [compiler, "-print-multiarch"], capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            continue
        if out:
            return Path("/usr/include") / out
    return None


@functools.cache
def clang_version() -> str:
    try:
        done = subprocess.run([CLANG, "--version"], capture_output=True, text=True, timeout=10)
    except OSError as exc:
        raise XdpTuiError(
            f"cannot run {CLANG}: {exc.strerror}",
            hint="install clang (apt-get install clang llvm) or run ./setup.sh install",
        ) from exc
    return done.stdout.splitlines()[0] if done.stdout else "unknown"


@functools.cache
def _clang_identity() -> str:
    """Which clang builds: its resolved binary with size and mtime (an upgrade changes them).

    Cheaper than `clang --version` (a 25 ms run), which a one-shot CLI
    process would otherwise pay on every build for the cache check.
    """
    found = shutil.which(CLANG)
    if found is None:
        return clang_version()  # raises the "cannot run clang" error
    binary = Path(found).resolve()
    st = binary.stat()
    return f"{binary}:{st.st_size}:{st.st_mtime_ns}"


@functools.cache
def bpf_cpu() -> str:
    """The BPF instruction set version to generate for (clang's -mcpu).

    v3 (32-bit jumps and ALU, kernel 5.1) is also the only one where clang
    emits the fetching atomics (kernel 5.12) that using the result of
    `__sync_fetch_and_add` on a 32-bit value needs: with v1/v2 clang 14's
    backend aborts instead. Older kernels get the newest version they run.
    """
    version = kernel_version()
    if version >= (5, 1):
        return "v3"
    if version >= (4, 14):
        return "v2"
    return "v1"


def kernel_version() -> tuple[int, int]:
    numbers = os.uname().release.split("-")[0].split(".")[:2]
    try:
        return int(numbers[0]), int(numbers[1])
    except (IndexError, ValueError):
        return (0, 0)


def compile_flags(include_dirs: Sequence[Path] = ()) -> list[str]:
    """clang's flags; INCLUDE_DIRS (the learner's -I) come before ours, as on a command line."""
    includes = [f"-I{folder}" for folder in include_dirs]
    includes.append(f"-I{bpf_include_dir()}")
    multiarch = multiarch_include_dir()
    if multiarch is not None:
        includes.append(f"-I{multiarch}")
    cpu = [f"-mcpu={bpf_cpu()}"]
    return CODEGEN_FLAGS + cpu + WARNING_FLAGS + DIAGNOSTIC_FLAGS + includes


def workspace_include_dirs(folder: Path) -> list[Path]:
    """The include folders listed in FOLDER/xdp-tui.toml (`include_dirs = ["../common"]`).

    Relative entries are relative to FOLDER. The file is the learner's: it
    is opened without following a symbolic link, and its size is capped.
    """
    config = folder / WORKSPACE_CONFIG
    try:
        fd = os.open(config, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise XdpTuiError(
            f"cannot read {WORKSPACE_CONFIG}: {exc.strerror}",
            location=str(config),
            hint="it must be a regular file, not a symbolic link",
        ) from None
    with os.fdopen(fd, "rb") as handle:
        raw = handle.read(WORKSPACE_CONFIG_MAX_BYTES + 1)
    if len(raw) > WORKSPACE_CONFIG_MAX_BYTES:
        raise XdpTuiError(
            f"{WORKSPACE_CONFIG} is larger than {WORKSPACE_CONFIG_MAX_BYTES // 1024} KiB",
            location=str(config),
        )
    try:
        listed = tomllib.loads(raw.decode()).get("include_dirs", [])
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise XdpTuiError(
            f"{WORKSPACE_CONFIG} is not valid TOML: {exc}", location=str(config)
        ) from None
    except RecursionError:  # tomllib recurses into "[[[[..."
        raise XdpTuiError(
            f"{WORKSPACE_CONFIG} is nested too deeply", location=str(config)
        ) from None
    if not isinstance(listed, list) or not all(isinstance(d, str) for d in listed):
        raise XdpTuiError(
            "include_dirs must be a list of folder names",
            location=str(config),
            hint='e.g. include_dirs = ["../common", "/usr/local/include/bpf"]',
        )
    return [(folder / entry).resolve() for entry in listed]


def _include_dirs(source: Path, include_dirs: Sequence[Path]) -> list[Path]:
    """The -I folders of one build: the caller's, then the workspace's list."""
    given = [Path(d).resolve() for d in include_dirs]
    for folder in given:
        if not folder.is_dir():
            what = "is not a folder" if folder.exists() else "does not exist"
            raise XdpTuiError(f"include folder {folder} {what}", location=f"-I {folder}")
    return given + workspace_include_dirs(source.parent)


# ---- diagnostics ----------------------------------------------------------


def parse_diagnostics(text: str) -> list[Diagnostic]:
    found = []
    for line in text.splitlines():
        match = _DIAG_LINE.match(line)
        if match is None:
            continue
        severity = "error" if match["sev"] == "fatal error" else match["sev"]
        found.append(
            Diagnostic(
                file=match["file"],
                line=int(match["line"]),
                column=int(match["col"]),
                severity=severity,  # type: ignore[arg-type]
                message=match["msg"],
            )
        )
    return found


# ---- compiler crashes -----------------------------------------------------

_BACKEND_ERROR = re.compile(r"error in backend: (?:line (?P<line>\d+): )?(?P<msg>.*)$", re.M)
_PARSER_AT = re.compile(
    r"^\d+\.\s+(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): (?P<what>.*)$", re.M
)
_PASS_ON = re.compile(r"Running pass '(?P<pass>[^']+)' on function '@(?P<func>[^']+)'")
_CRASH_MARKERS = ("PLEASE submit a bug report", "Stack dump:")
# What a learner can do about the backend errors clang 14's BPF target reports.
_BACKEND_ADVICE = {
    "Invalid usage of the XADD return value": (
        "the result of an atomic add (__sync_fetch_and_add) is used, which needs "
        "BPF CPU v3 (-mcpu=v3, kernel 5.12+)",
        "use the atomic as a statement without its result, or on a 64-bit value",
    ),
    "Looks like the BPF stack limit": (
        "the function needs more than the 512 bytes of stack BPF allows",
        "make large local arrays or structs smaller, or keep them in a per-CPU array map",
    ),
}


def crash_diagnostic(raw: str, returncode: int, source: Path) -> Diagnostic | None:
    """One located error for a clang that crashed or whose backend gave up, else None."""
    crashed = returncode < 0 or any(marker in raw for marker in _CRASH_MARKERS)
    backend = _BACKEND_ERROR.search(raw)
    if backend is None and not crashed:
        return None
    line, column = 1, 1
    if backend is not None:
        message = backend["msg"].strip()
        for known, (what, todo) in _BACKEND_ADVICE.items():
            if message.startswith(known):
                message = f"{what}; {todo}"
                break
        else:
            message = f"clang's BPF backend gave up: {message}; simplify that statement"
        line = int(backend["line"]) if backend["line"] else _function_line(raw, source)
    else:
        message, line, column = _crash_message(raw, returncode, source)
    return Diagnostic(str(source), line, column, "error", message)


def _crash_message(raw: str, returncode: int, source: Path) -> tuple[str, int, int]:
    how = f"crashed ({_signal_name(-returncode)})" if returncode < 0 else "crashed"
    todo = "rewrite that construct more simply (e.g. fewer nested macro expansions)"
    at = _PARSER_AT.search(raw)
    if at is not None:
        what = at["what"].strip()
        return f"clang {how} at {what}; {todo}", int(at["line"]), int(at["col"])
    passing = _PASS_ON.search(raw)
    if passing is not None:
        func = passing["func"]
        message = f"clang {how} in '{passing['pass']}' while compiling function {func}; {todo}"
        return message, _function_line(raw, source, func), 1
    return f"clang {how} while compiling this file; {todo}", 1, 1


def _signal_name(number: int) -> str:
    import signal

    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _function_line(raw: str, source: Path, func: str | None = None) -> int:
    """The line where FUNC (else the function the crash names) is defined, or 1."""
    if func is None:
        passing = _PASS_ON.search(raw)
        func = passing["func"] if passing else None
    if func is None:
        return 1
    try:
        text = source.read_text(errors="replace")
    except OSError:
        return 1
    found = re.search(rf"^[^;{{}}]*\b{re.escape(func)}\s*\(", text, re.M)
    return text.count("\n", 0, found.start()) + 1 if found else 1


def without_stack_dump(raw: str) -> str:
    """clang's output without the LLVM crash report (stack dump, bug-report plea)."""
    kept = []
    for line in raw.splitlines(keepends=True):
        if any(marker in line for marker in _CRASH_MARKERS):
            break
        kept.append(line)
    return "".join(kept)


# ---- the cache stamp ------------------------------------------------------


def _stamp_path(obj: Path) -> Path:
    return obj.with_name(obj.name + ".xdp-tui-build.json")


def _digest(source: Path, source_digest: str, deps: list[str], flags: list[str]) -> str:
    h = hashlib.sha256()
    h.update(_clang_identity().encode())
    h.update("\0".join(flags).encode())
    h.update(str(source).encode() + b"\0" + source_digest.encode())
    for path in deps:
        h.update(path.encode() + b"\0" + _header_digest(path))
    return h.hexdigest()


# Headers rarely change while the source is edited again and again; hashing
# them (a few hundred kB with <linux/bpf.h>) for every build is wasted work.
# A header's digest is kept while its inode, size and mtime stay the same.
_header_digests: dict[str, tuple[tuple[int, ...], bytes]] = {}


# A header above this size is told by its identity (inode, size, mtime) alone:
# `#include "/dev/zero"` or a huge file must not be read whole by the cache.
HEADER_READ_LIMIT = 8 << 20


def _header_digest(path: str) -> bytes:
    try:
        st = os.stat(path)
    except OSError:
        return b"<missing>"
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if not stat.S_ISREG(st.st_mode) or st.st_size > HEADER_READ_LIMIT:
        # A device, FIFO or huge file is never read: never up to date, so it rebuilds.
        return f"<not hashed {st.st_mode:o}:{key}:{time.monotonic_ns()}>".encode()
    known = _header_digests.get(path)
    if known is not None and known[0] == key:
        return known[1]
    try:
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read(HEADER_READ_LIMIT + 1)).digest()
    except OSError:
        return b"<missing>"
    _header_digests[path] = (key, digest)
    return digest


def _source_digest(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def _is_up_to_date(source: Path, obj: Path, flags: list[str]) -> bool:
    try:
        digest = _source_digest(_read_source(source))
    except XdpTuiError:
        return False  # build() says what is wrong with the file
    return _up_to_date_stamp(source, digest, obj, flags) is not None


def _up_to_date_stamp(
    source: Path, source_digest: str, obj: Path, flags: list[str]
) -> dict[str, object] | None:
    """The stamp of OBJ when it is still the build of SOURCE (its text hashed to
    SOURCE_DIGEST) with FLAGS, else None."""
    open_flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        with os.fdopen(os.open(_stamp_path(obj), open_flags), "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None  # a FIFO or device planted as the stamp
            stamp = json.loads(handle.read(DEPFILE_READ_LIMIT))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(stamp, dict) or not obj.is_file() or stamp.get("source") != str(source):
        return None
    # An edited source (the usual case) is told by its own hash alone, before
    # hashing every header it includes (a few hundred kB with <linux/bpf.h>).
    if stamp.get("source_digest") != source_digest:
        return None
    deps = stamp.get("deps", [])
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        return None
    if stamp.get("digest") != _digest(source, source_digest, deps, flags):
        return None
    return stamp


DEPFILE_READ_LIMIT = 1 << 20


def _read_depfile(depfile: Path, source: Path) -> list[str]:
    """The headers clang read, from a make-style `obj: hdr1 hdr2 \\` file.

    clang ran in the source's folder, so it names headers found there
    relatively: make them absolute, the stamp is checked from anywhere.
    """
    try:
        fd = os.open(depfile, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            text = handle.read(DEPFILE_READ_LIMIT).decode(errors="surrogateescape")
    except OSError:
        return []
    _, _, prerequisites = text.replace("\\\n", " ").partition(": ")
    found = {os.path.join(source.parent, p) for p in prerequisites.split()}
    return sorted(found - {str(source)})


def _write_stamp(
    source: Path, source_digest: str, obj: Path, deps: list[str], flags: list[str], raw: str
) -> None:
    stamp = {
        "source": str(source),
        "source_digest": source_digest,
        "deps": deps,
        "digest": _digest(source, source_digest, deps, flags),
        # clang's words (warnings) of the build: an unchanged rebuild shows them again.
        "raw": raw,
    }
    _write_new(_stamp_path(obj), json.dumps(stamp, indent=1).encode())


def _write_new(path: Path, data: bytes) -> None:
    """Replace PATH by a new file: a link planted at PATH is replaced, never written through."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        with os.fdopen(os.open(tmp, flags, 0o644), "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise XdpTuiError(f"cannot write: {exc.strerror or exc}", location=str(path)) from None


# ---- one clang run -------------------------------------------------------

COMPILE_TIMEOUT_S = 120
# clang builds a lesson in well under 200 MB; a source that includes a device
# or a huge file must fail alone, not exhaust the machine.
CLANG_MEMORY_LIMIT = 2 << 30
_WORKDIR_PREFIX = "xdp-tui-clang-"  # + "<pid>-<random>": swept when that pid is gone


@dataclass
class _Compiled:
    returncode: int
    raw: str  # what clang printed on stderr
    obj: Path  # inside the run's work folder
    depfile: Path


class _Clang:
    """One clang process that compiles whatever C text it reads from stdin.

    It starts at once and blocks on stdin after its start-up, so it can be
    started before we know which file it will compile (the warm compiler).
    Its object and dependency list go to a private work folder.
    """

    def __init__(self, folder: Path, flags: list[str]) -> None:
        self.key = _warm_key(folder, flags)
        self.owner = os.getpid()
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{_WORKDIR_PREFIX}{self.owner}-"))
        self.obj = self.workdir / "out.o"
        self.depfile = self.workdir / "deps.d"
        command = [CLANG, *flags, "-MD", "-MF", str(self.depfile), "-x", "c", "-c", "-"]
        try:
            self.proc = subprocess.Popen(
                _as_learner([*command, "-o", str(self.obj)], self.workdir),
                cwd=folder,  # quoted includes resolve from here, as from the file itself
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise XdpTuiError(
                f"cannot run {CLANG}: {exc.strerror}",
                hint="install clang (apt-get install clang llvm) or run ./setup.sh install",
            ) from exc
        _limit_resources(self.proc.pid)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def compile(self, source: Path, text: bytes) -> _Compiled:
        """Feed TEXT (SOURCE's, read by the caller) under SOURCE's name and wait for clang."""
        try:
            _, err = self.proc.communicate(
                _line_directive(source) + _without_bom(text), timeout=COMPILE_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            self.discard()
            raise XdpTuiError(
                f"clang did not finish within {COMPILE_TIMEOUT_S} s", location=str(source)
            ) from None
        raw = err.decode(errors="replace")
        return _Compiled(self.proc.returncode, raw, self.obj, self.depfile)

    def discard(self) -> None:
        """Stop clang (if still waiting) and remove the work folder."""
        if self.owner != os.getpid():
            return  # a forked child: the process and folder belong to the parent
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _as_learner(command: list[str], workdir: Path) -> list[str]:
    """COMMAND (clang's) run as the learner when root builds for one.

    clang reads whatever the source `#include`s: as root, a learner's
    `#include "/etc/shadow"` would print that file in its error messages.
    The work folder is handed to the learner for clang's outputs, which root
    then reads without following links (`_read_object`). The switch is
    setpriv's (uid, gid and groups, as Popen's user= would set them): with
    user= Python forks this whole process (3-10 ms for the TUI) instead of
    a vfork, and the fork holds the GIL.
    """
    who = userfiles.learner()
    if os.geteuid() != 0 or not who.is_other:
        return command
    os.chown(workdir, who.uid, who.gid)
    return userfiles.learner_command(command)


# A lesson's object is tens of kB; what clang wrote is read up to this much.
OBJECT_READ_LIMIT = 64 << 20


def _read_source(source: Path) -> bytes:
    """SOURCE's text: the learner's read as the learner; one xdp-tui generated in its
    root-only run folder (a capture twin, a map walker) as root, since the learner cannot
    enter that folder (no learner can plant anything there either)."""
    if os.geteuid() == 0 and paths.in_run_dir(source):
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        with os.fdopen(os.open(source, flags), "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise XdpTuiError("not a regular file", location=str(source))
            text = handle.read(userfiles.SOURCE_LIMIT + 1)
        if len(text) > userfiles.SOURCE_LIMIT:
            raise XdpTuiError("a generated source over 1 MiB", location=str(source))
        return text
    return userfiles.read_source(source)


def _prepare_output(obj: Path) -> None:
    """OBJ's folder made, its old stamp gone; a failure is a located error, not a traceback."""
    try:
        obj.parent.mkdir(parents=True, exist_ok=True)
        _stamp_path(obj).unlink(missing_ok=True)
    except OSError as exc:
        raise XdpTuiError(
            f"cannot write the object: {exc.strerror or exc}", location=str(obj)
        ) from None


def _read_object(made: Path) -> bytes:
    """clang's object MADE: read no-follow (its folder may be the learner's)."""
    fd = os.open(made, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise XdpTuiError("clang's output is not a regular file", location=str(made))
        data = handle.read(OBJECT_READ_LIMIT + 1)
    if len(data) > OBJECT_READ_LIMIT:
        raise XdpTuiError(f"clang's output is over {OBJECT_READ_LIMIT} bytes", location=str(made))
    return data


def _limit_resources(pid: int) -> None:
    """Cap clang's memory and CPU time.

    Set from outside (prlimit) rather than in a preexec function, which is not
    safe in a threaded program; clang is still waiting for its input then.
    """
    limits = (
        (resource.RLIMIT_AS, CLANG_MEMORY_LIMIT),
        (resource.RLIMIT_CPU, COMPILE_TIMEOUT_S),
    )
    for which, value in limits:
        with contextlib.suppress(OSError, ValueError):
            resource.prlimit(
                pid, which, (value, value + (5 if which == resource.RLIMIT_CPU else 0))
            )


def _limit_words(returncode: int, raw: str) -> str | None:
    """What limit stopped clang, if one did."""
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL) and "out of memory" not in raw:
        return f"clang used up its {COMPILE_TIMEOUT_S} s of CPU time and was stopped"
    if "out of memory" in raw.lower() or "bad_alloc" in raw or returncode == -signal.SIGABRT:
        return (
            f"clang ran out of its {CLANG_MEMORY_LIMIT >> 20} MiB memory limit"
            " (does the source include a device or a huge file?)"
        )
    return None


def _warm_key(folder: Path, flags: list[str]) -> tuple[object, ...]:
    """What a waiting clang must match: its folder (the same one, not a new
    folder of the same name: clang resolves quoted includes in its working
    folder) and the flags."""
    try:
        st = folder.stat()
    except OSError:
        return (str(folder), None, tuple(flags))
    return (str(folder), (st.st_dev, st.st_ino), tuple(flags))


def _line_directive(source: Path) -> bytes:
    """`#line 1 "<source>"`: clang then names SOURCE instead of <stdin> everywhere."""
    quoted = str(source).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'#line 1 "{quoted}"\n'.encode(errors="surrogateescape")


def _without_bom(text: bytes) -> bytes:
    # A UTF-8 byte order mark is only skipped at the very start of clang's input.
    return text[3:] if text.startswith(b"\xef\xbb\xbf") else text


# ---- the warm compiler ----------------------------------------------------

_warm_lock = threading.Lock()
_warm: _Clang | None = None
_warm_enabled = True
_swept = False
# The thread starting the clang for the next build (see _start_warm_soon).
_starting: threading.Thread | None = None
# Per thread: inside next_compiler_after(), the (folder, flags) to start it for.
_held = threading.local()


def keep_compiler_warm(enabled: bool) -> None:
    """Start a clang ahead of the next build (default on); off also stops a waiting one."""
    global _warm_enabled
    _warm_enabled = enabled
    if not enabled:
        discard_warm_compiler()


@contextlib.contextmanager
def one_shot_builds() -> Iterator[None]:
    """No clang kept waiting for a next build inside (a CLI command: one build, then exit;
    warm_up still starts the one a load needs now); the setting before comes back after,
    so a command run in-process (tests call the CLI's main()) changes nothing for later."""
    was = _warm_enabled
    keep_compiler_warm(False)
    try:
        yield
    finally:
        discard_warm_compiler()  # one started by warm_up that no build took
        keep_compiler_warm(was)


def discard_warm_compiler() -> None:
    """Stop the clang waiting for the next build, if any (also done at exit)."""
    global _warm
    _wait_for_start()
    with _warm_lock:
        spare, _warm = _warm, None
    if spare is not None:
        spare.discard()


def _take_warm(folder: Path, flags: list[str]) -> _Clang | None:
    """The waiting clang if it was started for this folder and these flags."""
    global _warm
    _wait_for_start()
    with _warm_lock:
        if _warm is None or _warm.key != _warm_key(folder, flags):
            return None  # one for another folder stays for the build it waits for
        spare, _warm = _warm, None
    if spare.alive:
        return spare
    spare.discard()
    return None


def _start_warm(folder: Path, flags: list[str], *, always: bool = False) -> None:
    """Start the clang for the next build in FOLDER (replacing one for another folder)."""
    global _warm
    if not (_warm_enabled or always):
        return
    _sweep_dead_workdirs()
    try:
        spare = _Clang(folder, flags)
    except XdpTuiError:
        return  # the next build starts its own clang and reports the problem
    with _warm_lock:
        old, _warm = _warm, spare
    if old is not None:
        old.discard()


def _start_warm_soon(folder: Path, flags: list[str]) -> None:
    """_start_warm in a thread, so the build returns at once.

    Starting clang costs the caller 1-5 ms (a work folder, prlimit, and a
    full fork when clang runs as the learner: no vfork with a user switch).
    The caller goes on to load and attach, mostly waiting in the kernel, so
    the thread does that work meanwhile. Whoever needs the clang waits for it.
    """
    global _starting
    if not _warm_enabled:
        return
    if getattr(_held, "active", False):
        _held.pending = (folder, flags)
        return
    _wait_for_start()
    thread = threading.Thread(
        target=_start_warm, args=(folder, flags), name="warm-clang", daemon=True
    )
    thread.start()  # before it is published: a thread not started yet cannot be joined
    with _warm_lock:
        _starting = thread


@contextlib.contextmanager
def next_compiler_after() -> Iterator[None]:
    """Builds in the block start the clang for the next build only when it ends.

    For a load: clang's start-up keeps the other core busy for ~25 ms, and
    the kernel's RCU grace periods, which a native attach waits for, took
    ~20 ms longer with it running (median over 24 attaches on the 2-core VM).
    """
    if getattr(_held, "active", False):
        yield
        return
    _held.active, _held.pending = True, None
    try:
        yield
    finally:
        _held.active = False
        pending, _held.pending = _held.pending, None
        if pending is not None:  # also after a failed load: the fix is built next
            _start_warm_soon(*pending)


def _wait_for_start() -> None:
    """Wait until the clang being started (if any) is waiting (or failed to start)."""
    with _warm_lock:
        thread = _starting
    if thread is not None and thread is not threading.current_thread():
        thread.join()


def waiting_compiler() -> _Clang | None:
    """The clang waiting for the next build, once it has started (tests look at it)."""
    _wait_for_start()
    with _warm_lock:
        return _warm


def _sweep_dead_workdirs() -> None:
    """Work folders of processes killed before they could clean up (once per process)."""
    global _swept
    if _swept:
        return
    _swept = True
    for folder in left_by_dead_processes(Path(tempfile.gettempdir()), _WORKDIR_PREFIX):
        shutil.rmtree(folder, ignore_errors=True)


def warm_up(source: Path, output: Path | None = None, *, include_dirs: Sequence[Path] = ()) -> None:
    """Start the clang for SOURCE's coming build now, unless the object is up to date.

    For a caller with other work before build(SOURCE) (the CLI imports the
    engine first): clang's start-up then runs beside that work.
    """
    source = Path(source).resolve()
    if not source.is_file():
        return  # build() says what is wrong with it
    obj = Path(output).resolve() if output is not None else source.with_suffix(".o")
    try:
        flags = compile_flags(_include_dirs(source, include_dirs))
    except XdpTuiError:
        return  # the build itself reports it
    if source.is_file() and not _is_up_to_date(source, obj, flags):
        _start_warm(source.parent, flags, always=True)


atexit.register(discard_warm_compiler)


# ---- build ----------------------------------------------------------------


def build(
    source: Path,
    output: Path | None = None,
    *,
    warm_next: bool = True,
    include_dirs: Sequence[Path] = (),
    learner_output: bool = False,
) -> BuildResult:
    """Compile SOURCE into OUTPUT (default: SOURCE with `.o`); never raises on C errors.

    warm_next=False: a one-off build (the lab peer's program), no clang
    waiting for another build in its folder. include_dirs: extra -I folders,
    searched before the ones listed in the folder's xdp-tui.toml and ours.
    learner_output=True: OUTPUT is a path the learner chose (`xdp-tui build
    -o`, an object beside their source), so the object and its stamp are read
    and written with the learner's file identity: root running for them under
    sudo must not write where they may not.
    """
    source = Path(source).resolve()
    if not source.is_file():
        what = "not a regular file" if source.exists() else "no such source file"
        raise XdpTuiError(what, location=str(source))  # the location names the path
    obj = Path(output).resolve() if output is not None else source.with_suffix(".o")
    flags = compile_flags(_include_dirs(source, include_dirs))
    # Read once: the text the stamp is checked against is the text clang compiles.
    text = _read_source(source)
    source_digest = _source_digest(text)
    as_owner = userfiles.as_learner if learner_output else contextlib.nullcontext
    with as_owner():
        stamp = _up_to_date_stamp(source, source_digest, obj, flags)
    if stamp is not None:
        raw = str(stamp.get("raw", ""))
        return BuildResult(
            source=source,
            obj=obj,
            ok=True,
            diagnostics=parse_diagnostics(raw),
            raw=raw,
            cached=True,
        )

    with as_owner():
        _prepare_output(obj)
    clang = _take_warm(source.parent, flags) or _Clang(source.parent, flags)
    try:
        done = clang.compile(source, text)
        diagnostics = parse_diagnostics(done.raw)
        # clang wrote into its work folder, so a failed build never leaves a
        # stale object where the old good one was mistaken for the new one.
        ok = done.returncode == 0 and done.obj.is_file()
        raw = done.raw
        if ok:
            made = _read_object(done.obj)  # in clang's work folder, root's
            deps = _read_depfile(done.depfile, source)
            with as_owner():
                _write_new(obj, made)
                _write_stamp(source, source_digest, obj, deps, flags, done.raw)
        elif (limit := _limit_words(done.returncode, done.raw)) is not None:
            diagnostics = [Diagnostic(str(source), 1, 1, "error", limit), *diagnostics]
        elif (crash := crash_diagnostic(raw, done.returncode, source)) is not None:
            diagnostics = [d for d in diagnostics if d.severity != "error"] + [crash]
            raw = without_stack_dump(raw)
        elif not diagnostics:
            message = raw.strip() or "clang failed"
            diagnostics = [Diagnostic(str(source), 1, 1, "error", message)]
    finally:
        clang.discard()
    if warm_next:
        _start_warm_soon(source.parent, flags)  # starts up while the caller loads and attaches
    return BuildResult(source=source, obj=obj, ok=ok, diagnostics=diagnostics, raw=raw)


def build_or_raise(
    source: Path,
    output: Path | None = None,
    *,
    warm_next: bool = True,
    include_dirs: Sequence[Path] = (),
    learner_output: bool = False,
) -> BuildResult:
    result = build(
        source,
        output,
        warm_next=warm_next,
        include_dirs=include_dirs,
        learner_output=learner_output,
    )
    if not result.ok:
        raise BuildError(result)
    return result
