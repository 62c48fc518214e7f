"""The lesson catalog, the learner's workspaces and the progress store.

A lesson is a folder `lessons/<id>/` holding `lesson.toml` (metadata), a
`README.md`, the starter program, `solution/<source>` and `checks.py`.
Learners never edit the shipped starter: they work on a copy in
`user_data_dir()/workspace/<id>/`, made on first use and resettable.
Progress (which assignments passed) is one JSON file per user.

Pure Python: no Textual, no kernel calls.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from xdp_tui import userfiles
from xdp_tui.errors import XdpTuiError
from xdp_tui.paths import lessons_dir, private_dir, run_dir, user_data_dir

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
    (another lab's end, packet03); `sizes`: for udp, the frames' lengths in
    bytes (Ethernet header included, no FCS), used in turn (experiment01:
    sizes with tailroom on a veth); empty: the generator's 64-byte frames.
    """

    label: str
    kind: str = "ping"
    family: int = 6
    vlan: int | None = None
    port: int | None = None
    ask_to: bool = False
    count: int = 5
    sizes: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


TRAFFIC_KINDS = ("ping", "udp", "tcp")
# What a lesson.toml may ask of one [[traffic]] entry: a key press sends it whole.
TRAFFIC_COUNT_MAX = 1000
TRAFFIC_SIZES_MAX = 16  # entries of `sizes`
FRAME_SIZE_MAX = 1514  # the lab's 1500-byte MTU plus the Ethernet header (4 more with a tag)


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
    """Every lesson found under `lessons_dir()`, in teaching order (damaged ones left out)."""
    return load_catalog()[0]


def load_catalog() -> tuple[list[Lesson], list[XdpTuiError]]:
    """Every readable lesson in teaching order, and a located error for each damaged one."""
    root = lessons_dir()
    if not root.is_dir():
        return [], []
    found, problems = [], []
    tables = ParsedTables.load()
    for toml in sorted(root.glob("*/lesson.toml")):
        try:
            found.append(_read_lesson(toml, tables))
        except XdpTuiError as exc:
            problems.append(exc)
    tables.save()
    return sorted(found, key=lambda lesson: (lesson.order, lesson.id)), problems


def get_lesson(lesson_id: str) -> Lesson:
    lessons, problems = load_catalog()
    for lesson in lessons:
        if lesson.id == lesson_id:
            return lesson
    for problem in problems:  # it is there but damaged: say what is wrong with it
        if problem.location and Path(problem.location).parent.name == lesson_id:
            raise problem
    known = ", ".join(lesson.id for lesson in lessons) or "none found"
    raise XdpTuiError(
        f"unknown lesson {lesson_id!r}",
        hint=f"lessons: {known} (see `xdp-tui lessons`)",
    )


# lesson.toml is a few hundred bytes; refuse what cannot be one before parsing it.
LESSON_TOML_LIMIT = 64 << 10


def _read_lesson(toml_path: Path, tables: ParsedTables | None = None) -> Lesson:
    where = str(toml_path)
    try:
        with toml_path.open("rb") as handle:
            raw = handle.read(LESSON_TOML_LIMIT + 1)
    except OSError as exc:
        raise XdpTuiError(f"cannot read lesson metadata: {exc.strerror}", location=where) from exc
    if len(raw) > LESSON_TOML_LIMIT:
        raise XdpTuiError(f"lesson metadata over {LESSON_TOML_LIMIT} bytes", location=where)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise XdpTuiError("lesson metadata is not UTF-8 text", location=where) from exc
    data = tables.table(where, text) if tables else None
    if data is None:
        data = _parse_lesson_toml(text, where)
        if tables:
            tables.keep(where, text, data)
    try:
        return _lesson_from_dict(data, toml_path.parent)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise XdpTuiError(
            f"bad lesson metadata: {_schema_words(exc)}",
            location=where,
            hint="compare with the schema in docs/ARCHITECTURE.md",
        ) from exc


