"""The lesson catalog, the learner's workspaces and the progress store.

A lesson is a folder `lessons/<id>/` holding `lesson.toml` (metadata), a
`README.md`, the starter program, `solution/<source>` and `checks.py`.
Learners never edit the shipped starter: they work on a copy in
`user_data_dir()/workspace/<id>/`, made on first use and resettable.
Progress (which assignments passed) is one JSON file per user.

Pure Python: no Textual, no kernel calls.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from xdp_tui.errors import XdpTuiError
from xdp_tui.paths import give_to_invoking_user, lessons_dir, user_data_dir

# Files a learner may edit: C sources and headers at the top of the lesson folder.
_WORKSPACE_SUFFIXES = (".c", ".h")


@dataclass(frozen=True)
class Assignment:
    id: str
    title: str
    check: str  # function name in the lesson's checks.py
    hint: str = ""  # the first hint level (what a failed check shows)
    # Graduated help, gentlest first: `hints = [...]` in lesson.toml (a lone
    # `hint` is one level). The solution part comes after the last level.
    hints: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "check": self.check,
            "hint": self.hint,
            "hints": list(self.hints),
        }


@dataclass(frozen=True)
class LabOptions:
    """What labs a lesson's checks need (role names such as "test01", "left")."""

    count: int = 1
    roles: tuple[str, ...] = ("test01",)
    legacy_ip: bool = False
    vlan: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "roles": list(self.roles),
            "legacy_ip": self.legacy_ip,
            "vlan": self.vlan,
        }


@dataclass(frozen=True)
class TrafficChoice:
    """One kind of traffic a lesson offers the learner (`[[traffic]]` in lesson.toml).

    kind "ping" (echo requests), "udp" or "tcp" (to `port`); `family` 6 or 4;
    `vlan` tags the frames; `ask_to`: ping an address the learner types
    (another lab's end, packet03).
    """

    label: str
    kind: str = "ping"
    family: int = 6
    vlan: int | None = None
    port: int | None = None
    ask_to: bool = False
    count: int = 5

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


TRAFFIC_KINDS = ("ping", "udp", "tcp")


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    order: int
    dir: Path
    readme: Path
    source_name: str
    programs: tuple[str, ...]
    default_program: str | None
    maps: tuple[str, ...]
    lab: LabOptions
    assignments: tuple[Assignment, ...] = field(default_factory=tuple)
    # Non-empty: the starter is meant to be refused by the verifier with this text.
    starter_refused: str = ""
    # Assignments the untouched starter already satisfies (basic01: nothing to write).
    starter_passes: tuple[str, ...] = ()
    # Traffic the lesson's assignments need, beyond the IPv6 ping every lab answers.
    traffic: tuple[TrafficChoice, ...] = ()
    # Programs of the lesson file that go on a kernel tracepoint (tracing01), not on the lab.
    tracepoint_programs: tuple[str, ...] = ()
    # TC programs of the lesson file, attached to the lab's ingress beside XDP (advanced01).
    tc_programs: tuple[str, ...] = ()

    @property
    def starter_source(self) -> Path:
        return self.dir / self.source_name

    @property
    def checks_file(self) -> Path:
        return self.dir / "checks.py"

    def assignment(self, assignment_id: str) -> Assignment:
        for item in self.assignments:
            if item.id == assignment_id:
                return item
        known = ", ".join(a.id for a in self.assignments) or "none"
        raise XdpTuiError(
            f"lesson {self.id} has no assignment {assignment_id!r}",
            hint=f"its assignments: {known}",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "order": self.order,
            "dir": str(self.dir),
            "readme": str(self.readme),
            "source": self.source_name,
            "programs": list(self.programs),
            "default_program": self.default_program,
            "maps": list(self.maps),
            "lab": self.lab.to_dict(),
            "assignments": [a.to_dict() for a in self.assignments],
            "starter_refused": self.starter_refused,
            "starter_passes": list(self.starter_passes),
            "traffic": [t.to_dict() for t in self.traffic],
            "tracepoint_programs": list(self.tracepoint_programs),
            "tc_programs": list(self.tc_programs),
        }


# ---- catalog --------------------------------------------------------------


def catalog() -> list[Lesson]:
    """Every lesson found under `lessons_dir()`, in teaching order."""
    root = lessons_dir()
    if not root.is_dir():
        return []
    found = [_read_lesson(toml) for toml in sorted(root.glob("*/lesson.toml"))]
    return sorted(found, key=lambda lesson: (lesson.order, lesson.id))


def get_lesson(lesson_id: str) -> Lesson:
    lessons = catalog()
    for lesson in lessons:
        if lesson.id == lesson_id:
            return lesson
    known = ", ".join(lesson.id for lesson in lessons) or "none found"
    raise XdpTuiError(
        f"unknown lesson {lesson_id!r}",
        hint=f"lessons: {known} (see `xdp-tui lessons`)",
    )


