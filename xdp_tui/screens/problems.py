"""Turn any failure from a worker into words for the screen (never a traceback).

`describe(exc)` sorts failures in three kinds:
- a compiler error (BuildError: `.result.diagnostics`) → the failing line and every diagnostic;
- a verifier refusal (VerifierError: `.report`) → the failing C line and the plain-words explanation;
- any other XdpTuiError → its located message and hint.
Unexpected exceptions keep their traceback in the log file only.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from xdp_tui import paths
from xdp_tui.errors import XdpTuiError
from xdp_tui.widgets.source_view import LineMark


@dataclass
class Problem:
    title: str
    lines: list[tuple[str, str]] = field(default_factory=list)  # (text, rich style)
    hint: str | None = None
    file: str | None = None  # source file the problem points into
    line: int | None = None
    column: int = 1

    @property
    def in_source(self) -> bool:
        return self.line is not None


def describe(exc: BaseException) -> Problem:
    result = getattr(exc, "result", None)
    if result is not None and hasattr(result, "diagnostics"):
        return _build_problem(exc, result)
    report = getattr(exc, "report", None)
    if report is not None and hasattr(report, "explanation"):
        return _verifier_problem(exc, report)
    if isinstance(exc, XdpTuiError):
        title = f"{exc.location}: {exc.message}" if exc.location else exc.message
        return Problem(title, hint=exc.hint_for("tui"))
    log_unexpected(exc)
    return Problem(
        f"unexpected error: {type(exc).__name__}: {exc}",
        hint=f"details are in {paths.log_file()}",
    )


def _build_problem(exc: BaseException, result: object) -> Problem:
    diagnostics = list(getattr(result, "diagnostics", []))
    errors = [d for d in diagnostics if d.severity == "error"]
    first = errors[0] if errors else (diagnostics[0] if diagnostics else None)
    lines = []
    for diag in diagnostics[:8]:
        style = {"error": "red", "warning": "yellow"}.get(diag.severity, "bright_black")
        lines.append((f"{_short(diag.file)}:{diag.line}:{diag.column}: {diag.message}", style))
    problem = Problem("the compiler refused the program", lines=lines, hint=_tui_hint(exc))
    if first is not None:
        problem.file, problem.line, problem.column = first.file, first.line, first.column
    return problem


def _verifier_problem(exc: BaseException, report: object) -> Problem:
    line = getattr(report, "source_line", None)
    source_text = (getattr(report, "source_text", "") or "").strip()
    lines = []
    if line:
        lines.append((f"line {line}: {source_text}", "bold"))
    explanation = getattr(report, "explanation", "") or ""
    if explanation:
        lines.append((explanation, ""))
    insn = getattr(report, "insn", None)
    if insn:
        lines.append((f"instruction: {insn}", "bright_black"))
    problem = Problem(
        f"the verifier refused the program: {getattr(exc, 'message', exc)}",
        lines=lines,
        hint=_tui_hint(exc),
    )
    if line:
        problem.file = getattr(report, "source_file", None)
        problem.line = int(line)
    return problem


def _tui_hint(exc: BaseException) -> str | None:
    return exc.hint_for("tui") if isinstance(exc, XdpTuiError) else getattr(exc, "hint", None)


def line_marks(diagnostics: list[Any], source_name: str) -> list[LineMark]:
    """Gutter marks for the errors and warnings clang found in SOURCE_NAME."""
    return [
        LineMark(diag.line, diag.severity, diag.message)
        for diag in diagnostics
        if diag.severity in ("error", "warning") and _short(diag.file) == source_name
    ]


def marks_of_failure(exc: BaseException, source_name: str) -> list[LineMark] | None:
    """The gutter marks a failed build or load leaves (None: not a build or load failure)."""
    result = getattr(exc, "result", None)
    if result is not None and hasattr(result, "diagnostics"):
        return line_marks(list(result.diagnostics), source_name)
    report = getattr(exc, "report", None)
    if report is not None and hasattr(report, "explanation"):
        line = getattr(report, "source_line", None)
        text = getattr(report, "error_text", "") or "the verifier refused this"
        return [LineMark(int(line), "error", f"verifier: {text}")] if line else []
    return None


def _short(file: str) -> str:
    return file.rsplit("/", 1)[-1]


def log_unexpected(exc: BaseException) -> None:
    """Keep the traceback for the curious, away from the screen."""
    try:
        log = paths.log_file()
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as out:
            out.write(f"--- {datetime.now().isoformat()} unexpected error in xdp-tui\n")
            out.write("".join(traceback.format_exception(exc)))
    except OSError:
        pass


F = TypeVar("F", bound=Callable[..., Any])


def guarded(handler: F) -> F:
    """For handlers that draw into panes: a defect there is shown and logged, never a crash.

    The method's `self` must have `show_problem(exc)` (a workshop pane): the
    failure goes to the screen's one problem handler like a worker's would.
    """

    @functools.wraps(handler)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return handler(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - shown by show_problem, traceback in the log
            self.show_problem(exc)
            return None

    return wrapper  # type: ignore[return-value]
