"""The learner's way through a lesson: assignment states, graduated help, the solution part.

Everything a checklist, a hint button or a diff view needs, as typed data:

- `lesson_progress()`: each assignment's title, state (not tried / failing /
  passed) and last result detail, plus the lesson's progress fraction, read
  from the progress store;
- `help_step()`: hint levels one by one, then the assignment's part of the
  solution;
- `solution_part()`: the lines of the solution file marked for an assignment;
- `solution_diff()`: the learner's file against the solution, as unified-diff
  lines tagged for colouring;
- `traffic_choices()`: the traffic a lesson needs (IPv6 ping, IPv4, VLAN, ports);
- `render_readme()`: a README with `{{outer_ipv6}}`-style placeholders filled
  from the learner's lab (or said generically when there is none).

Solution files mark each assignment's lines with comment lines:

    /* >>> assignment 2 */        (or "assignments 2,3": the lines serve both)
    ...
    /* <<< assignment 2 */

The markers are ordinary comments (the solution still builds) and are left
out of what the learner is shown. Pure Python: no Textual, no kernel calls.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from xdp_tui import userfiles
from xdp_tui.errors import XdpTuiError
from xdp_tui.lessons import (
    Assignment,
    Lesson,
    Progress,
    TrafficChoice,
    solution_source,
    workspace_source,
)

AssignmentStateName = Literal["not tried", "failing", "passed"]

_MARKER = re.compile(r"^\s*/\*\s*(?P<edge>>>>|<<<)\s*assignments?\s+(?P<ids>[\w,\s]+?)\s*\*/\s*$")


# ---- states and progress ----------------------------------------------------


@dataclass(frozen=True)
class AssignmentState:
    """Where the learner stands with one assignment."""

    lesson_id: str
    assignment: Assignment
    state: AssignmentStateName  # of the latest check
    detail: str  # the latest check's words ("" when never checked)
    checked_at: float | None
    ever_passed: bool  # passed at least once (a later failure does not take it back)
    hints_shown: int  # hint levels the learner has opened

    @property
    def id(self) -> str:
        return self.assignment.id

    @property
    def title(self) -> str:
        return self.assignment.title


@dataclass(frozen=True)
class LessonProgress:
    lesson_id: str
    assignments: tuple[AssignmentState, ...]

    @property
    def total(self) -> int:
        return len(self.assignments)

    @property
    def done(self) -> int:
        """Assignments passed at least once."""
        return sum(1 for a in self.assignments if a.ever_passed)

    @property
    def fraction(self) -> float:
        """0.0 .. 1.0 for a progress bar (1.0 for a lesson without assignments)."""
        return self.done / self.total if self.total else 1.0

    @property
    def next_up(self) -> AssignmentState | None:
        """The first assignment not passed yet: what `c` should check by default."""
        for item in self.assignments:
            if not item.ever_passed:
                return item
        return None

    def state_of(self, assignment_id: str) -> AssignmentState:
        for item in self.assignments:
            if item.id == assignment_id:
                return item
        raise XdpTuiError(f"lesson {self.lesson_id} has no assignment {assignment_id!r}")


def assignment_state(lesson: Lesson, assignment: Assignment, progress: Progress) -> AssignmentState:
    entry = progress.result(lesson.id, assignment.id) or {}
    stamp = entry.get("checked_at")
    checked_at = float(stamp) if isinstance(stamp, (int, float)) else None
    tried = checked_at is not None and "passed" in entry
    state: AssignmentStateName = (
        "not tried" if not tried else ("passed" if entry.get("passed") else "failing")
    )
    return AssignmentState(
        lesson_id=lesson.id,
        assignment=assignment,
        state=state,
        detail=str(entry.get("detail") or "") if tried else "",
        checked_at=checked_at if tried else None,
        ever_passed=bool(entry.get("passed_at")),
        hints_shown=progress.hints_shown(lesson.id, assignment.id),
    )


def lesson_progress(lesson: Lesson, progress: Progress | None = None) -> LessonProgress:
    """Every assignment's state for LESSON (from PROGRESS, default: this user's store)."""
    store = progress if progress is not None else Progress.load()
    return LessonProgress(
        lesson.id, tuple(assignment_state(lesson, a, store) for a in lesson.assignments)
    )


# ---- graduated help ---------------------------------------------------------


@dataclass(frozen=True)
class HelpStep:
    """One step of help: hint level `level` of `levels`, or (after them) the solution part."""

    assignment_id: str
    level: int  # 1-based; levels + 1 is the solution
    levels: int  # how many hint levels come before the solution
    text: str
    is_solution: bool

    @property
    def has_more(self) -> bool:
        return not self.is_solution


def help_step(lesson: Lesson, assignment_id: str, level: int) -> HelpStep:
    """Hint LEVEL (1 = gentlest) of the assignment; past the last hint, its solution part."""
    assignment = lesson.assignment(assignment_id)
    levels = len(assignment.hints)
    if level < 1:
        raise XdpTuiError(f"hint levels start at 1, not {level}")
    if level <= levels:
        return HelpStep(assignment.id, level, levels, assignment.hints[level - 1], False)
    part = solution_part(lesson, assignment.id)
    return HelpStep(assignment.id, levels + 1, levels, part.text, True)


def next_help(lesson: Lesson, assignment_id: str, progress: Progress | None = None) -> HelpStep:
    """The next help step for the learner (one more than they have seen), remembered."""
    store = progress if progress is not None else Progress.load()
    assignment = lesson.assignment(assignment_id)
    level = min(store.hints_shown(lesson.id, assignment.id) + 1, len(assignment.hints) + 1)
    step = help_step(lesson, assignment.id, level)
    store.note_hints_shown(lesson.id, assignment.id, level)
    return step


# ---- the solution, per assignment -----------------------------------------------


@dataclass(frozen=True)
class SolutionBlock:
    first_line: int  # 1-based line in the solution file without its marker lines
    lines: tuple[str, ...]


@dataclass(frozen=True)
class SolutionPart:
    """The solution's lines for one assignment, in file order (markers left out)."""

    assignment_id: str
    file: Path
    blocks: tuple[SolutionBlock, ...]

    @property
    def text(self) -> str:
        """The blocks, separated by a `...` line where lines are skipped."""
        shown = ["\n".join(block.lines) for block in self.blocks]
        return "\n    ...\n".join(shown) + "\n"


