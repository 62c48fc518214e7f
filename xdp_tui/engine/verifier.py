"""Turn a refused program load into a located, plain-words explanation.

When the object carries BTF line info (clang -g), the verifier's log at
level 1 interleaves the C source it is checking:

    ; if (eth->h_proto == 0) @ prog.c:11
    1: (71) r2 = *(u8 *)(r1 +12)
    invalid access to packet, off=12 size=1, R1(id=0,off=12,r=0)

The failing instruction is the last `N: (op)` line before the error text,
and its C line is the last `; ... @ file:line` comment before that
instruction. Compiler-made instructions carry line 0 (`;  @ file:0`); they
keep the nearest earlier real line, marked approximate. We match the error
text against the usual learner mistakes.

`log_view()` turns a report into a typed view (explanation on top, every log
line classified, the failing instruction marked, each source comment holding
the C text of its line) for the TUI to render and `render_log_view()` prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from xdp_tui import userfiles
from xdp_tui.engine._lib import describe_errno
from xdp_tui.errors import XdpTuiError

_INSN = re.compile(r"^(\d+): \([0-9a-f]{2}\)")
_SOURCE = re.compile(r"^; (?P<text>.*) @ (?P<file>[^@]+):(?P<line>\d+)$")
_STATE = re.compile(r"^(cur|old) state:")
_TRAILER = re.compile(r"^(processed \d+ insns|verification time|stack depth|-- END)")

# (substring of the verifier's words, plain explanation). First match wins.
EXPLANATIONS: list[tuple[str, str]] = [
    (
        "invalid access to packet",
        "the program reads or writes packet data without first proving it lies before "
        "ctx->data_end. Compare the pointer plus the size you access with data_end "
        "(e.g. `if ((void *)(eth + 1) > data_end) return XDP_DROP;`) before using it.",
    ),
    (
        "outside of the packet",
        "the program reads or writes packet data without first proving it lies before "
        "ctx->data_end. Add a bounds check against data_end before the access.",
    ),
    (
        "pointer arithmetic on pkt_end",
        "data_end marks where the frame ends: the verifier lets you compare with it, never "
        "compute from it (`data_end - 1` is refused). Reach the byte from data instead: an "
        "offset with an upper bound (mask it), then prove it ends before data_end.",
    ),
    (
        "map_value_or_null",
        "bpf_map_lookup_elem() can return NULL (no entry for that key), and the "
        "program uses the result without checking. Add `if (!value) return ...;` "
        "right after the lookup.",
    ),
    (
        "cannot call GPL-restricted function",
        "this helper is only available to GPL-compatible programs. Declare the "
        'license: `char _license[] SEC("license") = "GPL";`',
    ),
    (
        "back-edge",
        "the program has a loop the verifier cannot prove will end. Give the loop "
        "a constant upper bound (e.g. `for (i = 0; i < 8; i++)`).",
    ),
    (
        "infinite loop",
        "the program has a loop the verifier cannot prove will end. Give the loop "
        "a constant upper bound.",
    ),
    (
        "BPF program is too large",
        "the verifier explored more than a million instructions, which usually "
        "means a loop whose bound it cannot see or that is far too large. Make "
        "the loop bound a small constant.",
    ),
    (
        "unknown func",
        "the program calls a helper this kernel does not offer to XDP programs.",
    ),
    (
        "cannot use helper",
        "this helper is not available to XDP programs.",
    ),
    (
        "R0 !read_ok",
        "the function can reach its end without setting a return value. Make "
        "every path return an XDP action.",
    ),
    (
        "invalid mem access 'scalar'",
        "the program dereferences a number, not a pointer the verifier knows "
        "(often a pointer that was changed by arithmetic it cannot follow).",
    ),
    (
        "invalid access to map value",
        "the program reads or writes outside the map value. Check the offset "
        "and size of the access against the value's type.",
    ),
    (
        "invalid read from stack",
        "the program reads a local variable (or part of a struct on the stack) "
        "that was never written. Initialise it first, e.g. `= {}`.",
    ),
]


@dataclass
class VerifierReport:
    log: str
    insn: int | None
    source_file: str | None
    source_line: int | None
    source_text: str | None
    explanation: str
    error_text: str = ""
    # True when the failing instruction had no line of its own (line 0) and
    # source_line is the nearest earlier line the log gave.
    line_approximate: bool = False

    @property
    def location(self) -> str | None:
        if self.source_file and self.source_line:
            return f"{self.source_file}:{self.source_line}"
        return None

    def to_dict(self) -> dict[str, object]:
        return {
            "insn": self.insn,
            "source_file": self.source_file,
            "source_line": self.source_line,
            "source_text": self.source_text,
            "error": self.error_text,
            "explanation": self.explanation,
            "line_approximate": self.line_approximate,
        }


class VerifierError(XdpTuiError):
    """The kernel's verifier refused the program; `report` says where and why."""

    def __init__(self, program: str, report: VerifierReport) -> None:
        where = f"instruction {report.insn}" if report.insn is not None else "load"
        if report.source_text:
            near = "near " if report.line_approximate else ""
            where += f" ({near}{report.source_text.strip()})"
        message = f"the verifier refused '{program}' at {where}: {report.error_text}"
        super().__init__(
            message, location=report.location, hint=report.explanation, detail=report.log
        )
        self.program = program
        self.report = report


