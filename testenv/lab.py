"""Lab networks: a veth pair with one end in a namespace of the lab's name.

    root namespace                     namespace <name>
    <name>  fc00:dead:cafe:<n>::1  <->  veth0  fc00:dead:cafe:<n>::2
            10.11.<n>.1 (legacy IP)           10.11.<n>.2

XDP programs attach to the outer end; traffic is sent from inside the
namespace, so it arrives on the outer end's receive path. The link is kept
quiet (no duplicate-address detection, router solicitations or MLD reports;
permanent neighbour entries instead of neighbour discovery), so interface
counters move only when we send something.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from testenv import state
from xdp_tui import pins
from xdp_tui.errors import XdpTuiError
from xdp_tui.privileges import require_root

if TYPE_CHECKING:
    from pyroute2 import IPRoute

DEFAULT_NAME = "test01"
INNER_IFNAME = "veth0"
IPV6_PREFIX = "fc00:dead:cafe"
IPV6_SITE = f"{IPV6_PREFIX}::/48"
IPV4_PREFIX = "10.11"
IPV4_SITE = f"{IPV4_PREFIX}.0.0/16"
IPV6_PREFIXLEN = 64
IPV4_PREFIXLEN = 24

IFA_F_NODAD = 0x02
NUD_PERMANENT = 0x80
IFF_UP = 0x1
CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = Path("/var/run/netns")  # pyroute2.netns.NETNS_RUN_DIR, iproute2's folder

_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,14}")
# Names the kernel or sysctl tree already uses for something else.
_RESERVED_NAMES = {"all", "default", "lo"}
# Folders other tools keep in /sys/fs/bpf: a lab's pins live in /sys/fs/bpf/<lab>,
# so a lab of such a name would mix its pins with theirs (iproute2: tc, ip, xdp
# and tc/globals; xdp-tools: xdp; systemd and LSM tooling: cgroup, lsm).
BPFFS_NAMES = frozenset({"tc", "ip", "xdp", "globals", "cgroup", "lsm", "sched", "maps", "progs"})

# Per-interface IPv6 knobs that make the link silent once it is up.
_QUIET_IPV6_SYSCTLS = {
    "accept_dad": "0",
    "dad_transmits": "0",
    "router_solicitations": "0",
    "force_mld_version": "0",
    "mldv1_unsolicited_report_interval": "0",
    "mldv2_unsolicited_report_interval": "0",
}

# Offloads turned off on both ends: the kernel's own packets then carry real
# checksums on the wire (what XDP and tcpdump see), and VLAN tags stay in
# the frame instead of moving to packet metadata.
_OFFLOADS_OFF = ("tx-checksum-ip-generic", "tx-vlan-hw-insert", "rx-vlan-hw-parse")

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


# ---------------------------------------------------------------- names


def validate_name(name: str) -> str:
    """Lab names become interface and namespace names: short and plain."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or name in _RESERVED_NAMES:
        raise XdpTuiError(
            f"invalid lab name {name!r}",
            location="lab name",
            hint="use 1-15 characters from A-Z a-z 0-9 _ - (not starting with '-'), e.g. test01",
        )
    return name


def _addresses(number: int, legacy_ip: bool) -> dict[str, str | None]:
    six = f"{IPV6_PREFIX}:{number:x}"
    four = f"{IPV4_PREFIX}.{number}"
    return {
        "outer_ipv6": f"{six}::1",
        "inner_ipv6": f"{six}::2",
        "outer_ipv4": f"{four}.1" if legacy_ip else None,
        "inner_ipv4": f"{four}.2" if legacy_ip else None,
    }


def _lab_from_record(record: dict[str, Any]) -> Lab:
    fields = Lab.__dataclass_fields__
    return Lab(**{key: record[key] for key in fields})


# ---------------------------------------------------------------- namespaces and threads


def _iproute() -> IPRoute:
    """A netlink socket in the calling thread's namespace.

    pyroute2 costs ~100 ms of imports: it is loaded on first use, so commands
    that only read lab records (is_lab_interface, get, netns_thread) start fast.
    """
    from pyroute2 import IPRoute

    return IPRoute()


# libc is in the process already (find_library would run ldconfig: ~15 ms).
_libc = ctypes.CDLL(None, use_errno=True)


def netns_path(name: str) -> Path:
    return NETNS_RUN_DIR / name


def _netns_exists(name: str) -> bool:
    return netns_path(name).exists()


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
    return outcome["result"]


def _disable_offloads(ifname: str) -> None:
    """Like `ethtool -K IF tx off txvlan off rxvlan off`, in the caller's namespace.

    Best effort: a kernel or pyroute2 without these features still gives a
    working lab, only with partial checksums in frames the kernel sends.
    """
    from pyroute2.ethtool import Ethtool

    with contextlib.suppress(Exception), Ethtool() as ethtool:
        features = ethtool.get_features(ifname)
        for name in _OFFLOADS_OFF:
            if name in features.features:
                features.features[name].enable = False
        ethtool.set_features(ifname, features)


