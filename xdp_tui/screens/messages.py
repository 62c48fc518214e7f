"""Messages that thread workers post back to the workshop screen (post_message is thread-safe)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class LessonsLoaded(Message):
    lessons: list[Any]
    passed: dict[str, set[str]]


@dataclass
class SourceLoaded(Message):
    lesson_id: str
    path: Any
    text: str


@dataclass
class Progress(Message):
    """A step of a long action ("building…"); an empty text clears it."""

    text: str


@dataclass
class Attached(Message):
    attached: Any
    notes: list[str]


@dataclass
class Detached(Message):
    was_attached: bool


@dataclass
class LabChanged(Message):
    lab_status: dict[str, Any] | None  # None: the lab does not exist (yet)
    attach_status: dict[str, Any] | None
    inner_status: dict[str, Any] | None = None
    lab_name: str = ""


@dataclass
class SampleReady(Message):
    sample: dict[str, Any] | None


@dataclass
class ObjectInfoReady(Message):
    info: Any
    xlated: list[Any] | None = None  # the verifier's translated code, once loaded


@dataclass
class ProgramsListed(Message):
    lesson_id: str
    programs: list[str]


@dataclass
class PingDone(Message):
    result: Any


@dataclass
class StreamStopped(Message):
    total: int


@dataclass
class ChecksDone(Message):
    lesson_id: str
    outcomes: list[Any]


@dataclass
class LeftoversFound(Message):
    leftovers: list[Any]


@dataclass
class Notice(Message):
    """A plain line for the activity log (and a toast when `toast`)."""

    text: str
    style: str = ""
    toast: bool = False
