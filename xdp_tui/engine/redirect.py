"""Steer packet03's `xdp_redirect_map_func` between two labs.

The program on each lab's outer interface looks up the frame's source MAC
in `redirect_params` (source MAC -> new destination MAC) and redirects
through slot 0 of the devmap `tx_port`. Wiring two labs A and B means, on
each side, pointing slot 0 at the other outer interface and mapping this
inner end's MAC to the other inner end's MAC:

    A: tx_port[0] = ifindex(B outer)   redirect_params[A inner MAC] = B inner MAC
    B: tx_port[0] = ifindex(A outer)   redirect_params[B inner MAC] = A inner MAC

The maps are written through their pins, /sys/fs/bpf/<outer>/<map>, the
same files a learner would fill by hand. Every pin is opened and checked
before the first write, so a missing or mis-shaped map changes nothing.
"""

from __future__ import annotations

import struct
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from xdp_tui import labs, paths
from xdp_tui.engine import bpfsys
from xdp_tui.engine.attach import query
from xdp_tui.errors import XdpTuiError

PROGRAM = "xdp_redirect_map_func"
TX_PORT = "tx_port"
REDIRECT_PARAMS = "redirect_params"
TX_PORT_SLOT = 0
ETH_ALEN = 6
# A devmap value is the ifindex alone (4 bytes) or struct bpf_devmap_val
# (ifindex + a program fd, 8 bytes; fd 0 attaches no program).
DEVMAP_VALUE_SIZES = (4, 8)
# Map type names as bpfsys.map_info reports them.
DEVMAP_TYPES = ("devmap", "devmap_hash")
HASH_TYPES = ("hash", "lru_hash")
# The kernel keeps program names to 15 characters.
KERNEL_NAME_LEN = 15


@dataclass
class MapWrite:
    """One entry written: which lab and map, and the key and value in readable form."""

    lab: str
    map: str  # the pin path
    key: str
    value: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def wire_redirect(src: labs.Lab | str, dst: labs.Lab | str) -> dict[str, Any]:
    """Fill both labs' maps so their inner ends reach each other through XDP.

    Returns {"src", "dst", "written": [MapWrite dicts], "notes": [...]}.
    Raises XdpTuiError (before writing anything) when a lab is unknown or
    its pins are missing or have an unexpected layout.
    """
    left, right = _lab(src), _lab(dst)
    if left.name == right.name:
        raise XdpTuiError(
            f"both ends are lab {left.name}",
            location="redirect",
            hint="name two different labs, e.g. `xdp-tui env redirect left right`",
        )
    notes = [note for lab in (left, right) if (note := _program_note(lab))]
    with ExitStack() as fds:
        sides = [_open_side(fds, left), _open_side(fds, right)]
        written = _fill(sides[0], right) + _fill(sides[1], left)
    return {
        "src": left.name,
        "dst": right.name,
        "written": [write.to_dict() for write in written],
        "notes": notes,
    }


# ---- checking before writing -------------------------------------------


@dataclass
class _Side:
    lab: labs.Lab
    tx_port: int  # fd
    tx_port_value_size: int
    redirect_params: int  # fd


def _lab(lab: labs.Lab | str) -> labs.Lab:
    return labs.get(lab) if isinstance(lab, str) else lab


def _load_hint(lab: labs.Lab) -> str:
    return (
        f"load {PROGRAM} on both labs first: xdp-tui load"
        f" $(xdp-tui workspace packet03-redirecting) --prog {PROGRAM}"
        f" --mode native --dev {lab.outer}"
    )


def _open_side(fds: ExitStack, lab: labs.Lab) -> _Side:
    tx_fd, tx_info = _open_map(fds, lab, TX_PORT)
    params_fd, params_info = _open_map(fds, lab, REDIRECT_PARAMS)
    where = str(paths.pin_dir(lab.outer))
    if tx_info.type_name not in DEVMAP_TYPES or tx_info.value_size not in DEVMAP_VALUE_SIZES:
        raise XdpTuiError(
            f"{TX_PORT} is a {tx_info.type_name} map with {tx_info.value_size}-byte values;"
            " expected a devmap of interface indexes",
            location=where,
            hint="declare it as in the lesson: BPF_MAP_TYPE_DEVMAP, __u32 key, __u32 value",
        )
    if tx_info.key_size != 4 or tx_info.max_entries <= TX_PORT_SLOT:
        raise XdpTuiError(
            f"{TX_PORT} has {tx_info.key_size}-byte keys and {tx_info.max_entries} entries;"
            f" slot {TX_PORT_SLOT} needs a __u32 key",
            location=where,
        )
    if params_info.type_name not in HASH_TYPES or (
        params_info.key_size,
        params_info.value_size,
    ) != (
        ETH_ALEN,
        ETH_ALEN,
    ):
        raise XdpTuiError(
            f"{REDIRECT_PARAMS} is a {params_info.type_name} map with"
            f" {params_info.key_size}-byte keys and {params_info.value_size}-byte values;"
            " expected a hash from a MAC (6 bytes) to a MAC",
            location=where,
            hint="declare it as in the lesson: BPF_MAP_TYPE_HASH, unsigned char[ETH_ALEN] both",
        )
    return _Side(lab, tx_fd, tx_info.value_size, params_fd)


def _open_map(fds: ExitStack, lab: labs.Lab, name: str) -> tuple[int, bpfsys.MapInfo]:
    pin = paths.pin_dir(lab.outer) / name
    if not pin.exists():
        raise XdpTuiError(
            f"no pinned map {name} for lab {lab.name}",
            location=str(pin),
            hint=_load_hint(lab),
        )
    fd = fds.enter_context(bpfsys.obj_get(pin))
    return int(fd), bpfsys.map_info(fd)


def _program_note(lab: labs.Lab) -> str:
    """A warning when the outer end runs something else (the maps may still be right)."""
    status = query(lab.outer)
    if status.prog_name is None:
        return f"{lab.outer}: no XDP program attached; the maps are filled but nothing reads them"
    if not PROGRAM.startswith(status.prog_name[:KERNEL_NAME_LEN]):
        return f"{lab.outer}: runs {status.prog_name}, not {PROGRAM}"
    return ""


# ---- writing --------------------------------------------------------------


def _fill(side: _Side, toward: labs.Lab) -> list[MapWrite]:
    """SIDE's program sends its inner end's frames to TOWARD's inner end."""
    lab = side.lab
    pin_dir = paths.pin_dir(lab.outer)
    port = struct.pack("=I", toward.outer_ifindex).ljust(side.tx_port_value_size, b"\0")
    _write(side.tx_port, struct.pack("=I", TX_PORT_SLOT), port, pin_dir / TX_PORT)
    here_mac, there_mac = labs.mac_bytes(lab.inner_mac), labs.mac_bytes(toward.inner_mac)
    _write(side.redirect_params, here_mac, there_mac, pin_dir / REDIRECT_PARAMS)
    return [
        MapWrite(
            lab.name,
            str(pin_dir / TX_PORT),
            str(TX_PORT_SLOT),
            f"{toward.outer_ifindex} ({toward.outer})",
        ),
        MapWrite(lab.name, str(pin_dir / REDIRECT_PARAMS), lab.inner_mac, toward.inner_mac),
    ]


def _write(fd: int, key: bytes, value: bytes, pin: Path) -> None:
    try:
        bpfsys.update(fd, key, value)
    except XdpTuiError as exc:
        raise XdpTuiError(
            exc.message,
            location=str(pin),
            hint=f"a full map refuses new keys; `xdp-tui unload --dev {pin.parent.name}`"
            " removes the pins, then load again",
        ) from exc
