"""What a lab is, how to enter its namespace, and whether an interface is one of ours.

A bottom module under both `xdp_tui.engine` and `testenv` (docs/ARCHITECTURE.md):
the engine reads labs here (the lab-only safety predicate, a lab's inner peer,
running a call inside a lab's namespace) and never imports `testenv`, which
builds and tears labs down. Nothing here needs pyroute2: reading a record and
entering a namespace stay cheap for commands that only look.
"""

from __future__ import annotations

import ctypes
import os
import re
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from xdp_tui import lab_records
from xdp_tui.errors import XdpTuiError
from xdp_tui.privileges import require_root

DEFAULT_NAME = "test01"  # the tutorial's lab: the one name every face defaults to
INNER_IFNAME = "veth0"
IPV6_PREFIXLEN = 64
IPV4_PREFIXLEN = 24
CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = Path("/var/run/netns")  # pyroute2.netns.NETNS_RUN_DIR, iproute2's folder

NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,14}")
# Names the kernel or sysctl tree already uses for something else.
_RESERVED_NAMES = {"all", "default", "lo"}

T = TypeVar("T")


@dataclass
class Lab:
    name: str
    number: int
    outer: str
    inner: str
    netns: str
    outer_ipv6: str
    inner_ipv6: str
    outer_ipv4: str | None
    inner_ipv4: str | None
    outer_mac: str
    inner_mac: str
    outer_ifindex: int
    inner_ifindex: int
    legacy_ip: bool

    @property
    def ipv6(self) -> list[str]:
        """Both addresses with their prefix length, outer first."""
        return [f"{a}/{IPV6_PREFIXLEN}" for a in (self.outer_ipv6, self.inner_ipv6)]

    @property
    def ipv4(self) -> list[str]:
        if not self.legacy_ip:
            return []
        return [f"{a}/{IPV4_PREFIXLEN}" for a in (self.outer_ipv4, self.inner_ipv4)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_name(name: str) -> str:
    """Lab names become interface and namespace names: short and plain."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name) or name in _RESERVED_NAMES:
        raise XdpTuiError(
            f"invalid lab name {name!r}",
            location="lab name",
            hint="use 1-15 characters from A-Z a-z 0-9 _ - (not starting with '-'), e.g. test01",
        )
    return name


def lab_from_record(record: dict[str, Any]) -> Lab:
    fields = Lab.__dataclass_fields__
    return Lab(**{key: record[key] for key in fields})


def get(name: str) -> Lab:
    """The recorded lab `name` (not health-checked; see testenv.status())."""
    validate_name(name)
    record = lab_records.read_record(name)
    if record is None or not record.get("complete"):
        raise XdpTuiError(
            f"no lab named {name}",
            location=f"lab {name}",
            hint=f"create it: `xdp-tui env setup --name {name}`",
            tui_hint="press b or p: the TUI creates its lab when it is missing",
        )
    return lab_from_record(record)


def is_lab_interface(ifname: str) -> bool:
    """True when `ifname` (root namespace) is the outer end of a lab we created.

    The safety predicate behind "never attach to an interface no lab created":
    a record alone is not enough, the live interface must have the recorded index.
    """
    if not isinstance(ifname, str) or not NAME_RE.fullmatch(ifname):
        return False
    record = lab_records.read_record(ifname)
    if record is None or not record.get("complete") or record.get("outer") != ifname:
        return False
    try:
        index = int(Path(f"/sys/class/net/{ifname}/ifindex").read_text())
    except (OSError, ValueError):
        return False
    return index == record.get("outer_ifindex")


def mac_bytes(mac: str) -> bytes:
    """ "02:00:00:00:00:01" -> the six bytes."""
    return bytes.fromhex(mac.replace(":", ""))


# ---------------------------------------------------------------- namespaces

# libc is in the process already (find_library would run ldconfig: ~15 ms).
_libc = ctypes.CDLL(None, use_errno=True)


def netns_path(name: str) -> Path:
    return NETNS_RUN_DIR / name


def netns_thread(name: str, fn: Callable[..., T], *args: Any) -> T:
    """Run fn(*args) in a fresh thread that entered the lab's network namespace.

    setns() changes only the calling thread, so the caller stays where it is.
    Sockets created by fn keep the namespace and may be used from any thread.
    """
    validate_name(name)
    require_root(f"entering lab {name}")
    try:
        ns_fd = os.open(netns_path(name), os.O_RDONLY)
    except FileNotFoundError:
        raise XdpTuiError(
            f"lab {name} has no network namespace",
            hint=f"create or repair it: `xdp-tui env reset --name {name}`",
            tui_hint="press b or p: the TUI repairs its lab",
        ) from None
    outcome: dict[str, Any] = {}

    def runner() -> None:
        try:
            if _libc.setns(ns_fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns into {name} failed: {os.strerror(err)}")
            outcome["result"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            outcome["error"] = exc

    try:
        thread = threading.Thread(target=runner, name=f"netns-{name}", daemon=True)
        thread.start()
        thread.join()
    finally:
        os.close(ns_fd)
    if "error" in outcome:
        raise outcome["error"]
    result: T = outcome["result"]
    return result