def _write_sysctls(ifname: str, values: dict[str, str]) -> None:
    """Write /proc/sys/net/ipv6/conf/<ifname>/* in the calling thread's namespace."""
    base = Path("/proc/sys/net/ipv6/conf") / ifname
    for key, value in values.items():
        path = base / key
        if path.exists():  # older kernels lack some knobs; nothing to quiet then
            path.write_text(value)


# ---------------------------------------------------------------- netlink helpers


def _link(ipr: IPRoute, ifname: str) -> Any | None:
    indexes = ipr.link_lookup(ifname=ifname)
    if not indexes:
        return None
    return ipr.link("get", index=indexes[0])[0]


def _link_kind(msg: Any) -> str | None:
    info = msg.get("IFLA_LINKINFO")
    return info.get("IFLA_INFO_KIND") if info else None


def _addresses_of(ipr: IPRoute, index: int) -> set[str]:
    return {msg.get("IFA_ADDRESS") for msg in ipr.addr("dump", index=index)}


def _outer_link_exists(name: str) -> bool:
    with _iproute() as ipr:
        return bool(ipr.link_lookup(ifname=name))


# ---------------------------------------------------------------- creating


def _create_kernel_objects(name: str, number: int, legacy_ip: bool) -> Lab:
    """Build namespace, veth pair, addresses, neighbours and routes."""
    addrs = _addresses(number, legacy_ip)
    families = ("ipv6", "ipv4") if legacy_ip else ("ipv6",)
    from pyroute2 import netns

    netns.create(name)
    with _iproute() as ipr:
        ipr.link("add", ifname=name, kind="veth", peer={"ifname": INNER_IFNAME, "net_ns_fd": name})

    def wanted(side: str) -> list[str]:
        return [addrs[f"{side}_{family}"] for family in families]  # type: ignore[misc]

    # Each end is configured from a thread in its own namespace (cheaper than
    # pyroute2's netns= mode, which forks a helper process).
    outer_index, outer_mac = _configure_end(name, wanted("outer"))
    inner_index, inner_mac = netns_thread(name, _configure_end, INNER_IFNAME, wanted("inner"))
    _add_neighbours_and_routes(outer_index, [(a, inner_mac) for a in wanted("inner")], [])
    # Inside, reach every lab's prefix through the outer end (packet03 routes between labs).
    sites = [IPV6_SITE, IPV4_SITE][: len(families)]
    netns_thread(
        name,
        _add_neighbours_and_routes,
        inner_index,
        [(a, outer_mac) for a in wanted("outer")],
        list(zip(sites, wanted("outer"), strict=True)),
    )
    return Lab(
        name=name,
        number=number,
        outer=name,
        inner=INNER_IFNAME,
        netns=name,
        outer_mac=outer_mac,
        inner_mac=inner_mac,
        outer_ifindex=outer_index,
        inner_ifindex=inner_index,
        legacy_ip=legacy_ip,
        **addrs,
    )


def _configure_end(ifname: str, addresses: list[str]) -> tuple[int, str]:
    """Quiet one veth end, give it its addresses and bring it (and lo) up.

    Runs in the calling thread's namespace; returns (ifindex, MAC).
    """
    _write_sysctls(ifname, _QUIET_IPV6_SYSCTLS)
    _disable_offloads(ifname)
    with _iproute() as ipr:
        index = ipr.link_lookup(ifname=ifname)[0]
        for address in addresses:
            if ":" in address:
                ipr.addr(
                    "add", index=index, address=address, prefixlen=IPV6_PREFIXLEN, flags=IFA_F_NODAD
                )
            else:
                ipr.addr("add", index=index, address=address, prefixlen=IPV4_PREFIXLEN)
        lo = ipr.link_lookup(ifname="lo")[0]
        ipr.link("set", index=lo, state="up")  # already up in the root namespace
        ipr.link("set", index=index, state="up")
        mac = ipr.link("get", index=index)[0].get("IFLA_ADDRESS")
    return index, mac


def _add_neighbours_and_routes(
    index: int, neighbours: list[tuple[str, str]], routes: list[tuple[str, str]]
) -> None:
    """Permanent neighbour entries (address -> MAC) and gateway routes on one end.

    They go in after "up": taking a device down flushes neighbour entries.
    """
    with _iproute() as ipr:
        for address, mac in neighbours:
            ipr.neigh("replace", dst=address, lladdr=mac, ifindex=index, state=NUD_PERMANENT)
        for destination, gateway in routes:
            ipr.route("replace", dst=destination, gateway=gateway, oif=index)


