"""Interface names for maps keyed by ifindex (tracing01's aborts per interface).

Kernel tracepoints report interfaces by ifindex; people know them by name.
An ifindex belongs to one network namespace: the names here are those of
the root namespace, where lab outer ends live. An index with no interface
there (gone since, or inside a namespace) is shown as "ifindex N".
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from xdp_tui.engine.live import MapEntry, MapSnapshot
from xdp_tui.engine.maps import DecodedMap


@dataclass(frozen=True)
class InterfaceCount:
    ifindex: int
    name: str
    count: int


def interface_name(ifindex: int) -> str:
    try:
        return socket.if_indextoname(ifindex)
    except OSError:
        return f"ifindex {ifindex}"


def counts_by_interface(decoded: DecodedMap) -> list[InterfaceCount]:
    """One row per entry of a map whose key is an ifindex and whose value is a count
    (per-CPU values summed), largest count first."""
    rows = [
        InterfaceCount(ifindex, interface_name(ifindex), _number(entry["value"]))
        for entry in decoded.entries
        if (ifindex := _number(entry["key"])) > 0
    ]
    return sorted(rows, key=lambda row: (-row.count, row.name))


def _number(value: Any) -> int:
    """A decoded scalar, or the first field of a one-field struct."""
    if isinstance(value, dict):
        value = next(iter(value.values()), 0)
    return int(value) if isinstance(value, int) else 0


def snapshot(name: str, decoded: DecodedMap) -> MapSnapshot:
    """DECODED as the live view's MapSnapshot, keys and values as they are."""
    return MapSnapshot(
        name=name,
        type=decoded.type,
        entries=tuple(MapEntry(e["key"], e["value"]) for e in decoded.entries),
        truncated=decoded.truncated,
        note=decoded.note,
    )


def snapshot_by_interface(name: str, decoded: DecodedMap) -> MapSnapshot:
    """DECODED (keyed by ifindex, counting) as a MapSnapshot keyed "name (ifindex N)"."""
    return MapSnapshot(
        name=name,
        type=decoded.type,
        entries=tuple(
            MapEntry(f"{row.name} (ifindex {row.ifindex})", row.count)
            for row in counts_by_interface(decoded)
        ),
        truncated=decoded.truncated,
    )
