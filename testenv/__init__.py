"""Lab networks (veth pairs into namespaces) and traffic sent from inside them.

Used by the CLI (`xdp-tui env ...`), the TUI, lesson checks and tests; no UI
imports here. Traffic helpers live in `testenv.traffic`.
"""

from __future__ import annotations

from testenv.lab import current, reset, set_current, setup, status, teardown
from xdp_tui.labs import DEFAULT_NAME, Lab, get, is_lab_interface, netns_thread, validate_name

__all__ = [
    "DEFAULT_NAME",
    "Lab",
    "current",
    "get",
    "is_lab_interface",
    "netns_thread",
    "reset",
    "set_current",
    "setup",
    "status",
    "teardown",
    "validate_name",
]