LogLineKind = Literal["source", "insn", "state", "error", "summary", "other"]


@dataclass(frozen=True)
class LogLine:
    """One line of the verifier log, classified for display.

    kind "source": a C line the verifier was checking (`text` is the line as
    the learner's file has it now, or as logged); "insn": one BPF instruction
    (`insn` its index); "error": the verifier's reason; "summary": its closing
    statistics; "state"/"other": register states and anything else.
    """

    kind: LogLineKind
    text: str
    insn: int | None = None
    source_line: int | None = None  # kind "source": the C line number (None for line 0)
    failing: bool = False  # the instruction the verifier refused, or its reason


@dataclass(frozen=True)
class VerifierLogView:
    """What the verifier-log view shows: explanation on top, then the log."""

    headline: str  # e.g. "refused at instruction 12 (xdp_prog_kern.c:52, approximate)"
    explanation: str
    error_text: str
    location: str | None
    line_approximate: bool
    lines: tuple[LogLine, ...]

    @property
    def failing_index(self) -> int | None:
        """Index in `lines` of the refused instruction (to scroll to it)."""
        for index, line in enumerate(self.lines):
            if line.failing and line.kind == "insn":
                return index
        return None


def log_view(report: VerifierReport) -> VerifierLogView:
    """The typed view of REPORT's log for a screen or the CLI."""
    where = report.location
    if where and report.line_approximate:
        where += ", nearest line: the failing instruction has none of its own"
    headline = "the verifier refused the program"
    if report.insn is not None:
        headline += f" at instruction {report.insn}"
    if where:
        headline += f" ({where})"
    return VerifierLogView(
        headline=headline,
        explanation=report.explanation,
        error_text=report.error_text,
        location=report.location,
        line_approximate=report.line_approximate,
        lines=tuple(_classify(report)),
    )


def _classify(report: VerifierReport) -> list[LogLine]:
    lines = [line.rstrip() for line in report.log.splitlines()]
    insn_at = [(i, int(m.group(1))) for i, ln in enumerate(lines) if (m := _INSN.match(ln))]
    last_insn_at = max((i for i, _ in insn_at), default=-1)
    # The refused instruction's last appearance (loops name an earlier one).
    failing_at = max((i for i, at in insn_at if at == report.insn), default=-1)
    out: list[LogLine] = []
    for index, line in enumerate(lines):
        src = _SOURCE.match(line)
        insn = _INSN.match(line)
        if src:
            number = int(src["line"]) or None
            text = src["text"]
            if number is not None and report.source_file:
                text = _read_line(report.source_file, number) or text
            out.append(
                LogLine("source", text or "(no C line: code the compiler made)", None, number)
            )
        elif insn:
            at = int(insn.group(1))
            out.append(LogLine("insn", line, at, failing=index == failing_at))
        elif _STATE.match(line) or re.match(r"^\d+: R\d", line):
            out.append(LogLine("state", line))
        elif _TRAILER.match(line):
            out.append(LogLine("summary", line))
        elif index > last_insn_at and line and line in report.error_text:
            out.append(LogLine("error", line, failing=True))
        else:
            out.append(LogLine("other", line))
    return out


def render_log_view(view: VerifierLogView) -> str:
    """Plain text of VIEW (what `xdp-tui load --log` prints): source lines set off, failing one marked."""
    out = [view.headline, f"why: {view.explanation}", ""]
    for line in view.lines:
        if line.kind == "source":
            number = f"{line.source_line:>4}" if line.source_line else "   ?"
            out.append(f"   {number} | {line.text}")
        elif line.failing:
            out.append(f">> {line.text}")
        else:
            out.append(f"   {line.text}")
    return "\n".join(out) + "\n"


# A refused access through the metadata pointer (skb->data_meta / ctx->data_meta): its bound
# is the start of the packet, not data_end.
_REFUSED_REGISTER = re.compile(r"\bR(\d+)\(id=")
META_EXPLANATION = (
    "the program reads or writes the metadata in front of the packet without first proving "
    "it is there: it lies between data_meta and data, and most frames carry none. Compare the "
    "pointer plus the size you access with data (e.g. `if ((void *)(meta + 1) > data) "
    "return ...;`) before using it."
)


def explain(error_text: str) -> str:
    refused = _REFUSED_REGISTER.search(error_text.split("\n", 1)[0])
    if refused and "packet" in error_text and _last_kind(error_text, refused[1]) == "pkt_meta":
        return META_EXPLANATION
    for needle, words in EXPLANATIONS:
        if needle in error_text:
            return words
    return "the verifier could not prove the program safe; the full log shows its reasoning."