def _read_lesson(toml_path: Path) -> Lesson:
    where = str(toml_path)
    try:
        data = tomllib.loads(toml_path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise XdpTuiError(f"cannot parse lesson metadata: {exc}", location=where) from exc
    try:
        return _lesson_from_dict(data, toml_path.parent)
    except (KeyError, TypeError, ValueError) as exc:
        raise XdpTuiError(
            f"bad lesson metadata: {exc!r}",
            location=where,
            hint="compare with the schema in docs/ARCHITECTURE.md",
        ) from exc


def _lesson_from_dict(data: dict[str, Any], folder: Path) -> Lesson:
    lab = data.get("lab", {})
    roles = tuple(str(r) for r in lab.get("roles", ["test01"]))
    assignments = tuple(_assignment_from_dict(a) for a in data.get("assignments", []))
    lesson_id = str(data["id"])
    if lesson_id != folder.name:
        raise ValueError(f"id {lesson_id!r} differs from its folder name {folder.name!r}")
    return Lesson(
        id=lesson_id,
        title=str(data["title"]),
        order=int(data["order"]),
        dir=folder,
        readme=folder / "README.md",
        source_name=str(data.get("source", "xdp_prog_kern.c")),
        programs=tuple(str(p) for p in data.get("programs", [])),
        default_program=data.get("default_program") or None,
        maps=tuple(str(m) for m in data.get("maps", [])),
        lab=LabOptions(
            count=int(lab.get("count", len(roles))),
            roles=roles,
            legacy_ip=bool(lab.get("legacy_ip", False)),
            vlan=bool(lab.get("vlan", False)),
        ),
        assignments=assignments,
        starter_refused=str(data.get("starter_refused", "")),
        starter_passes=tuple(str(a) for a in data.get("starter_passes", [])),
        traffic=tuple(_traffic_from_dict(t) for t in data.get("traffic", [])),
        tracepoint_programs=tuple(str(p) for p in data.get("tracepoint_programs", [])),
        tc_programs=tuple(str(p) for p in data.get("tc_programs", [])),
    )


def _assignment_from_dict(data: dict[str, Any]) -> Assignment:
    hints = data.get("hints")
    if hints is None:
        hints = [data["hint"]] if data.get("hint") else []
    if not isinstance(hints, list):
        raise ValueError(f"assignment {data.get('id')!r}: hints must be a list of strings")
    levels = tuple(str(h) for h in hints)
    return Assignment(
        id=str(data["id"]),
        title=str(data["title"]),
        check=str(data["check"]),
        hint=levels[0] if levels else "",
        hints=levels,
    )


def _traffic_from_dict(data: dict[str, Any]) -> TrafficChoice:
    kind = str(data.get("kind", "ping"))
    family = int(data.get("family", 6))
    if kind not in TRAFFIC_KINDS:
        raise ValueError(f"traffic kind {kind!r} is not one of {', '.join(TRAFFIC_KINDS)}")
    if family not in (4, 6):
        raise ValueError(f"traffic family {family} is not 4 or 6")
    if kind != "ping" and data.get("port") is None:
        raise ValueError(f"{kind} traffic needs a port")
    return TrafficChoice(
        label=str(data["label"]),
        kind=kind,
        family=family,
        vlan=int(data["vlan"]) if data.get("vlan") is not None else None,
        port=int(data["port"]) if data.get("port") is not None else None,
        ask_to=bool(data.get("ask_to", False)),
        count=int(data.get("count", 5)),
    )


# ---- workspaces -----------------------------------------------------------


def workspace_dir(lesson: Lesson) -> Path:
    return user_data_dir() / "workspace" / lesson.id


def workspace_source(lesson: Lesson) -> Path:
    """The learner's own copy of the starter, created on first use."""
    target = workspace_dir(lesson) / lesson.source_name
    if not target.exists():
        _copy_starter(lesson)
    return target


def reset_workspace(lesson: Lesson) -> Path:
    """Throw away the learner's edits: the workspace becomes the starter again."""
    shutil.rmtree(workspace_dir(lesson), ignore_errors=True)
    return workspace_source(lesson)


def solution_source(lesson: Lesson) -> Path:
    path = lesson.dir / "solution" / lesson.source_name
    if not path.is_file():
        raise XdpTuiError(f"lesson {lesson.id} ships no solution", location=str(path))
    return path


def _copy_starter(lesson: Lesson) -> None:
    # Copy only the top-level C files: the solution folder must stay out of reach.
    folder = workspace_dir(lesson)
    folder.mkdir(parents=True, exist_ok=True)
    for item in sorted(lesson.dir.iterdir()):
        if item.is_file() and item.suffix in _WORKSPACE_SUFFIXES:
            destination = folder / item.name
            if not destination.exists():
                shutil.copyfile(item, destination)
                give_to_invoking_user(destination)
    if not (folder / lesson.source_name).exists():
        raise XdpTuiError(
            f"lesson {lesson.id} has no starter {lesson.source_name}",
            location=str(lesson.starter_source),
        )


# ---- progress -------------------------------------------------------------


def progress_file() -> Path:
    return user_data_dir() / "progress.json"


# Where a user's progress lives under their home when nothing overrides it
# (see paths.user_data_dir); the instructor's view looks there for everyone.
HOME_PROGRESS = Path(".local") / "share" / "xdp-tui" / "progress.json"


def machine_homes() -> list[tuple[str, Path]]:
    """(user, home) of root and every login user (uid >= 1000) of this machine."""
    import pwd

    return [
        (entry.pw_name, Path(entry.pw_dir))
        for entry in pwd.getpwall()
        if entry.pw_uid == 0 or 1000 <= entry.pw_uid < 65534
    ]


def users_progress(homes: list[tuple[str, Path]] | None = None) -> list[tuple[str, Progress]]:
    """Every user who has a progress file, by name: who is done, for the instructor."""
    found = []
    for user, home in machine_homes() if homes is None else homes:
        path = home / HOME_PROGRESS
        if path.is_file():
            found.append((user, Progress.load(path)))
    return sorted(found, key=lambda pair: pair[0])


class Progress:
    """Which assignments this user has passed, kept in `progress.json`.

    Shape: {"lessons": {lesson_id: {assignment_id: {"passed": bool,
    "detail": str, "checked_at": float, "passed_at": float|None}}}}.
    `passed` is the latest result; `passed_at` remembers the first success,
    so a later failed re-check does not erase the achievement.
    """

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self._data = data

    @classmethod
    def load(cls, path: Path | None = None) -> Progress:
        path = path or progress_file()
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            data = {}
        except (OSError, ValueError):
            # A damaged file must not lock the learner out; start afresh.
            data = {}
        if not isinstance(data.get("lessons"), dict):
            data = {"lessons": {}}
        return cls(path, data)

    def mark(
        self,
        lesson_id: str,
        assignment_id: str,
        passed: bool,
        detail: str = "",
        *,
        title: str = "",
    ) -> None:
        """Record one check result (and the assignment's TITLE, for readers without the
        lesson files, such as the instructor's view) and save at once."""
        lessons = self._data["lessons"]
        entry = lessons.setdefault(lesson_id, {}).get(assignment_id, {})
        now = time.time()
        entry.update({"passed": bool(passed), "detail": detail, "checked_at": now})
        if title:
            entry["title"] = title
        if passed and not entry.get("passed_at"):
            entry["passed_at"] = now
        entry.setdefault("passed_at", None)
        lessons[lesson_id][assignment_id] = entry
        self.save()

    def hints_shown(self, lesson_id: str, assignment_id: str) -> int:
        """How many hint levels of the assignment the learner has opened (0: none)."""
        entry = self._data["lessons"].get(lesson_id, {}).get(assignment_id) or {}
        shown = entry.get("hints_shown", 0)
        return shown if isinstance(shown, int) and shown > 0 else 0

    def note_hints_shown(self, lesson_id: str, assignment_id: str, levels: int) -> None:
        """Remember that LEVELS hint levels were opened (never fewer than before); saves."""
        lessons = self._data["lessons"]
        entry = lessons.setdefault(lesson_id, {}).setdefault(assignment_id, {})
        entry["hints_shown"] = max(levels, self.hints_shown(lesson_id, assignment_id))
        self.save()

    def passed(self, lesson_id: str) -> set[str]:
        """Assignments of LESSON_ID passed at least once."""
        entries = self._data["lessons"].get(lesson_id, {})
        return {aid for aid, entry in entries.items() if entry.get("passed_at")}

    def result(self, lesson_id: str, assignment_id: str) -> dict[str, Any] | None:
        return self._data["lessons"].get(lesson_id, {}).get(assignment_id)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(self._data))

    def summary(self, lessons: list[Lesson]) -> list[dict[str, Any]]:
        """Per lesson: passed assignment ids, their number, each latest result."""
        return [
            {
                "lesson": lesson.id,
                "passed": sorted(self.passed(lesson.id)),
                "total": len(lesson.assignments),
                "assignments": {a.id: self.result(lesson.id, a.id) for a in lesson.assignments},
            }
            for lesson in lessons
        ]

    def last_checked(self) -> float | None:
        """When this user last ran a check (seconds since the epoch), if ever."""
        times = [
            entry.get("checked_at") or 0
            for entries in self._data["lessons"].values()
            for entry in entries.values()
        ]
        return max(times) if times and max(times) else None

    def save(self) -> None:
        # Write-then-rename so a crash never leaves half a file.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".progress-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(self._data, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
            give_to_invoking_user(self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
