"""What is inside a BPF object file, and what the kernel made of a loaded program.

`describe_object()` reads an ELF object the way a learner would with the LLVM
tools: its sections (`llvm-readelf`), its programs and maps (libbpf opens the
object without loading anything, so map types and sizes come from BTF exactly
as the loader will see them), and each program's instructions interleaved with
the C lines they came from (`llvm-objdump -d -l -r`).

`describe_loaded()` asks bpftool for the verifier's translated instructions of
a program the kernel holds, with line info (`bpftool prog dump xlated linum`).

Both return code as `CodeRow(kind, text, source_line)` rows:
- "label":  a function or jump-target name (text is the name),
- "source": a C line (text is the code; source_line its number in the main
  .c file, or None when it comes from a header, then text starts "file.h:N: "),
- "insn":   one instruction, text "  12: r1 = 2" (index within its program,
  as the verifier counts, then the instruction and any note such as the map a
  relocation points at or the helper a call invokes).
"""

from __future__ import annotations

import ctypes as C
import functools
import json
import re
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Literal, NamedTuple

from xdp_tui import userfiles
from xdp_tui.errors import XdpTuiError

RowKind = Literal["source", "insn", "label"]

LLVM_OBJDUMP = "llvm-objdump"
LLVM_READELF = "llvm-readelf"
BPFTOOL = "bpftool"
BPF_UAPI_HEADER = Path("/usr/include/linux/bpf.h")


class CodeRow(NamedTuple):
    kind: RowKind
    text: str
    source_line: int | None

    @property
    def insn_index(self) -> int | None:
        """The instruction number of an "insn" row, else None."""
        if self.kind != "insn":
            return None
        head = self.text.split(":", 1)[0].strip()
        return int(head) if head.isdigit() else None


@dataclass(frozen=True)
class SectionInfo:
    name: str
    size: int
    type: str  # ELF type without the SHT_ prefix: PROGBITS, REL, STRTAB...
    role: str  # what the section is for, in plain words


@dataclass(frozen=True)
class ProgramInfo:
    name: str
    section: str
    insn_count: int


@dataclass(frozen=True)
class MapInfo:
    name: str
    type: str
    key_size: int
    value_size: int
    max_entries: int


@dataclass
class ObjectInfo:
    path: Path
    source: Path | None
    sections: list[SectionInfo] = field(default_factory=list)
    programs: list[ProgramInfo] = field(default_factory=list)
    subprograms: list[ProgramInfo] = field(default_factory=list)
    maps: list[MapInfo] = field(default_factory=list)
    code: dict[str, list[CodeRow]] = field(default_factory=dict)  # function name -> rows
    notes: list[str] = field(default_factory=list)

    def rows(self, program: str) -> list[CodeRow]:
        return self.code.get(program, [])

    def to_dict(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "sections": [vars(s) for s in self.sections],
            "programs": [vars(p) for p in self.programs],
            "subprograms": [vars(p) for p in self.subprograms],
            "maps": [vars(m) for m in self.maps],
            "code": {name: [list(r) for r in rows] for name, rows in self.code.items()},
            "notes": list(self.notes),
        }


# ---- running the tools -------------------------------------------------------


