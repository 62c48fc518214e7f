"""Typed rows of the room: learners, hosts, one polling round, and the "stuck" rule.

`parse_progress` turns one host's `progress --all-users --json` into Learner
rows and raises MalformedOutput (a short reason) on anything unexpected, so a
garbled host shows its own error and never breaks the round.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

CellState = Literal["passed", "partial", "failing", "untouched"]


class MalformedOutput(ValueError):
    """A host answered, but not with what xdp-tui prints."""


@dataclass(frozen=True)
class StuckRule:
    """A learner is stuck after FAILURES failed checks in a row of one assignment,
    or after IDLE_S seconds without a new pass (counted from their first check)."""

    failures: int = 3
    idle_s: float = 20 * 60.0


@dataclass(frozen=True)
class LastCheck:
    lesson: str
    assignment: str
    passed: bool
    detail: str
    checked_at: float
    failures: int = 0


@dataclass(frozen=True)
class LessonCell:
    lesson: str
    passed: int
    total: int
    failing: bool  # some assignment's latest check failed

    @property
    def state(self) -> CellState:
        if self.total and self.passed >= self.total:
            return "passed"
        if self.failing:
            return "failing"
        return "partial" if self.passed else "untouched"


@dataclass(frozen=True)
class Learner:
    user: str
    passed: int
    total: int
    current_lesson: str | None
    last_check: LastCheck | None
    last_progress: float | None
    last_activity: float | None
    lessons: tuple[LessonCell, ...]
    stuck: bool = False
    stuck_reason: str = ""

    @property
    def done(self) -> bool:
        return self.total > 0 and self.passed >= self.total


@dataclass(frozen=True)
class HostReport:
    host: str
    reachable: bool
    error: str | None = None
    doctor_ok: bool | None = None  # None: not asked yet
    doctor_failures: tuple[str, ...] = ()
    hostname: str | None = None
    learners: tuple[Learner, ...] = ()
    elapsed_s: float = 0.0

    @property
    def healthy(self) -> bool:
        return self.reachable and self.error is None and self.doctor_ok is not False


@dataclass(frozen=True)
class LearnerDetail:
    """What the instructor sees on selecting a learner (fetched on demand)."""

    host: str
    user: str
    lesson: str | None
    last_check: LastCheck | None
    diff: str
    error: str | None = None


@dataclass(frozen=True)
class RoomRound:
    time: float
    duration_s: float
    hosts: tuple[HostReport, ...] = field(default_factory=tuple)

    def learners(self) -> list[tuple[HostReport, Learner]]:
        """Every learner of the room, stuck first, then the least advanced."""
        rows = [(host, learner) for host in self.hosts for learner in host.learners]
        return sorted(rows, key=lambda r: (not r[1].stuck, r[1].done, r[1].passed, r[0].host))

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "duration_s": round(self.duration_s, 3),
            "hosts": [
                {
                    "host": h.host,
                    "hostname": h.hostname,
                    "reachable": h.reachable,
                    "error": h.error,
                    "doctor_ok": h.doctor_ok,
                    "doctor_failures": list(h.doctor_failures),
                    "elapsed_s": round(h.elapsed_s, 3),
                    "learners": [_learner_dict(learner) for learner in h.learners],
                }
                for h in self.hosts
            ],
        }


def _learner_dict(learner: Learner) -> dict[str, Any]:
    return {
        "user": learner.user,
        "passed": learner.passed,
        "total": learner.total,
        "current_lesson": learner.current_lesson,
        "last_check": asdict(learner.last_check) if learner.last_check else None,
        "last_progress": learner.last_progress,
        "stuck": learner.stuck,
        "stuck_reason": learner.stuck_reason,
        "lessons": {cell.lesson: cell.state for cell in learner.lessons},
    }


# ---- parsing what a host printed -------------------------------------------


def _as(value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool) and kind in (int, float):
        raise MalformedOutput(f"{what} is {type(value).__name__}, not {_name(kind)}")
    return value


def _name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def _time(value: Any, what: str) -> float | None:
    return None if value is None else float(_as(value, (int, float), what))


def parse_json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        first = text.strip().splitlines()[0][:60] if text.strip() else "nothing"
        raise MalformedOutput(f"not JSON (starts {first!r})") from None
    checked: dict[str, Any] = _as(data, dict, "the output")
    return checked


def parse_last_check(value: Any) -> LastCheck | None:
    if value is None:
        return None
    check = _as(value, dict, "last_check")
    return LastCheck(
        lesson=str(_as(check.get("lesson"), str, "last_check.lesson")),
        assignment=str(_as(check.get("assignment"), str, "last_check.assignment")),
        passed=bool(check.get("passed")),
        detail=str(check.get("detail") or "")[:4000],
        checked_at=_time(check.get("checked_at"), "last_check.checked_at") or 0.0,
        failures=int(_as(check.get("failures", 0), int, "last_check.failures")),
    )


def parse_progress(text: str, now: float, rule: StuckRule) -> tuple[str | None, list[Learner]]:
    """(hostname, learners) from `xdp-tui progress --all-users --json` output."""
    data = parse_json(text)
    users = _as(data.get("users"), list, "users")
    hostname = data.get("hostname")
    learners = [_learner(_as(row, dict, "a user row"), now, rule) for row in users]
    return (str(hostname) if hostname else None), learners


def _learner(row: dict[str, Any], now: float, rule: StuckRule) -> Learner:
    cells = tuple(
        _cell(_as(item, dict, "a lesson row"))
        for item in _as(row.get("lessons", []), list, "lessons")
    )
    learner = Learner(
        user=str(_as(row.get("user"), str, "user")),
        passed=int(_as(row.get("passed"), int, "passed")),
        total=int(_as(row.get("total"), int, "total")),
        current_lesson=row.get("current_lesson")
        if isinstance(row.get("current_lesson"), str)
        else None,
        last_check=parse_last_check(row.get("last_check")),
        last_progress=_time(row.get("last_progress"), "last_progress"),
        last_activity=_time(row.get("last_activity"), "last_activity"),
        lessons=cells,
    )
    reason = stuck_reason(learner, now, rule)
    return replace(learner, stuck=bool(reason), stuck_reason=reason)


def _cell(item: dict[str, Any]) -> LessonCell:
    assignments = _as(item.get("assignments") or {}, dict, "assignments")
    failing = any(
        isinstance(entry, dict) and entry.get("checked_at") and not entry.get("passed")
        for entry in assignments.values()
    )
    return LessonCell(
        lesson=str(_as(item.get("lesson"), str, "lesson")),
        passed=len(_as(item.get("passed", []), list, "passed")),
        total=int(_as(item.get("total", 0), int, "total")),
        failing=failing,
    )


def stuck_reason(learner: Learner, now: float, rule: StuckRule) -> str:
    """Why LEARNER looks stuck under RULE, or "" when they are not."""
    if learner.done:
        return ""
    check = learner.last_check
    if check and not check.passed and check.failures >= rule.failures:
        return f"{check.lesson} #{check.assignment} failed {check.failures} times in a row"
    if learner.last_progress and now - learner.last_progress > rule.idle_s:
        return f"no progress for {int((now - learner.last_progress) // 60)} min"
    return ""


def parse_doctor(text: str) -> tuple[bool, tuple[str, ...]]:
    """(ok, names of the failing checks) from `xdp-tui doctor --json`."""
    data = parse_json(text)
    checks = _as(data.get("checks", []), list, "checks")
    failing = tuple(str(c.get("name")) for c in checks if isinstance(c, dict) and not c.get("ok"))
    return bool(data.get("ok")) and not failing, failing


def parse_detail(host: str, user: str, text: str) -> LearnerDetail:
    data = parse_json(text)
    lesson = data.get("lesson")
    return LearnerDetail(
        host=host,
        user=user,
        lesson=lesson if isinstance(lesson, str) else None,
        last_check=parse_last_check(data.get("last_check")),
        diff=str(_as(data.get("diff", ""), str, "diff")),
    )
