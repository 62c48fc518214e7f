"""The two messages every pane may post; the screen shows them in the status line and the log."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class Progress(Message):
    """A step of a long action ("building…"); an empty text clears it."""

    text: str


@dataclass
class Notice(Message):
    """A plain line for the activity log (and a toast when `toast`)."""

    text: str
    style: str = ""
    toast: bool = False
