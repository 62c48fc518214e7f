"""The room: every learner VM of a workshop, seen from the instructor's machine over SSH.

No Textual here: inventory.py reads an Ansible inventory, model.py holds the
typed rows (hosts, learners, rounds) and the "stuck" rule, poll.py reaches all
hosts concurrently with asyncssh. The CLI (`xdp-tui room --json`) and the
Textual room screen are faces over RoomPoller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xdp_tui.room.inventory import RoomHost, load_inventory
from xdp_tui.room.model import HostReport, LastCheck, Learner, LearnerDetail, RoomRound, StuckRule

if TYPE_CHECKING:
    from xdp_tui.room.poll import RoomPoller

__all__ = [
    "HostReport",
    "LastCheck",
    "Learner",
    "LearnerDetail",
    "RoomHost",
    "RoomPoller",
    "RoomRound",
    "StuckRule",
    "load_inventory",
]


def __getattr__(name: str) -> Any:
    # asyncio + asyncssh load only when polling: `xdp-tui progress`, which every
    # learner VM runs each round, builds the parser that imports this package.
    if name == "RoomPoller":
        from xdp_tui.room.poll import RoomPoller

        return RoomPoller
    raise AttributeError(name)