def _last_kind(log: str, register: str) -> str | None:
    """What the verifier last said register REGISTER points to in LOG (pkt, pkt_meta, ...)."""
    kinds = re.findall(rf"\bR{register}(?:_w)?=([a-z_]+)", log)
    return kinds[-1] if kinds else None


def parse_log(
    log: str, object_path: Path | None = None, source: Path | None = None
) -> VerifierReport:
    lines = [line.rstrip() for line in log.splitlines()]
    error_lines, insn = _error_lines(lines)
    source_file = source_line = source_text = None
    where = _source_of_insns(lines).get(insn) if insn is not None else None
    approximate = False
    if where is not None:
        short_name, source_line, logged_text, approximate = where
        source_file = _resolve_source(short_name, object_path, source)
        source_text = _read_line(source_file, source_line) or logged_text
    error_text = "; ".join(error_lines) or "(no reason in the log)"
    return VerifierReport(
        log=log,
        insn=insn,
        source_file=source_file,
        source_line=source_line,
        source_text=source_text,
        explanation=explain(error_text + "\n" + log),
        error_text=error_text,
        line_approximate=approximate,
    )


def _source_of_insns(lines: list[str]) -> dict[int, tuple[str, int, str, bool]]:
    """insn index -> (file, line, text, approximate) of the `; text @ file:line` before it.

    A `@ file:0` comment (code the compiler made, no line of its own) keeps
    the previous real line, flagged approximate.
    """
    found: dict[int, tuple[str, int, str, bool]] = {}
    current: tuple[str, int, str, bool] | None = None
    for line in lines:
        src = _SOURCE.match(line)
        if src:
            if int(src["line"]) > 0:
                current = (src["file"], int(src["line"]), src["text"], False)
            elif current is not None:
                current = (*current[:3], True)
            continue
        insn = _INSN.match(line)
        if insn and current is not None:
            found.setdefault(int(insn.group(1)), current)
    return found


def _error_lines(lines: list[str]) -> tuple[list[str], int | None]:
    """The verifier's reason (the text after the last instruction line) and the failing insn."""
    last = None
    for i, line in enumerate(lines):
        if _INSN.match(line):
            last = i
    start = last + 1 if last is not None else 0
    errors = []
    for line in lines[start:]:
        if _TRAILER.match(line):
            break
        if line and not line.startswith(";") and not _INSN.match(line) and not _STATE.match(line):
            errors.append(line)
    if not errors:  # e.g. "back-edge from insn 9 to 7" comes before any instruction
        errors = [ln for ln in lines if ln and not _TRAILER.match(ln) and not ln.startswith(";")][
            -1:
        ]
    insn = int(_INSN.match(lines[last]).group(1)) if last is not None else None  # type: ignore[union-attr]
    return errors[:3], _loop_insn(errors, insn)


def _loop_insn(errors: list[str], insn: int | None) -> int | None:
    """Loop errors name their instruction in words: 'back-edge from insn 9 to 7'."""
    for text in errors:
        match = re.search(r"(?:back-edge from insn|infinite loop detected at insn) (\d+)", text)
        if match:
            return int(match.group(1))
    return insn


def _resolve_source(name: str, object_path: Path | None, source: Path | None = None) -> str:
    """The kernel prints a short file name; find the real file (the one we built, or next to the object)."""
    candidate = Path(name)
    if source is not None and Path(source).name == candidate.name:
        return str(Path(source).resolve())
    if candidate.is_absolute() and candidate.exists():
        return str(candidate)
    if object_path is not None:
        for base in (object_path.parent, object_path.parent.parent):
            if (base / name).exists():
                return str((base / name).resolve())
        sibling = object_path.with_suffix(".c")
        if sibling.name == candidate.name and sibling.exists():
            return str(sibling.resolve())
    return name


def _read_line(path: str, number: int) -> str | None:
    # As the learner, no links, capped: line info may name any file.
    try:
        lines = userfiles.read_source(Path(path)).decode(errors="replace").splitlines()
    except (OSError, XdpTuiError):
        return None
    return lines[number - 1].strip() if 0 < number <= len(lines) else None


def explain_load_failure(
    program: str,
    err: int,
    verifier_log: str,
    libbpf_log: str,
    object_path: Path,
    *,
    source: Path | None = None,
) -> XdpTuiError:
    """The error to raise for a failed bpf_object__load (a VerifierError if the verifier spoke)."""
    if verifier_log.strip():
        return VerifierError(program, parse_log(verifier_log, object_path, source))
    # No verifier log: libbpf failed before the kernel checked the program.
    last = [ln for ln in libbpf_log.splitlines() if ln.strip()]
    reason = describe_errno(err)
    hint = None
    if err == 1:  # EPERM
        hint = "loading BPF programs needs root (run with sudo)"
    elif err == 7:  # E2BIG
        hint = "the program or one of its maps is too big for this kernel"
    return XdpTuiError(
        f"could not load '{program}': {reason}"
        + (f" ({last[0].removeprefix('libbpf: ')})" if last else ""),
        location=str(object_path),
        hint=hint,
        detail=libbpf_log,
    )
