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
right away: it gets through its start-up on the other core and then waits
for its input. The next build of a file in the same folder only feeds it the
text. A `#line 1 "<path>"` in front keeps diagnostics, debug info and BTF
line info naming the real file; clang runs in the source's folder so
`#include "x.h"` finds the same headers. One-shot processes (the CLI) turn
this off with `keep_compiler_warm(False)`.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from xdp_tui.errors import XdpTuiError
from xdp_tui.paths import bpf_include_dir
from xdp_tui.process import left_by_dead_processes

Severity = Literal["error", "warning", "note"]

CLANG = os.environ.get("XDP_TUI_CLANG", "clang")

WARNING_FLAGS = [
    "-Wall",
    "-Wno-unused-value",
    "-Wno-pointer-sign",
    "-Wno-compare-distinct-pointer-types",
    "-Wno-visibility",
]
CODEGEN_FLAGS = ["-O2", "-g", "-target", "bpf", "-fno-stack-protector"]
# Plain, parseable diagnostics; the caret lines stay for the raw text.
DIAGNOSTIC_FLAGS = ["-fno-color-diagnostics", "-fdiagnostics-show-option"]

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
        super().__init__(message, location=location, hint=hint, detail=result.raw)
        self.result = result


# ---- clang facts (asked once per process) ---------------------------------


@functools.cache
def multiarch_include_dir() -> Path | None:
    """`/usr/include/<triplet>`: BPF builds need it for <asm/types.h>."""
    # Debian's Python knows the triplet: no need to start gcc (a few ms) to ask.
    triplet = getattr(sys.implementation, "_multiarch", None)
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


def compile_flags() -> list[str]:
    includes = [f"-I{bpf_include_dir()}"]
    multiarch = multiarch_include_dir()
    if multiarch is not None:
        includes.append(f"-I{multiarch}")
    return CODEGEN_FLAGS + WARNING_FLAGS + DIAGNOSTIC_FLAGS + includes


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


# ---- the cache stamp ------------------------------------------------------


def _stamp_path(obj: Path) -> Path:
    return obj.with_name(obj.name + ".xdp-tui-build.json")


def _digest(source: Path, deps: list[str], flags: list[str]) -> str:
    h = hashlib.sha256()
    h.update(_clang_identity().encode())
    h.update("\0".join(flags).encode())
    h.update(str(source).encode() + b"\0" + _source_digest(source).encode())
    for path in deps:
        h.update(path.encode() + b"\0" + _header_digest(path))
    return h.hexdigest()


# Headers rarely change while the source is edited again and again; hashing
# them (a few hundred kB with <linux/bpf.h>) for every build is wasted work.
# A header's digest is kept while its inode, size and mtime stay the same.
_header_digests: dict[str, tuple[tuple[int, ...], bytes]] = {}


def _header_digest(path: str) -> bytes:
    try:
        st = os.stat(path)
    except OSError:
        return b"<missing>"
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    known = _header_digests.get(path)
    if known is not None and known[0] == key:
        return known[1]
    try:
        digest = hashlib.sha256(Path(path).read_bytes()).digest()
    except OSError:
        return b"<missing>"
    _header_digests[path] = (key, digest)
    return digest


def _source_digest(source: Path) -> str:
    return hashlib.sha256(source.read_bytes()).hexdigest()


def _is_up_to_date(source: Path, obj: Path, flags: list[str]) -> bool:
    return _up_to_date_stamp(source, obj, flags) is not None


