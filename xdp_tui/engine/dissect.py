"""What is in a frame: a one-line summary, its decoded layers and a byte diff.

Dissection is scapy's (a maintained packet library), not ours; this module
only shapes its answer for people: one line per packet for a list, fields
per layer for a detail view, and the byte ranges a program changed.
Scapy is imported on first use (it takes a moment to load).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

MAX_FIELD_TEXT = 80  # a field's shown value is cut here (payloads can be long)


@dataclass(frozen=True)
class Layer:
    name: str
    fields: list[tuple[str, str]]


@dataclass(frozen=True)
class ByteChange:
    """Bytes [start, end) differ between the frame before and after."""

    start: int
    end: int
    before: bytes
    after: bytes

    def describe(self) -> str:
        span = f"{self.start}" if self.end - self.start == 1 else f"{self.start}-{self.end - 1}"
        return f"bytes {span}: {self.before.hex(' ') or '-'} -> {self.after.hex(' ') or '-'}"


@functools.cache
def _scapy() -> Any:
    """scapy's Ether class, with the layers we dissect registered."""
    import logging

    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)  # no "MAC not found" chatter
    from scapy.layers import inet, inet6, l2  # noqa: F401  (registers the layers)

    return l2.Ether


def parse(frame: bytes) -> Any:
    """FRAME as a scapy packet (Ethernet at the bottom); never raises on junk."""
    ether = _scapy()
    try:
        return ether(frame)
    except Exception:  # scapy raises many kinds on malformed input; show raw bytes instead
        from scapy.packet import Raw

        return Raw(frame)


@functools.lru_cache(maxsize=4096)  # streams repeat the same frame; scapy takes ~0.2 ms a frame
def summary(frame: bytes) -> str:
    """One line: Ethernet, VLAN tags, IPv4/IPv6, ICMP(v6) type and sequence, UDP/TCP ports."""
    if not frame:
        return "(empty frame)"
    if len(frame) < 14:
        return f"truncated Ethernet header ({len(frame)} bytes)"
    pkt = parse(frame)
    parts = []
    layer = pkt
    while layer is not None and layer.name not in ("Raw", "Padding", "NoPayload"):
        parts.append(_layer_line(layer))
        layer = layer.payload if layer.payload else None
    if len(parts) > 1:
        parts = parts[1:]  # the MACs crowd out what matters; layers() and the diff show them
    return " / ".join(p for p in parts if p) or pkt.summary()


def _layer_line(layer: Any) -> str:
    name = layer.__class__.__name__
    if name == "Ether":
        return f"{layer.src} > {layer.dst}"
    if name == "Dot1Q" or name == "Dot1AD":
        return f"vlan {layer.vlan}"
    if name in ("IP", "IPv6"):
        return f"{name} {layer.src} > {layer.dst}"
    if name == "ICMP":
        return f"ICMP type {layer.type} code {layer.code}" + _echo_seq(layer)
    if name.startswith("ICMPv6"):
        return str(layer.name) + _echo_seq(layer)
    if name in ("UDP", "TCP"):
        flags = f" [{layer.flags}]" if name == "TCP" else ""
        return f"{name} {layer.sport} > {layer.dport}{flags}"
    return str(layer.name)


def _echo_seq(layer: Any) -> str:
    return f" id {layer.id} seq {layer.seq}" if hasattr(layer, "seq") else ""


def layers(frame: bytes) -> list[Layer]:
    """Each protocol layer with its fields, as text."""
    found = []
    layer = parse(frame)
    while layer is not None and layer.name != "NoPayload":
        fields = [
            (f.name, _field_text(layer, f.name))
            for f in layer.fields_desc
            if f.name != "load" or layer.name in ("Raw", "Padding")
        ]
        found.append(Layer(layer.name, fields))
        layer = layer.payload if layer.payload else None
    return found


def _field_text(layer: Any, name: str) -> str:
    try:
        value = layer.getfieldval(name)
        text = str(layer.get_field(name).i2repr(layer, value))
    except Exception:  # a malformed field still shows, raw
        text = repr(getattr(layer, name, "?"))
    return text if len(text) <= MAX_FIELD_TEXT else text[: MAX_FIELD_TEXT - 1] + "…"


def byte_diff(before: bytes, after: bytes) -> list[ByteChange]:
    """The byte ranges that differ (offset by offset; a length change is a trailing range)."""
    changes: list[ByteChange] = []
    longest = max(len(before), len(after))
    start = None
    for i in range(longest + 1):
        differs = i < longest and (i >= len(before) or i >= len(after) or before[i] != after[i])
        if differs and start is None:
            start = i
        elif not differs and start is not None:
            changes.append(ByteChange(start, i, before[start:i], after[start:i]))
            start = None
    return changes


def hexdump_lines(frame: bytes, changed: set[int] | None = None, width: int = 16) -> list[str]:
    """Classic offset/hex lines; bytes in CHANGED are marked with '*' after them."""
    changed = changed or set()
    lines = []
    for off in range(0, len(frame), width):
        chunk = frame[off : off + width]
        cells = [f"{b:02x}{'*' if off + i in changed else ' '}" for i, b in enumerate(chunk)]
        lines.append(f"{off:04x}  {''.join(cells)}")
    return lines


def changed_offsets(changes: list[ByteChange]) -> set[int]:
    return {i for c in changes for i in range(c.start, c.end)}