def _parse_lesson_toml(text: str, where: str) -> dict[str, Any]:
    import tomllib  # here: a remembered table (ParsedTables) spares its import

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise XdpTuiError(f"cannot parse lesson metadata: {exc}", location=where) from exc
    except RecursionError:
        raise XdpTuiError("lesson metadata nested too deeply", location=where) from None


# The room runs `xdp-tui progress --all-users --json` on every learner host every
# few seconds, and parsing the lesson.toml files (tomllib's import included) was
# a sixth of that command's time. So root remembers each file's parsed table in
# its private run folder, next to the exact text it came from, and uses it only
# for that same text: an edited lesson is parsed again, a damaged one every time.
PARSED_TABLES_FILE = "lesson-tables.json"
PARSED_TABLES_LIMIT = 4 << 20


@dataclass
class ParsedTables:
    """lesson.toml tables by file, each with its text; `path` None: nothing is remembered."""

    path: Path | None
    entries: dict[str, Any]
    used: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls) -> ParsedTables:
        if os.geteuid() != 0:
            return cls(None, {})  # no folder of ours that only we can write
        path = run_dir() / "cache" / PARSED_TABLES_FILE
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
            with os.fdopen(fd, "rb") as handle:
                info = os.fstat(handle.fileno())
                ours = stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid()
                raw = handle.read(PARSED_TABLES_LIMIT + 1) if ours else b""
            entries = json.loads(raw) if 0 < len(raw) <= PARSED_TABLES_LIMIT else {}
        except (OSError, ValueError, RecursionError):
            entries = {}
        return cls(path, entries if isinstance(entries, dict) else {})

    def table(self, where: str, text: str) -> dict[str, Any] | None:
        """The table parsed from exactly TEXT at WHERE, if remembered."""
        entry = self.entries.get(where)
        if not isinstance(entry, dict) or entry.get("text") != text:
            return None
        table = entry.get("table")
        if not isinstance(table, dict):
            return None
        self.used[where] = entry
        return table

    def keep(self, where: str, text: str, table: dict[str, Any]) -> None:
        if self.path is None:
            return
        try:  # TOML dates have no JSON form: such a file is parsed every time
            json.dumps(table, allow_nan=False)
        except (TypeError, ValueError):
            return
        self.used[where] = {"text": text, "table": table}

    def save(self) -> None:
        """Remember the tables used now (only those) when they differ from the file's."""
        if self.path is None or self.used == self.entries:
            return
        from xdp_tui.lab_records import write_atomic

        with contextlib.suppress(OSError, XdpTuiError):
            private_dir("cache")
            write_atomic(self.path, json.dumps(self.used))