def _remove_kernel_objects(name: str) -> None:
    """Remove the lab's outer link (if it is a veth) and its namespace."""
    with _iproute() as ipr:
        msg = _link(ipr, name)
        if msg is not None and _link_kind(msg) == "veth":
            from pyroute2.netlink.exceptions import NetlinkError

            with contextlib.suppress(NetlinkError):  # already gone with its peer
                ipr.link("del", index=msg["index"])
    if _netns_exists(name):
        from pyroute2 import netns

        netns.remove(name)


def _build(name: str, number: int, legacy_ip: bool) -> Lab:
    """Create a lab; the record is written first so a crash mid-way stays repairable."""
    state.write_record(name, {"name": name, "number": number, "legacy_ip": legacy_ip})
    try:
        lab = _create_kernel_objects(name, number, legacy_ip)
    except Exception as exc:
        with contextlib.suppress(Exception):
            _remove_kernel_objects(name)
        state.delete_record(name)
        if isinstance(exc, XdpTuiError):
            raise
        raise XdpTuiError(
            f"could not create lab {name}: {exc}",
            hint="check `ip netns list` and `ip link` for leftovers of that name",
        ) from exc
    state.write_record(name, {**lab.to_dict(), "complete": True})
    _wait_until_quiet(name)
    return lab


def _wait_until_quiet(ifname: str, *, still_for: float = 0.05, at_most: float = 1.0) -> None:
    """Let the few MLD reports a new link sends pass, so counters start still.

    Reports go out right after "up" (their intervals are 0); once the outer
    end's packet counters stop moving for `still_for`, the link is quiet.
    """
    stats = Path("/sys/class/net") / ifname / "statistics"

    def counters() -> tuple[str, str]:
        try:
            return (stats / "rx_packets").read_text(), (stats / "tx_packets").read_text()
        except OSError:
            return ("", "")

    deadline = time.monotonic() + at_most
    last, still_since = counters(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.005)
        now = counters()
        if now != last:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= still_for:
            return


# ---------------------------------------------------------------- health


def _problems(name: str, record: dict[str, Any] | None) -> list[str]:
    """What is wrong with a recorded lab (empty list: healthy)."""
    if record is None or not record.get("complete"):
        return ["setup did not finish"]
    lab = _lab_from_record(record)
    problems = _end_problems(lab.outer, _wanted(lab, "outer"), lab.outer_ifindex)
    if not _netns_exists(lab.netns):
        return [*problems, f"namespace {lab.netns} is missing"]
    from pyroute2.netlink.exceptions import NetlinkError

    try:
        inside = netns_thread(lab.netns, _end_problems, lab.inner, _wanted(lab, "inner"), None)
    except (OSError, NetlinkError) as exc:
        inside = [f"namespace {lab.netns} cannot be entered: {exc}"]
    return problems + [f"{p} (in namespace {lab.netns})" for p in inside]


def _wanted(lab: Lab, side: str) -> list[str]:
    wanted = [getattr(lab, f"{side}_ipv6")]
    if lab.legacy_ip:
        wanted.append(getattr(lab, f"{side}_ipv4"))
    return wanted


def _end_problems(ifname: str, addresses: list[str], ifindex: int | None) -> list[str]:
    """Check one end in the calling thread's namespace: exists, same index, up, addressed."""
    with _iproute() as ipr:
        msg = _link(ipr, ifname)
        if msg is None:
            return [f"interface {ifname} is missing"]
        problems = []
        if ifindex is not None and msg["index"] != ifindex:
            problems.append(f"interface {ifname} was re-created by someone else")
        if not msg["flags"] & IFF_UP:
            problems.append(f"interface {ifname} is down")
        present = _addresses_of(ipr, msg["index"])
    return problems + [f"{ifname} lacks address {a}" for a in addresses if a not in present]


# ---------------------------------------------------------------- public API


def setup(name: str = DEFAULT_NAME, *, legacy_ip: bool = False, make_current: bool = True) -> Lab:
    """Create lab `name` (and make it current); a healthy existing lab is returned as is.

    An existing lab without legacy IP is rebuilt (same number) when legacy IP
    is asked for; a broken one is repaired. Private labs (lesson checks)
    pass make_current=False so the learner's current lab stays put.
    Uses sync pyroute2: inside an event loop, call it from a worker thread.
    """
    validate_name(name)
    require_root("setting up a lab")
    with state.locked():
        record = state.read_record(name)
        if record is None:
            _refuse_bpffs_name(name)
            _refuse_foreign(name)
            lab = _build(name, state.next_number(_numbers_on_host()), legacy_ip)
        elif not _problems(name, record) and (record["legacy_ip"] or not legacy_ip):
            lab = _lab_from_record(record)
        else:
            _remove_kernel_objects(name)
            lab = _build(name, record["number"], legacy_ip or bool(record.get("legacy_ip")))
        if make_current:
            state.write_current(name)
    return lab