def _up_to_date_stamp(source: Path, obj: Path, flags: list[str]) -> dict[str, object] | None:
    """The stamp of OBJ when it is still the build of SOURCE with FLAGS, else None."""
    try:
        stamp = json.loads(_stamp_path(obj).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or not obj.is_file() or stamp.get("source") != str(source):
        return None
    # An edited source (the usual case) is told by its own hash alone, before
    # hashing every header it includes (a few hundred kB with <linux/bpf.h>).
    if stamp.get("source_digest") != _source_digest(source):
        return None
    if stamp.get("digest") != _digest(source, stamp.get("deps", []), flags):
        return None
    return stamp


def _read_depfile(depfile: Path, source: Path) -> list[str]:
    """The headers clang read, from a make-style `obj: hdr1 hdr2 \\` file.

    clang ran in the source's folder, so it names headers found there
    relatively: make them absolute, the stamp is checked from anywhere.
    """
    try:
        text = depfile.read_text()
    except OSError:
        return []
    _, _, prerequisites = text.replace("\\\n", " ").partition(": ")
    found = {os.path.join(source.parent, p) for p in prerequisites.split()}
    return sorted(found - {str(source)})


def _write_stamp(source: Path, obj: Path, deps: list[str], flags: list[str], raw: str) -> None:
    stamp = {
        "source": str(source),
        "source_digest": _source_digest(source),
        "deps": deps,
        "digest": _digest(source, deps, flags),
        # clang's words (warnings) of the build: an unchanged rebuild shows them again.
        "raw": raw,
    }
    _stamp_path(obj).write_text(json.dumps(stamp, indent=1))


# ---- one clang run -------------------------------------------------------

COMPILE_TIMEOUT_S = 120
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
                [*command, "-o", str(self.obj)],
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

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def compile(self, source: Path) -> _Compiled:
        """Feed SOURCE's text (under its own name) and wait for clang to finish."""
        text = _line_directive(source) + _without_bom(source.read_bytes())
        try:
            _, err = self.proc.communicate(text, timeout=COMPILE_TIMEOUT_S)
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


def keep_compiler_warm(enabled: bool) -> None:
    """Start a clang ahead of the next build (default on); off also stops a waiting one."""
    global _warm_enabled
    _warm_enabled = enabled
    if not enabled:
        discard_warm_compiler()


def discard_warm_compiler() -> None:
    """Stop the clang waiting for the next build, if any (also done at exit)."""
    global _warm
    with _warm_lock:
        spare, _warm = _warm, None
    if spare is not None:
        spare.discard()


def _take_warm(folder: Path, flags: list[str]) -> _Clang | None:
    """The waiting clang if it was started for this folder and these flags."""
    global _warm
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


def _sweep_dead_workdirs() -> None:
    """Work folders of processes killed before they could clean up (once per process)."""
    global _swept
    if _swept:
        return
    _swept = True
    for folder in left_by_dead_processes(Path(tempfile.gettempdir()), _WORKDIR_PREFIX):
        shutil.rmtree(folder, ignore_errors=True)


def warm_up(source: Path, output: Path | None = None) -> None:
    """Start the clang for SOURCE's coming build now, unless the object is up to date.

    For a caller with other work before build(SOURCE) (the CLI imports the
    engine first): clang's start-up then runs beside that work.
    """
    source = Path(source).resolve()
    obj = Path(output).resolve() if output is not None else source.with_suffix(".o")
    flags = compile_flags()
    if source.is_file() and not _is_up_to_date(source, obj, flags):
        _start_warm(source.parent, flags, always=True)


atexit.register(discard_warm_compiler)


# ---- build ----------------------------------------------------------------


def build(source: Path, output: Path | None = None, *, warm_next: bool = True) -> BuildResult:
    """Compile SOURCE into OUTPUT (default: SOURCE with `.o`); never raises on C errors.

    warm_next=False: a one-off build (the lab peer's program), no clang
    waiting for another build in its folder.
    """
    source = Path(source).resolve()
    obj = Path(output).resolve() if output is not None else source.with_suffix(".o")
    if not source.is_file():
        raise XdpTuiError(f"no such source file: {source}", location=str(source))
    flags = compile_flags()
    stamp = _up_to_date_stamp(source, obj, flags)
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

    obj.parent.mkdir(parents=True, exist_ok=True)
    _stamp_path(obj).unlink(missing_ok=True)
    clang = _take_warm(source.parent, flags) or _Clang(source.parent, flags)
    try:
        done = clang.compile(source)
        diagnostics = parse_diagnostics(done.raw)
        # clang wrote into its work folder, so a failed build never leaves a
        # stale object where the old good one was mistaken for the new one.
        ok = done.returncode == 0 and done.obj.is_file()
        if ok:
            shutil.move(done.obj, obj)  # a rename when on the same filesystem
            _write_stamp(source, obj, _read_depfile(done.depfile, source), flags, done.raw)
        elif not diagnostics:
            message = done.raw.strip() or "clang failed"
            diagnostics = [Diagnostic(str(source), 1, 1, "error", message)]
    finally:
        clang.discard()
    if warm_next:
        _start_warm(source.parent, flags)  # starts up while the caller loads and attaches
    return BuildResult(source=source, obj=obj, ok=ok, diagnostics=diagnostics, raw=done.raw)


def build_or_raise(
    source: Path, output: Path | None = None, *, warm_next: bool = True
) -> BuildResult:
    result = build(source, output, warm_next=warm_next)
    if not result.ok:
        raise BuildError(result)
    return result