def solution_text(lesson: Lesson) -> str:
    """The whole solution as the learner sees it: without the assignment markers."""
    return "".join(_unmarked(solution_source(lesson).read_text().splitlines(keepends=True)))


def solution_part(lesson: Lesson, assignment_id: str) -> SolutionPart:
    """The solution's lines marked for ASSIGNMENT_ID."""
    assignment = lesson.assignment(assignment_id)
    path = solution_source(lesson)
    blocks = _marked_blocks(path.read_text().splitlines(), str(path)).get(assignment.id, [])
    if not blocks:
        raise XdpTuiError(
            f"the solution of {lesson.id} marks no lines for assignment {assignment.id}",
            location=str(path),
            hint=f"surround them with /* >>> assignment {assignment.id} */ and "
            f"/* <<< assignment {assignment.id} */",
        )
    return SolutionPart(assignment.id, path, tuple(blocks))


def _unmarked(lines: list[str]) -> list[str]:
    return [line for line in lines if not _MARKER.match(line)]


def _marked_blocks(lines: list[str], where: str) -> dict[str, list[SolutionBlock]]:
    """assignment id -> its blocks; line numbers count without marker lines."""
    found: dict[str, list[SolutionBlock]] = {}
    open_blocks: dict[str, tuple[int, list[str]]] = {}
    shown_number = 0
    for number, line in enumerate(lines, start=1):
        marker = _MARKER.match(line)
        if marker is None:
            shown_number += 1
            for _, body in open_blocks.values():
                body.append(line)
            continue
        for aid in (part.strip() for part in marker["ids"].split(",") if part.strip()):
            if marker["edge"] == ">>>":
                if aid in open_blocks:
                    raise XdpTuiError(
                        f"assignment {aid} opened twice", location=f"{where}:{number}"
                    )
                open_blocks[aid] = (shown_number + 1, [])
            else:
                if aid not in open_blocks:
                    raise XdpTuiError(
                        f"assignment {aid} closed but never opened", location=f"{where}:{number}"
                    )
                first, body = open_blocks.pop(aid)
                found.setdefault(aid, []).append(SolutionBlock(first, tuple(body)))
    if open_blocks:
        raise XdpTuiError(
            f"assignment(s) {', '.join(sorted(open_blocks))} never closed", location=where
        )
    return found


# ---- the learner's file against the solution -----------------------------------

DiffLineKind = Literal["file", "hunk", "added", "removed", "same"]


@dataclass(frozen=True)
class DiffLine:
    """One line of a unified diff; kind says how to colour it."""

    kind: DiffLineKind
    text: str  # the diff line as printed (with its leading +, -, space or @@)