def _refuse_bpffs_name(name: str) -> None:
    if name.lower() in BPFFS_NAMES:
        raise XdpTuiError(
            f"lab name {name!r} is a folder other tools use in /sys/fs/bpf, where each lab "
            "keeps its pins",
            location="lab name",
            hint="pick another name, e.g. test01",
        )


def _numbers_on_host() -> set[int]:
    """Lab numbers whose prefixes some root-namespace interface already carries.

    Labs recorded in another state directory (a test run, a second user)
    must not get the same addresses, or replies would leave by the wrong veth.
    """
    taken: set[int] = set()
    v6_head = IPV6_PREFIX + ":"
    with _iproute() as ipr:
        for msg in ipr.addr("dump"):
            address = msg.get("IFA_ADDRESS") or ""
            if address.startswith(v6_head):
                group = address[len(v6_head) :].split(":")[0]
                with contextlib.suppress(ValueError):
                    taken.add(int(group or "0", 16))
            elif address.startswith(IPV4_PREFIX + "."):
                with contextlib.suppress(ValueError, IndexError):
                    taken.add(int(address.split(".")[2]))
    return taken


def _refuse_foreign(name: str) -> None:
    """Never adopt an interface or namespace that no lab of ours created."""
    if _outer_link_exists(name):
        raise XdpTuiError(
            f"an interface named {name} already exists and no lab created it",
            location=f"lab {name}",
            hint="pick another lab name (--name); xdp-tui leaves foreign interfaces alone",
        )
    if _netns_exists(name):
        raise XdpTuiError(
            f"a network namespace named {name} already exists and no lab created it",
            location=f"lab {name}",
            hint=f"pick another lab name, or remove it yourself: `ip netns del {name}`",
        )


def teardown(name: str) -> None:
    """Remove exactly what setup created: namespace, veth pair, pin folder, record."""
    validate_name(name)
    require_root("tearing down a lab")
    with state.locked():
        if state.read_record(name) is None:
            raise XdpTuiError(
                f"no lab named {name}",
                location=f"lab {name}",
                hint="`xdp-tui env status` lists the labs",
            )
        _remove_kernel_objects(name)
        pins.remove_ours(name)  # another tool's pins in the folder stay
        state.delete_record(name)
        if state.read_current() == name:
            state.write_current(None)


def reset(name: str) -> Lab:
    """Tear the lab's kernel objects (and pins) down and build them again, same number."""
    validate_name(name)
    require_root("resetting a lab")
    with state.locked():
        record = state.read_record(name)
        if record is None:
            raise XdpTuiError(
                f"no lab named {name}",
                location=f"lab {name}",
                hint=f"create it: `xdp-tui env setup --name {name}`",
            )
        _remove_kernel_objects(name)
        pins.remove_ours(name)
        lab = _build(name, record["number"], bool(record.get("legacy_ip")))
    return lab


def get(name: str) -> Lab:
    """The recorded lab `name` (not health-checked; see status())."""
    validate_name(name)
    record = state.read_record(name)
    if record is None or not record.get("complete"):
        raise XdpTuiError(
            f"no lab named {name}",
            location=f"lab {name}",
            hint=f"create it: `xdp-tui env setup --name {name}`",
        )
    return _lab_from_record(record)


def current() -> str | None:
    return state.read_current()


def set_current(name: str) -> None:
    get(name)  # refuses unknown labs
    with state.locked():
        state.write_current(name)


def status() -> dict[str, Any]:
    """Every recorded lab with its addresses and health, plus the current lab."""
    require_root("checking lab health")
    labs = []
    for record in state.all_records():
        name = record.get("name", "?")
        problems = _problems(name, record)
        lab = _lab_from_record(record) if record.get("complete") else None
        labs.append(
            {
                "name": name,
                "number": record.get("number"),
                "outer": lab.outer if lab else name,
                "inner": lab.inner if lab else INNER_IFNAME,
                "ipv6": lab.ipv6 if lab else [],
                "ipv4": lab.ipv4 if lab else [],
                "outer_mac": lab.outer_mac if lab else None,
                "inner_mac": lab.inner_mac if lab else None,
                "healthy": not problems,
                "problems": problems,
            }
        )
    return {"current": current(), "labs": labs}


def is_lab_interface(ifname: str) -> bool:
    """True when `ifname` (root namespace) is the outer end of a lab we created."""
    if not isinstance(ifname, str) or not _NAME_RE.fullmatch(ifname):
        return False
    record = state.read_record(ifname)
    if record is None or not record.get("complete") or record.get("outer") != ifname:
        return False
    try:
        index = int(Path(f"/sys/class/net/{ifname}/ifindex").read_text())
    except (OSError, ValueError):
        return False
    return index == record.get("outer_ifindex")
