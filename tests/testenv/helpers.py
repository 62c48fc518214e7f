"""Small helpers shared by the testenv tests (kernel facts read the plain way)."""

from __future__ import annotations

import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent


def rx_packets(ifname: str) -> int:
    return int(Path(f"/sys/class/net/{ifname}/statistics/rx_packets").read_text())


def netns_names() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def link_exists(ifname: str) -> bool:
    return Path(f"/sys/class/net/{ifname}").exists()


def build_vlan_pop(out_dir: Path) -> Path:
    """Compile the test's XDP program that strips one 802.1Q tag."""
    obj = out_dir / "vlan_pop.o"
    subprocess.run(
        [
            "clang",
            "-O2",
            "-g",
            "-target",
            "bpf",
            "-I/usr/include/x86_64-linux-gnu",
            "-c",
            str(HERE / "vlan_pop.c"),
            "-o",
            str(obj),
        ],
        check=True,
        capture_output=True,
    )
    return obj


def attach_pinned(obj: Path, pin: Path, ifname: str) -> None:
    """Load with bpftool, pinned in the lab's pin folder, and attach natively."""
    pin.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["bpftool", "prog", "load", str(obj), str(pin), "type", "xdp"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["bpftool", "net", "attach", "xdpdrv", "pinned", str(pin), "dev", ifname],
        check=True,
        capture_output=True,
    )
