"""Compile a C file into a BPF object with clang, and explain what clang said.

Flags: the tutorial builds with `-Werror`. We keep `-Wall` but do not make
warnings fatal: a learner's unused variable should show up as a warning in
the diagnostics list, not block loading the program they are experimenting
with. The `-Wno-...` flags silence warnings that ordinary BPF idioms trigger
(pointer casts of ctx->data, comparisons of distinct pointer types).

An unchanged build is not redone: a stamp file next to the object records a
hash of the flags, the clang version, the source and every header it
included (clang's own dependency list, `-MD`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from xdp_tui.errors import XdpTuiError
from xdp_tui.paths import bpf_include_dir

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
    h.update(clang_version().encode())
    h.update("\0".join(flags).encode())
    for path in [str(source), *deps]:
        h.update(path.encode() + b"\0")
        try:
            h.update(Path(path).read_bytes())
        except OSError:
            h.update(b"<missing>")
    return h.hexdigest()


def _is_up_to_date(source: Path, obj: Path, flags: list[str]) -> bool:
    try:
        stamp = json.loads(_stamp_path(obj).read_text())
    except (OSError, ValueError):
        return False
    if not obj.is_file() or stamp.get("source") != str(source):
        return False
    return stamp.get("digest") == _digest(source, stamp.get("deps", []), flags)


def _read_depfile(depfile: Path, source: Path) -> list[str]:
    """The headers clang read, from a make-style `obj: src hdr1 hdr2 \\` file."""
    try:
        text = depfile.read_text()
    except OSError:
        return []
    _, _, prerequisites = text.replace("\\\n", " ").partition(": ")
    return sorted({p for p in prerequisites.split() if p != str(source)})


def _write_stamp(source: Path, obj: Path, deps: list[str], flags: list[str]) -> None:
    stamp = {"source": str(source), "deps": deps, "digest": _digest(source, deps, flags)}
    _stamp_path(obj).write_text(json.dumps(stamp, indent=1))


# ---- build ----------------------------------------------------------------


def build(source: Path, output: Path | None = None) -> BuildResult:
    """Compile SOURCE into OUTPUT (default: SOURCE with `.o`); never raises on C errors."""
    source = Path(source).resolve()
    obj = Path(output).resolve() if output is not None else source.with_suffix(".o")
    if not source.is_file():
        raise XdpTuiError(f"no such source file: {source}", location=str(source))
    flags = compile_flags()
    if _is_up_to_date(source, obj, flags):
        return BuildResult(source=source, obj=obj, ok=True, cached=True)

    obj.parent.mkdir(parents=True, exist_ok=True)
    _stamp_path(obj).unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="xdp-tui-build-") as tmp:
        depfile = Path(tmp) / "deps.d"
        # Compile to a temporary name so a failed build never leaves a stale
        # object where the old good one was mistaken for the new one.
        partial = Path(tmp) / "out.o"
        command = [CLANG, *flags, "-MD", "-MF", str(depfile), "-c", str(source), "-o", str(partial)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        except OSError as exc:
            raise XdpTuiError(
                f"cannot run {CLANG}: {exc.strerror}",
                hint="install clang (apt-get install clang llvm) or run ./setup.sh install",
            ) from exc
        raw = done.stderr
        diagnostics = parse_diagnostics(raw)
        ok = done.returncode == 0 and partial.is_file()
        if ok:
            shutil.move(partial, obj)  # a rename when on the same filesystem
            _write_stamp(source, obj, _read_depfile(depfile, source), flags)
        elif not diagnostics:
            diagnostics = [Diagnostic(str(source), 1, 1, "error", raw.strip() or "clang failed")]
    return BuildResult(source=source, obj=obj, ok=ok, diagnostics=diagnostics, raw=raw)


def build_or_raise(source: Path, output: Path | None = None) -> BuildResult:
    result = build(source, output)
    if not result.ok:
        raise BuildError(result)
    return result