def _run_tool(argv: list[str], what: str, location: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except FileNotFoundError as exc:
        raise XdpTuiError(
            f"{argv[0]} is not installed",
            location=location,
            hint="apt-get install llvm bpftool (or run ./setup.sh install)",
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise XdpTuiError(f"{what} took too long", location=location) from exc
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["(no message)"])[0]
        raise XdpTuiError(f"{what} failed: {first}", location=location, detail=done.stderr)
    return done.stdout


# ---- sections and symbols (llvm-readelf) ------------------------------------


def _section_role(name: str, elf_type: str, executable: bool) -> str:
    if name == ".text":
        return "non-inlined C functions"
    if executable:
        return "program bytecode"
    if name == ".maps":
        return "map definitions"
    if name == "license":
        return "license the kernel checks"
    if name in (".rodata", ".data", ".bss") or name.startswith((".rodata.", ".data.")):
        return "globals (loaded as a map)"
    if name == ".BTF":
        return "type information (BTF)"
    if name == ".BTF.ext":
        return "line and function info"
    if elf_type == "REL":
        return f"relocations for {name.removeprefix('.rel')}"
    if name.startswith(".debug"):
        return "DWARF debug info"
    if elf_type == "SYMTAB":
        return "symbol table"
    if elf_type == "STRTAB":
        return "names"
    return ""


def _read_elf(obj: Path) -> tuple[list[SectionInfo], list[tuple[str, str, int, bool]]]:
    """Sections, and function symbols as (name, section, size, global)."""
    out = _run_tool(
        [LLVM_READELF, "--elf-output-style=JSON", "-S", "--symbols", str(obj)],
        "reading the ELF headers",
        str(obj),
    )
    try:
        doc = json.loads(out)[0]
        body = next(iter(doc.values()))
    except (ValueError, IndexError, StopIteration, AttributeError) as exc:
        raise XdpTuiError("llvm-readelf gave output we cannot read", location=str(obj)) from exc
    sections: list[SectionInfo] = []
    executable: set[str] = set()
    for entry in body.get("Sections", []):
        sec = entry["Section"]
        name = sec["Name"]["Value"]
        if not name:
            continue
        elf_type = sec["Type"]["Value"].removeprefix("SHT_")
        flags = {f["Name"] for f in sec["Flags"].get("Flags", [])}
        is_exec = "SHF_EXECINSTR" in flags
        if is_exec:
            executable.add(name)
        sections.append(
            SectionInfo(name, int(sec["Size"]), elf_type, _section_role(name, elf_type, is_exec))
        )
    functions = []
    for entry in body.get("Symbols", []):
        sym = entry["Symbol"]
        section = sym["Section"]["Value"]
        if sym["Type"]["Value"] == "Function" and section in executable:
            is_global = sym["Binding"]["Value"] == "Global"
            functions.append((sym["Name"]["Value"], section, int(sym["Size"]), is_global))
    return sections, functions


# ---- maps (libbpf opens the object, loads nothing) --------------------------


@functools.cache
def _libbpf() -> SimpleNamespace:
    """The libbpf calls that read map specs from an opened (not loaded) object."""
    from xdp_tui.engine import _lib  # imported late: parsing tests need no libbpf

    P = C.c_void_p
    u32 = C.c_uint32
    return SimpleNamespace(
        lib=_lib,
        open_file=_lib.cfunc("bpf_object__open_file", P, C.c_char_p, P),
        next_map=_lib.cfunc("bpf_object__next_map", P, P, P),
        close=_lib.cfunc("bpf_object__close", None, P),
        map_name=_lib.cfunc("bpf_map__name", C.c_char_p, P),
        map_type=_lib.cfunc("bpf_map__type", C.c_int, P),
        key_size=_lib.cfunc("bpf_map__key_size", u32, P),
        value_size=_lib.cfunc("bpf_map__value_size", u32, P),
        max_entries=_lib.cfunc("bpf_map__max_entries", u32, P),
    )


def _read_maps(obj: Path) -> tuple[list[MapInfo], list[str]]:
    """Map specs as libbpf parses them; returns (maps, notes)."""
    from xdp_tui.engine.bpfsys import MAP_TYPES

    bpf = _libbpf()
    with bpf.lib.capture_libbpf_log() as log:
        handle = bpf.open_file(str(obj).encode(), None)
    if not handle:
        said = " ".join(text.strip() for _, text in log[-2:]) or "no message"
        return [], [f"libbpf could not open the object, maps unknown: {said}"]
    maps: list[MapInfo] = []
    try:
        current = bpf.next_map(handle, None)
        while current:
            type_id = bpf.map_type(current)
            maps.append(
                MapInfo(
                    name=(bpf.map_name(current) or b"?").decode(),
                    type=MAP_TYPES.get(type_id, str(type_id)),
                    key_size=int(bpf.key_size(current)),
                    value_size=int(bpf.value_size(current)),
                    max_entries=int(bpf.max_entries(current)),
                )
            )
            current = bpf.next_map(handle, current)
    finally:
        bpf.close(handle)
    return maps, []


# ---- helper names for "call N" -----------------------------------------------


_helper_names: dict[int, str] | None = None


def helper_names() -> dict[int, str]:
    """BPF helper numbers -> names, read from the installed uapi header."""
    global _helper_names
    if _helper_names is None:
        _helper_names = _parse_helper_names(BPF_UAPI_HEADER)
    return _helper_names


def _parse_helper_names(header: Path) -> dict[int, str]:
    try:
        text = header.read_text(errors="replace")
    except OSError:
        return {}
    start = text.find("#define __BPF_FUNC_MAPPER")
    if start < 0:
        start = text.find("#define ___BPF_FUNC_MAPPER")
    if start < 0:
        return {}
    block = text[start : text.find("\n\n", start)]
    names: dict[int, str] = {}
    # Old headers list FN(name) in order; newer ones say FN(name, number, ctx).
    for position, match in enumerate(re.finditer(r"FN\((\w+)(?:,\s*(\d+))?", block)):
        number = int(match.group(2)) if match.group(2) else position
        names[number] = f"bpf_{match.group(1)}"
    return names


# ---- source text -------------------------------------------------------------


class _SourceLines:
    """Lines of the C files the line info points at, read once per describe."""

    def __init__(self, source: Path | None) -> None:
        self.source = source
        self._files: dict[str, list[str] | None] = {}

    def is_main(self, file: str) -> bool:
        if self.source is not None:
            return Path(file).name == self.source.name
        return file.endswith(".c")

    def text(self, file: str, line: int) -> str:
        lines = self._load(file)
        if lines is None or not 0 < line <= len(lines):
            return ""
        return lines[line - 1].rstrip().expandtabs(4)

    def _load(self, file: str) -> list[str] | None:
        if file not in self._files:
            self._files[file] = None
            # The given source wins over the recorded path: the object may have
            # been built elsewhere (a copied workspace) than where it is read.
            candidates = [Path(file)]
            if self.source is not None and Path(file).name == self.source.name:
                candidates.insert(0, self.source)
            for path in candidates:
                try:
                    # As the learner, no links, capped: an object's line info
                    # may name any file (`#line 1 "/etc/shadow"`).
                    text = userfiles.read_source(path).decode(errors="replace")
                except (OSError, XdpTuiError):
                    continue
                self._files[file] = text.splitlines()
                break
        return self._files[file]

    def row(self, file: str, line: int, code: str | None = None) -> CodeRow:
        text = self.text(file, line) if code is None else code
        if self.is_main(file):
            return CodeRow("source", text, line)
        return CodeRow("source", f"{Path(file).name}:{line}: {text.strip()}", None)


# ---- disassembly (llvm-objdump) ---------------------------------------------

_FUNC_HEADER = re.compile(r"^[0-9a-f]+ <(?P<name>[^>]+)>:$")
_LINE_INFO = re.compile(r"^; (?P<file>.+):(?P<line>\d+)$")
_INSN = re.compile(r"^\s*(?P<idx>\d+):\t(?P<asm>.*)$")
_RELOC = re.compile(r"^\s+[0-9a-f]+:\s+(?P<type>R_BPF_\w+)\s+(?P<sym>\S+)")
_CALL = re.compile(r"^call (?P<num>\d+)$")


def _disassemble(obj: Path, functions: set[str], sources: _SourceLines) -> dict[str, list[CodeRow]]:
    out = _run_tool(
        [LLVM_OBJDUMP, "-d", "-l", "-r", "--no-show-raw-insn", str(obj)],
        "disassembling",
        str(obj),
    )
    return _parse_objdump(out, functions, sources)


def _parse_objdump(
    text: str, functions: set[str], sources: _SourceLines
) -> dict[str, list[CodeRow]]:
    code: dict[str, list[CodeRow]] = {}
    rows: list[CodeRow] | None = None
    start = 0  # section-wide index of the current function's first instruction
    last_line: tuple[str, int] | None = None
    for raw in text.splitlines():
        if raw.startswith("Disassembly of section"):
            rows = None
            continue
        header = _FUNC_HEADER.match(raw)
        if header:
            name = header.group("name")
            if name in functions or rows is None:
                rows = code.setdefault(name, [])
                start = -1
                last_line = None
            else:
                rows.append(CodeRow("label", name, None))
            continue
        if rows is None:
            continue
        info = _LINE_INFO.match(raw)
        if info:
            where = (info.group("file"), int(info.group("line")))
            if where != last_line and where[1] > 0:
                rows.append(sources.row(*where))
            last_line = where
            continue
        insn = _INSN.match(raw)
        if insn:
            index = int(insn.group("idx"))
            if start < 0:
                start = index
            rows.append(
                CodeRow("insn", _format_insn(index - start, _note_call(insn.group("asm"))), None)
            )
            continue
        reloc = _RELOC.match(raw)
        if reloc and rows and rows[-1].kind == "insn":
            rows[-1] = rows[-1]._replace(text=f"{rows[-1].text}  ; -> {reloc.group('sym')}")
    return code


def _format_insn(index: int, asm: str) -> str:
    return f"{index:4d}: {asm.strip()}"


def _note_call(asm: str) -> str:
    call = _CALL.match(asm.strip())
    if call:
        name = helper_names().get(int(call.group("num")))
        if name:
            return f"{asm.strip()}  ; {name}"
    return asm


# ---- describe_object ---------------------------------------------------------

_cache: dict[tuple[str, int, int, str], ObjectInfo] = {}
_cache_lock = threading.Lock()


def describe_object(obj_path: Path, source: Path | None = None) -> ObjectInfo:
    """Sections, programs, maps and interleaved bytecode of a BPF object file.

    Cached by the object's path, size and modification time, so asking again
    after an unchanged build costs a stat().
    """
    obj_path = Path(obj_path)
    try:
        stat = obj_path.stat()
    except OSError as exc:
        raise XdpTuiError(
            "object file not found",
            location=str(obj_path),
            hint="build the program first",
        ) from exc
    key = (str(obj_path.resolve()), stat.st_mtime_ns, stat.st_size, str(source or ""))
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    info = _describe(obj_path, Path(source) if source else None)
    with _cache_lock:
        _cache.clear()  # one object at a time is what the UI looks at
        _cache[key] = info
    return info


def _describe(obj: Path, source: Path | None) -> ObjectInfo:
    sections, functions = _read_elf(obj)
    if not any(s.name == ".BTF" for s in sections) and not functions:
        raise XdpTuiError("not a BPF object file (no BTF, no functions)", location=str(obj))
    info = ObjectInfo(path=obj, source=source, sections=sections)
    for name, section, size, is_global in functions:
        spec = ProgramInfo(name, section, size // 8)
        if section != ".text" and is_global:
            info.programs.append(spec)
        else:
            info.subprograms.append(spec)
    info.maps, info.notes = _read_maps(obj)
    sources = _SourceLines(source)
    info.code = _disassemble(obj, {name for name, *_ in functions}, sources)
    if not any(s.name == ".debug_line" for s in sections):
        info.notes.append("built without -g: no C lines to show next to the instructions")
    return info


# ---- describe_loaded (bpftool prog dump xlated) -----------------------------

_XLATED_SOURCE = re.compile(
    r"^; (?P<code>.*?) \[file:(?P<file>.*) line_num:(?P<line>\d+)(?: line_col:\d+)?\]$"
)
_XLATED_INSN = re.compile(r"^\s*(?P<idx>\d+): \((?P<op>[0-9a-f]{2})\) (?P<asm>.*)$")
_XLATED_FUNC = re.compile(r"^(?P<proto>[^;\s].*):$")


def describe_loaded(prog_id: int, source: Path | None = None) -> list[CodeRow]:
    """The verifier's rewritten instructions of loaded program PROG_ID, with line info."""
    out = _run_tool(
        [BPFTOOL, "prog", "dump", "xlated", "id", str(int(prog_id)), "linum"],
        f"reading program {prog_id} from the kernel",
        f"prog id {prog_id}",
    )
    return parse_xlated(out, _SourceLines(source))


def parse_xlated(text: str, sources: _SourceLines | None = None) -> list[CodeRow]:
    sources = sources or _SourceLines(None)
    rows: list[CodeRow] = []
    for raw in text.splitlines():
        src = _XLATED_SOURCE.match(raw)
        if src:
            line = int(src.group("line"))
            if line > 0:  # line 0: compiler-made code with no C line
                rows.append(sources.row(src.group("file"), line, src.group("code").strip()))
            continue
        insn = _XLATED_INSN.match(raw)
        if insn:
            rows.append(
                CodeRow("insn", _format_insn(int(insn.group("idx")), insn.group("asm")), None)
            )
            continue
        func = _XLATED_FUNC.match(raw)
        if func:
            rows.append(CodeRow("label", func.group("proto"), None))
    if not rows:
        raise XdpTuiError(
            "bpftool printed no instructions",
            location="bpftool prog dump xlated",
            hint="is the program still loaded? (xdp-tui status)",
            tui_hint="is the program still loaded? (the status line says what is attached)",
        )
    return rows
