"""The XDP verdicts (uapi enum xdp_action), indexed by value.

Plain data with no imports, so widgets and checks can name actions without
loading libbpf.
"""

from __future__ import annotations

XDP_ACTIONS = ("XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT")


def action_name(value: int, unknown: str = "unknown({})") -> str:
    """The verdict's name, or UNKNOWN formatted with the value (a program may return anything)."""
    return XDP_ACTIONS[value] if 0 <= value < len(XDP_ACTIONS) else unknown.format(value)