@dataclass(frozen=True)
class SolutionDiff:
    learner_file: Path
    solution_file: Path
    lines: tuple[DiffLine, ...]

    @property
    def identical(self) -> bool:
        return not self.lines

    @property
    def text(self) -> str:
        return "".join(line.text + "\n" for line in self.lines)


def solution_diff(
    lesson: Lesson, source: Path | None = None, context: int = 3, *, text: str | None = None
) -> SolutionDiff:
    """Unified diff from the learner's file (or SOURCE) to the solution (markers left out).

    TEXT: SOURCE's content when the caller has read it already (the room reads
    another user's file itself, without following links).
    """
    mine = Path(source) if source is not None else workspace_source(lesson)
    theirs = solution_source(lesson)
    # As the learner, no links, capped: the workspace file may be a link to anything.
    # TEXT: the room has read another user's file already (as that user).
    raw_mine = text if text is not None else userfiles.read_source(mine).decode(errors="replace")
    mine_lines = raw_mine.splitlines()
    solution_lines = _unmarked(theirs.read_text().splitlines())
    raw = difflib.unified_diff(
        mine_lines,
        solution_lines,
        fromfile=f"yours/{mine.name}",
        tofile=f"solution/{theirs.name}",
        n=context,
        lineterm="",
    )
    return SolutionDiff(mine, theirs, tuple(_diff_line(text) for text in raw))


def _diff_line(text: str) -> DiffLine:
    if text.startswith(("--- ", "+++ ")):
        return DiffLine("file", text)
    if text.startswith("@@"):
        return DiffLine("hunk", text)
    if text.startswith("+"):
        return DiffLine("added", text)
    if text.startswith("-"):
        return DiffLine("removed", text)
    return DiffLine("same", text)


# ---- traffic a lesson needs -------------------------------------------------------


def traffic_choices(lesson: Lesson) -> list[TrafficChoice]:
    """What the learner can send for LESSON: the IPv6 ping, IPv4 and VLAN pings when the
    lesson's lab has them, then the lesson's own `[[traffic]]` entries."""
    choices = [TrafficChoice("IPv6 ping")]
    if lesson.lab.legacy_ip:
        choices.append(TrafficChoice("IPv4 ping", family=4))
    if lesson.lab.vlan:
        choices.append(TrafficChoice("VLAN-tagged ping (id 100)", vlan=100))
    labels = {choice.label for choice in choices}
    choices.extend(choice for choice in lesson.traffic if choice.label not in labels)
    return choices


# ---- README addresses that match the lab ---------------------------------------

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_LAB_FIELDS = ("outer_ipv6", "inner_ipv6", "outer_ipv4", "inner_ipv4")
# Said generically when no lab exists yet: N is the lab's number.
GENERIC_VALUES = {
    "lab": "test01",
    "n": "N",
    "outer_ipv6": "fc00:dead:cafe:N::1",
    "inner_ipv6": "fc00:dead:cafe:N::2",
    "outer_ipv4": "10.11.N.1",
    "inner_ipv4": "10.11.N.2",
}


def readme_values(lab: object | None) -> dict[str, str]:
    """Placeholder values from a testenv Lab (its name, number and addresses)."""
    if lab is None:
        return dict(GENERIC_VALUES)
    number = getattr(lab, "number", None)
    values = {"lab": str(getattr(lab, "name", "test01")), "n": str(number)}
    for name in _LAB_FIELDS:
        address = getattr(lab, name, None)
        if address is None and number is not None:  # a lab without IPv4 yet gets it by number
            address = GENERIC_VALUES[name].replace("N", str(number))
        values[name] = str(address) if address else GENERIC_VALUES[name]
    return values


# The generic spelling of the lab's own addresses in a README ("N" is the lab's number).
_GENERIC_ADDRESS = re.compile(r"fc00:dead:cafe:N::[12]\b|\b10\.11\.N\.[12]\b")


def render_readme(text: str, lab: object | None = None) -> str:
    """TEXT with the lab's own addresses filled in for LAB.

    Two spellings are filled: the generic addresses a README says anyway
    (`fc00:dead:cafe:N::1`, `10.11.N.2`, ...: readable raw, exact when
    rendered), and `{{outer_ipv6}}`, `{{inner_ipv4}}`, `{{lab}}`, `{{n}}`
    placeholders. Unknown `{{names}}` stay as written (C never uses double
    braces); without a lab only the placeholders are filled, generically.
    """
    values = readme_values(lab)
    if lab is not None:
        by_generic = {GENERIC_VALUES[name]: values[name] for name in _LAB_FIELDS}
        text = _GENERIC_ADDRESS.sub(lambda m: by_generic.get(m.group(0), m.group(0)), text)
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
