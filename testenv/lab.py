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
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from xdp_tui import lab_records, pins
from xdp_tui.errors import XdpTuiError
from xdp_tui.labs import (
    DEFAULT_NAME,
    INNER_IFNAME,
    IPV4_PREFIXLEN,
    IPV6_PREFIXLEN,
    Lab,
    get,
    lab_from_record,
    netns_path,
    netns_thread,
    validate_name,
)
from xdp_tui.privileges import require_root

if TYPE_CHECKING:
    from pyroute2 import IPRoute

IPV6_PREFIX = "fc00:dead:cafe"
IPV6_SITE = f"{IPV6_PREFIX}::/48"
IPV4_PREFIX = "10.11"
IPV4_SITE = f"{IPV4_PREFIX}.0.0/16"

IFA_F_NODAD = 0x02
NUD_PERMANENT = 0x80
IFF_UP = 0x1
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


class _Addresses(TypedDict):
    outer_ipv6: str
    inner_ipv6: str
    outer_ipv4: str | None
    inner_ipv4: str | None


def _addresses(number: int, legacy_ip: bool) -> _Addresses:
    six = f"{IPV6_PREFIX}:{number:x}"
    four = f"{IPV4_PREFIX}.{number}"
    return {
        "outer_ipv6": f"{six}::1",
        "inner_ipv6": f"{six}::2",
        "outer_ipv4": f"{four}.1" if legacy_ip else None,
        "inner_ipv4": f"{four}.2" if legacy_ip else None,
    }


# ---------------------------------------------------------------- namespaces and threads


def _iproute() -> IPRoute:
    """A netlink socket in the calling thread's namespace.

    pyroute2 costs ~100 ms of imports: it is loaded on first use, so commands
    that only read lab records (is_lab_interface, get, netns_thread) start fast.
    """
    from pyroute2 import IPRoute

    return IPRoute()


def _netns_exists(name: str) -> bool:
    return netns_path(name).exists()


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
        """SIDE's addresses, IPv6 first; the IPv4 one is None without legacy_ip."""
        if side == "outer":
            return [a for a in (addrs["outer_ipv6"], addrs["outer_ipv4"]) if a is not None]
        return [a for a in (addrs["inner_ipv6"], addrs["inner_ipv4"]) if a is not None]

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
    lab_records.write_record(name, {"name": name, "number": number, "legacy_ip": legacy_ip})
    try:
        lab = _create_kernel_objects(name, number, legacy_ip)
    except Exception as exc:
        with contextlib.suppress(Exception):
            _remove_kernel_objects(name)
        lab_records.delete_record(name)
        if isinstance(exc, XdpTuiError):
            raise
        raise XdpTuiError(
            f"could not create lab {name}: {exc}",
            hint="check `ip netns list` and `ip link` for leftovers of that name",
        ) from exc
    lab_records.write_record(name, {**lab.to_dict(), "complete": True})
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
    lab = lab_from_record(record)
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
    with lab_records.locked():
        record = lab_records.read_record(name)
        if record is None:
            _refuse_bpffs_name(name)
            _refuse_foreign(name)
            lab = _build(name, lab_records.next_number(_numbers_on_host()), legacy_ip)
        elif not _problems(name, record) and (record["legacy_ip"] or not legacy_ip):
            lab = lab_from_record(record)
        else:
            _remove_kernel_objects(name)
            lab = _build(name, record["number"], legacy_ip or bool(record.get("legacy_ip")))
        if make_current:
            lab_records.write_current(name)
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
    with lab_records.locked():
        if lab_records.read_record(name) is None:
            raise XdpTuiError(
                f"no lab named {name}",
                location=f"lab {name}",
                hint="`xdp-tui env status` lists the labs",
            )
        _remove_kernel_objects(name)
        pins.remove_ours(name)  # another tool's pins in the folder stay
        lab_records.delete_record(name)
        if lab_records.read_current() == name:
            lab_records.write_current(None)


def reset(name: str) -> Lab:
    """Tear the lab's kernel objects (and pins) down and build them again, same number."""
    validate_name(name)
    require_root("resetting a lab")
    with lab_records.locked():
        record = lab_records.read_record(name)
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


def current() -> str | None:
    return lab_records.read_current()


def set_current(name: str) -> None:
    get(name)  # refuses unknown labs
    with lab_records.locked():
        lab_records.write_current(name)


def status() -> dict[str, Any]:
    """Every recorded lab with its addresses and health, plus the current lab."""
    require_root("checking lab health")
    labs = []
    for record in lab_records.all_records():
        name = record.get("name", "?")
        problems = _problems(name, record)
        lab = lab_from_record(record) if record.get("complete") else None
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