def _schema_words(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing key {exc.args[0]!r}"
    return str(exc)


def _typed(value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    """VALUE if it is of KIND (bool is no int here), else a TypeError naming WHAT."""
    if isinstance(value, kind) and not (isinstance(value, bool) and bool not in _kinds(kind)):
        return value
    raise TypeError(f"{what} must be {_kind_words(kind)}, not {type(value).__name__}")


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_words(kind: type | tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in _kinds(kind))


def _strings(value: Any, what: str) -> tuple[str, ...]:
    items = _typed(value, list, what)
    return tuple(_typed(item, str, f"each of {what}") for item in items)


def _lesson_from_dict(data: dict[str, Any], folder: Path) -> Lesson:
    lab = _typed(data.get("lab", {}), dict, "[lab]")
    roles = _strings(lab.get("roles", ["test01"]), "lab.roles")
    assignments = tuple(
        _assignment_from_dict(_typed(item, dict, "each [[assignments]]"))
        for item in _typed(data.get("assignments", []), list, "assignments")
    )
    lesson_id = _typed(data["id"], str, "id")
    if lesson_id != folder.name:
        raise ValueError(f"id {lesson_id!r} differs from its folder name {folder.name!r}")
    return Lesson(
        id=lesson_id,
        title=_typed(data["title"], str, "title"),
        order=_typed(data["order"], int, "order"),
        dir=folder,
        readme=folder / "README.md",
        source_name=_typed(data.get("source", "xdp_prog_kern.c"), str, "source"),
        programs=_strings(data.get("programs", []), "programs"),
        default_program=_typed(data.get("default_program", ""), str, "default_program") or None,
        maps=_strings(data.get("maps", []), "maps"),
        lab=LabOptions(
            count=_typed(lab.get("count", len(roles)), int, "lab.count"),
            roles=roles,
            legacy_ip=_typed(lab.get("legacy_ip", False), bool, "lab.legacy_ip"),
            vlan=_typed(lab.get("vlan", False), bool, "lab.vlan"),
        ),
        assignments=assignments,
        starter_refused=_typed(data.get("starter_refused", ""), str, "starter_refused"),
        starter_passes=_strings(data.get("starter_passes", []), "starter_passes"),
        traffic=tuple(
            _traffic_from_dict(_typed(item, dict, "each [[traffic]]"))
            for item in _typed(data.get("traffic", []), list, "traffic")
        ),
        tracepoint_programs=_strings(data.get("tracepoint_programs", []), "tracepoint_programs"),
        tc_programs=_strings(data.get("tc_programs", []), "tc_programs"),
    )


def _assignment_from_dict(data: dict[str, Any]) -> Assignment:
    hints = data.get("hints")
    if hints is None:
        hints = [_typed(data["hint"], str, "assignment hint")] if data.get("hint") else []
    levels = _strings(hints, "assignment hints")
    return Assignment(
        id=str(_typed(data["id"], (str, int), "assignment id")),
        title=_typed(data["title"], str, "assignment title"),
        check=_typed(data["check"], str, "assignment check"),
        hint=levels[0] if levels else "",
        hints=levels,
    )


def _traffic_from_dict(data: dict[str, Any]) -> TrafficChoice:
    kind = _typed(data.get("kind", "ping"), str, "traffic kind")
    family = _typed(data.get("family", 6), int, "traffic family")
    if kind not in TRAFFIC_KINDS:
        raise ValueError(f"traffic kind {kind!r} is not one of {', '.join(TRAFFIC_KINDS)}")
    if family not in (4, 6):
        raise ValueError(f"traffic family {family} is not 4 or 6")
    if kind != "ping" and data.get("port") is None:
        raise ValueError(f"{kind} traffic needs a port")
    vlan, port = data.get("vlan"), data.get("port")
    vlan = None if vlan is None else _bounded(vlan, 0, 4095, "traffic vlan")
    return TrafficChoice(
        label=_typed(data["label"], str, "traffic label"),
        kind=kind,
        family=family,
        vlan=vlan,
        port=None if port is None else _bounded(port, 1, 65535, "traffic port"),
        ask_to=_typed(data.get("ask_to", False), bool, "traffic ask_to"),
        count=_bounded(data.get("count", 5), 1, TRAFFIC_COUNT_MAX, "traffic count"),
        sizes=_frame_sizes(data.get("sizes", []), kind, family, vlan),
    )


def _bounded(value: Any, low: int, high: int, what: str) -> int:
    number: int = _typed(value, int, what)
    if not low <= number <= high:
        raise ValueError(f"{what} {number} is not between {low} and {high}")
    return number


def _frame_sizes(value: Any, kind: str, family: int, vlan: int | None) -> tuple[int, ...]:
    """`sizes` of a udp entry: frame lengths its headers fit in and the lab's MTU allows."""
    items = _typed(value, list, "traffic sizes")
    if items and kind != "udp":
        raise ValueError(f"traffic sizes are for udp traffic, not {kind}")
    if len(items) > TRAFFIC_SIZES_MAX:
        raise ValueError(f"traffic sizes lists {len(items)} sizes; at most {TRAFFIC_SIZES_MAX}")
    tag = 0 if vlan is None else 4
    headers = 14 + tag + (40 if family == 6 else 20) + 8  # Ethernet, IP, UDP
    return tuple(
        _bounded(item, headers, FRAME_SIZE_MAX + tag, "each of traffic sizes") for item in items
    )


# ---- workspaces -----------------------------------------------------------


def workspace_dir(lesson: Lesson) -> Path:
    return user_data_dir() / "workspace" / lesson.id


def workspace_source(lesson: Lesson) -> Path:
    """The learner's own copy of the starter, created on first use (as the learner)."""
    target = workspace_dir(lesson) / lesson.source_name
    if not userfiles.lexists(target):
        _copy_starter(lesson)
    return target


def reset_workspace(lesson: Lesson) -> Path:
    """Throw away the learner's edits: the workspace becomes the starter again."""
    userfiles.remove_tree(workspace_dir(lesson))
    return workspace_source(lesson)


def solution_source(lesson: Lesson) -> Path:
    path = lesson.dir / "solution" / lesson.source_name
    if not path.is_file():
        raise XdpTuiError(f"lesson {lesson.id} ships no solution", location=str(path))
    return path


def _copy_starter(lesson: Lesson) -> None:
    # Copy only the top-level C files: the solution folder must stay out of reach.
    # The shipped files are ours (read as root); the copies are the learner's.
    folder = workspace_dir(lesson)
    userfiles.make_dirs(folder)
    for item in sorted(lesson.dir.iterdir()):
        if item.is_file() and item.suffix in _WORKSPACE_SUFFIXES:
            destination = folder / item.name
            if not userfiles.lexists(destination):
                userfiles.write_bytes(destination, _read_shipped(item))
    if not userfiles.lexists(folder / lesson.source_name):
        raise XdpTuiError(_no_starter_why(lesson), location=str(lesson.starter_source))


def _read_shipped(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise XdpTuiError(f"cannot read it: {exc.strerror or exc}", location=str(path)) from None


def _no_starter_why(lesson: Lesson) -> str:
    """Why LESSON's `source` gave no copy in the workspace, in words that fit the case."""
    starter = lesson.starter_source
    name = lesson.source_name
    if not os.path.lexists(starter):
        return f"lesson {lesson.id} has no starter {name}"
    if starter.is_symlink() or not starter.is_file():
        return f"lesson {lesson.id}'s starter {name} is not a regular file"
    if starter.parent != lesson.dir or starter.suffix not in _WORKSPACE_SUFFIXES:
        return (
            f"lesson {lesson.id}'s source {name!r} must name a {' or '.join(_WORKSPACE_SUFFIXES)} "
            "file in the lesson's own folder (lesson.toml)"
        )
    return f"lesson {lesson.id}'s starter {name} could not be copied"


# ---- progress -------------------------------------------------------------


def progress_file() -> Path:
    return user_data_dir() / "progress.json"


# Where a user's progress lives under their home when nothing overrides it
# (see paths.user_data_dir); the instructor's view looks there for everyone.
HOME_PROGRESS = Path(".local") / "share" / "xdp-tui" / "progress.json"


def machine_homes() -> list[tuple[str, Path]]:
    """(user, home) of root and every login user (uid >= 1000) of this machine.

    XDP_TUI_HOMES names a folder whose subfolders are the homes instead (homes
    not in the passwd database, e.g. on a shared mount, and one machine standing
    in for several lab VMs in the room tests).
    """
    import pwd

    if os.environ.get("XDP_TUI_HOMES"):
        root = Path(os.environ["XDP_TUI_HOMES"])
        return sorted(
            (entry.name, entry)
            for entry in root.iterdir()
            if entry.is_dir() and not entry.is_symlink()
        )
    return [
        (entry.pw_name, Path(entry.pw_dir))
        for entry in pwd.getpwall()
        if entry.pw_uid == 0 or 1000 <= entry.pw_uid < 65534
    ]


@dataclass(frozen=True)
class UserProgress:
    """One user's progress for the instructor's view, or why it could not be read."""

    user: str
    path: Path
    progress: Progress | None
    problem: str = ""


def _last_edit(workspaces: Path) -> tuple[str | None, float | None]:
    """(lesson, mtime) of the most recently modified workspace file, never following links."""
    best: tuple[str | None, float | None] = (None, None)
    try:
        folders = [entry for entry in os.scandir(workspaces) if entry.is_dir(follow_symlinks=False)]
    except OSError:
        return best
    for folder in folders:
        try:
            files = list(os.scandir(folder.path))
        except OSError:
            continue
        for item in files:
            if not item.is_file(follow_symlinks=False) or not item.name.endswith(
                _WORKSPACE_SUFFIXES
            ):
                continue
            mtime = item.stat(follow_symlinks=False).st_mtime
            if best[1] is None or mtime > best[1]:
                best = (folder.name, mtime)
    return best


def users_progress(homes: list[tuple[str, Path]] | None = None) -> list[tuple[str, Progress]]:
    """Every user with a readable progress file, by name: who is done, for the instructor."""
    return [
        (row.user, row.progress) for row in users_progress_report(homes) if row.progress is not None
    ]


def users_progress_report(homes: list[tuple[str, Path]] | None = None) -> list[UserProgress]:
    """Every user with a progress file, by name; a hostile or damaged one says why it is skipped.

    Each file is read as the owner of the home it lies in, so a link there to
    someone else's file reads nothing.
    """
    found = []
    for user, home in machine_homes() if homes is None else homes:
        path = home / HOME_PROGRESS
        try:
            owner = userfiles.owner_of(home)
            if not userfiles.lexists(path, owner=owner):
                continue
            found.append(UserProgress(user, path, Progress.read(path, owner=owner)))
        except XdpTuiError as exc:
            found.append(UserProgress(user, path, None, exc.render()))
        except OSError:
            continue  # no such home
    return sorted(found, key=lambda row: row.user)


def check_progress_data(data: Any) -> dict[str, Any]:
    """DATA if it has the progress shape (extra keys allowed), else a ValueError saying where."""
    if not isinstance(data, dict):
        raise ValueError(f"top level must be an object, not {type(data).__name__}")
    lessons = data.setdefault("lessons", {})
    _expect(lessons, dict, "lessons")
    for lesson_id, entries in lessons.items():
        _expect(entries, dict, f"lessons.{lesson_id}")
        for assignment_id, entry in entries.items():
            where = f"lessons.{lesson_id}.{assignment_id}"
            _expect(entry, dict, where)
            for key, kinds in _ENTRY_TYPES.items():
                if key in entry:
                    _expect(entry[key], kinds, f"{where}.{key}")
    return data


# Known fields of one assignment's entry; other keys (added by newer versions) are kept as they are.
_ENTRY_TYPES: dict[str, tuple[type, ...]] = {
    "passed": (bool,),
    "detail": (str,),
    "checked_at": (int, float),
    "passed_at": (int, float, type(None)),
    "title": (str,),
    "failures": (int,),
}


def _expect(value: Any, kinds: type | tuple[type, ...], where: str) -> None:
    kinds = _kinds(kinds)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise ValueError(f"{where} must be {_kind_words(kinds)}, not {type(value).__name__}")


def parse_progress(raw: bytes, where: str) -> dict[str, Any]:
    try:
        return check_progress_data(json.loads(raw))
    except RecursionError:
        raise XdpTuiError("progress nested too deeply", location=where) from None
    except UnicodeDecodeError:
        raise XdpTuiError("progress is not UTF-8 text", location=where) from None
    except ValueError as exc:
        raise XdpTuiError(f"invalid progress: {exc}", location=where) from None


class Progress:
    """Which assignments this user has passed, kept in `progress.json`.

    Shape: {"lessons": {lesson_id: {assignment_id: {"passed": bool,
    "detail": str, "checked_at": float, "passed_at": float|None}}}};
    other keys are kept. `passed` is the latest result; `passed_at`
    remembers the first success, so a later failed re-check does not erase
    the achievement.

    A damaged file does not lock the learner out: they start afresh and
    `problem` says why; the next save first renames the old file aside
    (`progress.json.invalid`), so nothing is silently overwritten.
    """

    def __init__(self, path: Path, data: dict[str, Any], problem: str = "") -> None:
        self.path = path
        self._data = data
        self.problem = problem

    @classmethod
    def load(cls, path: Path | None = None) -> Progress:
        """This learner's progress (empty, with `problem` set, when the file is damaged)."""
        path = path or progress_file()
        if not userfiles.lexists(path):
            return cls(path, {"lessons": {}})
        try:
            return cls.read(path)
        except XdpTuiError as exc:
            return cls(path, {"lessons": {}}, problem=exc.render())

    @classmethod
    def read(cls, path: Path, *, owner: userfiles.Learner | None = None) -> Progress:
        """PATH's progress, or an XdpTuiError naming what is wrong with it."""
        raw = userfiles.read_bytes(path, userfiles.PROGRESS_LIMIT, owner=owner)
        return cls(path, parse_progress(raw, str(path)))

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
        # Failed checks in a row on this assignment: the room's "stuck" rule reads it.
        failures = 0 if passed else int(entry.get("failures") or 0) + 1
        entry.update(
            {"passed": bool(passed), "detail": detail, "checked_at": now, "failures": failures}
        )
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
        times: list[float] = [
            entry.get("checked_at") or 0
            for entries in self._data["lessons"].values()
            for entry in entries.values()
        ]
        return max(times, default=0) or None

    def last_check(self) -> dict[str, Any] | None:
        """The most recent check: lesson, assignment, passed, detail, checked_at, failures."""
        latest: dict[str, Any] | None = None
        for lesson_id, entries in self._data["lessons"].items():
            for assignment_id, entry in entries.items():
                when = entry.get("checked_at") or 0
                if when and (latest is None or when > latest["checked_at"]):
                    latest = {
                        "lesson": lesson_id,
                        "assignment": assignment_id,
                        "passed": bool(entry.get("passed")),
                        "detail": str(entry.get("detail") or ""),
                        "checked_at": when,
                        "failures": int(entry.get("failures") or 0),
                    }
        return latest

    def activity(self) -> dict[str, Any]:
        """Where this learner is, for the instructor's room (names and times, never source).

        current_lesson: the lesson last checked or last edited (workspace files
        next to the progress file), whichever is later; last_activity: when;
        last_progress: the latest first pass of an assignment, or, before any,
        the first check (the start of the time without progress).
        """
        check = self.last_check()
        edited_lesson, edited_at = _last_edit(self.path.parent / "workspace")
        current = check["lesson"] if check else None
        activity_at = check["checked_at"] if check else None
        if edited_at and (activity_at is None or edited_at > activity_at):
            current, activity_at = edited_lesson, edited_at
        entries = [e for entries in self._data["lessons"].values() for e in entries.values()]
        passes = [e.get("passed_at") or 0 for e in entries]
        checks = [e.get("checked_at") or 0 for e in entries if e.get("checked_at")]
        progress_at = max(passes, default=0) or min(checks, default=0) or None
        return {
            "current_lesson": current,
            "last_check": check,
            "last_activity": activity_at,
            "last_progress": progress_at,
        }

    def save(self) -> None:
        """Write the file as the learner (never through a link); a damaged one is kept aside."""
        if self.problem and userfiles.lexists(self.path):
            userfiles.rename_aside(self.path, "invalid")
        self.problem = ""
        text = json.dumps(self._data, indent=1, sort_keys=True)
        userfiles.write_text(self.path, text)
