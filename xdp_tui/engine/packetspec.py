"""Frames from short specs: `icmp6-echo:seq=2`, `udp4:dport=53,vlan=5`, `pcap:FILE#3`.

A spec is TEMPLATE[:FIELD=VALUE,...]. The templates are the frames a lesson
program is usually asked about; fields change addresses, ports, sequence
numbers, add 802.1Q/802.1ad tags or cut the frame short (truncated and
malformed headers are what a ping cannot produce). Frames are built by scapy
with correct lengths and checksums, then cut if asked.

    frame_from_spec("tcp6:dport=80,flags=S")           # bytes
    frame_from_spec("icmp6-echo:seq=1,truncate=30")    # IPv6 header cut short
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xdp_tui.errors import XdpTuiError

if TYPE_CHECKING:
    from xdp_tui.labs import Lab

# The default lab's addresses (the frame travels from the lab's inside to its outer end).
DEFAULTS: dict[str, str] = {
    "src6": "fc00:dead:cafe:1::2",
    "dst6": "fc00:dead:cafe:1::1",
    "src4": "10.11.1.2",
    "dst4": "10.11.1.1",
    "smac": "02:00:00:00:00:02",
    "dmac": "02:00:00:00:00:01",
}
ETH_HLEN = 14
MAX_FRAME = 9000
MAX_VLAN = 4095

COMMON_FIELDS = ("smac", "dmac", "vlan", "qinq", "payload", "truncate")
ETH_FIELDS = (*COMMON_FIELDS, "ethertype")
# iplen: the IPv4 total length / IPv6 payload length, set to a lie (a malformed header)
IP_FIELDS = (*COMMON_FIELDS, "src", "dst", "iplen", "hops")
ECHO_FIELDS = (*IP_FIELDS, "seq", "id")
PORT_FIELDS = (*IP_FIELDS, "sport", "dport")
TCP_FIELDS = (*PORT_FIELDS, "flags")


@dataclass(frozen=True)
class Template:
    name: str
    family: int
    fields: tuple[str, ...]
    describe: str


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template("icmp6-echo", 6, ECHO_FIELDS, "ICMPv6 echo request"),
        Template("icmp4-echo", 4, ECHO_FIELDS, "ICMP echo request"),
        Template("udp6", 6, PORT_FIELDS, "UDP over IPv6"),
        Template("udp4", 4, PORT_FIELDS, "UDP over IPv4"),
        Template("tcp6", 6, TCP_FIELDS, "TCP over IPv6"),
        Template("tcp4", 4, TCP_FIELDS, "TCP over IPv4"),
        Template("eth", 0, ETH_FIELDS, "a bare Ethernet frame (set ethertype, payload)"),
    )
}
SPEC_HELP = (
    "TEMPLATE[:FIELD=VALUE,...] with TEMPLATE one of "
    + ", ".join(TEMPLATES)
    + ", or pcap:FILE[#N]; e.g. icmp6-echo:seq=2, udp4:dport=53,vlan=5, tcp6:dport=80,flags=S"
)


def _spec_error(spec: str, message: str, hint: str | None = None) -> XdpTuiError:
    return XdpTuiError(message, location=f"packet {spec!r}", hint=hint or SPEC_HELP)


def parse_spec(spec: str) -> tuple[Template, dict[str, str]]:
    """Split SPEC into its template and raw field values; errors name the bad part."""
    name, _, rest = spec.strip().partition(":")
    template = TEMPLATES.get(name)
    if template is None:
        raise _spec_error(spec, f"unknown packet template '{name}'")
    fields: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not value:
            raise _spec_error(spec, f"'{item}' is not FIELD=VALUE")
        if key not in template.fields:
            raise _spec_error(
                spec,
                f"{name} has no field '{key}'",
                hint=f"{name} fields: {', '.join(template.fields)}",
            )
        if key in fields:
            raise _spec_error(spec, f"field '{key}' is given twice")
        fields[key] = value
    return template, fields


def lab_defaults(lab: Lab) -> dict[str, str]:
    """DEFAULTS for LAB: its own addresses and MACs (lab 1's are DEFAULTS themselves)."""
    defaults = {
        **DEFAULTS,
        "src6": lab.inner_ipv6,
        "dst6": lab.outer_ipv6,
        "smac": lab.inner_mac,
        "dmac": lab.outer_mac,
    }
    if lab.inner_ipv4 and lab.outer_ipv4:
        defaults.update(src4=lab.inner_ipv4, dst4=lab.outer_ipv4)
    return defaults


def frame_from_spec(
    spec: str, *, base: Path | None = None, defaults: Mapping[str, str] | None = None
) -> bytes:
    """The frame SPEC describes (pcap:FILE is relative to BASE, default the cwd); fields it
    leaves out come from DEFAULTS (default: lab 1's; `lab_defaults(lab)` for another lab)."""
    if spec.startswith("pcap:"):
        return frame_from_pcap(spec, base=base)
    template, fields = parse_spec(spec)
    values = _Values(spec, fields, defaults or DEFAULTS)
    frame = _build(template, values)
    truncate = values.number("truncate", 0, MAX_FRAME, None)
    if truncate is not None:
        frame = frame[:truncate]
    if len(frame) < ETH_HLEN:
        raise _spec_error(
            spec,
            f"the frame is {len(frame)} bytes; the kernel runs XDP only on frames of "
            f"at least {ETH_HLEN} (an Ethernet header)",
            hint="truncate at 14 or more",
        )
    return frame


_MAC_RE = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}")
# scapy's letters: FIN SYN RST PSH ACK URG ECE CWR (NS)
TCP_FLAG_LETTERS = "FSRPAUECN"


class _Values:
    """Typed access to a spec's fields, with located errors."""

    def __init__(self, spec: str, fields: dict[str, str], defaults: Mapping[str, str]) -> None:
        self.spec = spec
        self.fields = fields
        self.defaults = defaults

    def number(self, key: str, low: int, high: int, default: int | None) -> int | None:
        text = self.fields.get(key)
        if text is None:
            return default
        try:
            value = int(text, 0)
        except ValueError:
            raise _spec_error(self.spec, f"field '{key}' wants a number, got '{text}'") from None
        if not low <= value <= high:
            raise _spec_error(self.spec, f"field '{key}' = {value} is outside {low}..{high}")
        return value

    def int_field(self, key: str, low: int, high: int, default: int) -> int:
        value = self.number(key, low, high, default)
        return default if value is None else value

    def text(self, key: str, default: str) -> str:
        return self.fields.get(key, default)

    def mac(self, key: str) -> str:
        # scapy takes a malformed MAC without a word and puts junk in the frame
        value = self.text(key, self.defaults[key])
        if not _MAC_RE.fullmatch(value):
            raise _spec_error(
                self.spec, f"field '{key}' = '{value}' is not a MAC like 02:00:00:00:00:01"
            )
        return value

    def address(self, key: str, family: int) -> str:
        # An address literal only: scapy would resolve a name through DNS (slow, or a hang).
        value = self.text(key, self.defaults[f"{key}{family}"])
        try:
            parsed = ipaddress.ip_address(value)
        except ValueError:
            parsed = None
        if parsed is None or parsed.version != family:
            raise _spec_error(self.spec, f"field '{key}' = '{value}' is not an IPv{family} address")
        return value

    def tcp_flags(self) -> str:
        value = self.text("flags", "S")
        if not value or set(value) - set(TCP_FLAG_LETTERS):
            raise _spec_error(
                self.spec,
                f"field 'flags' = '{value}' is not TCP flag letters ({TCP_FLAG_LETTERS})",
            )
        return value


@functools.cache
def _scapy() -> Any:
    import logging

    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    from scapy.layers import inet, inet6, l2
    from scapy.packet import Raw

    return l2, inet, inet6, Raw


def _build(template: Template, v: _Values) -> bytes:
    l2, inet, inet6, raw = _scapy()
    try:
        pkt = l2.Ether(src=v.mac("smac"), dst=v.mac("dmac"))
        outer = v.number("qinq", 0, MAX_VLAN, None)
        inner = v.number("vlan", 0, MAX_VLAN, None)
        if outer is not None:
            pkt = pkt / l2.Dot1AD(vlan=outer)
        if inner is not None:
            pkt = pkt / l2.Dot1Q(vlan=inner)
        payload = raw(bytes(v.int_field("payload", 0, MAX_FRAME, 0)))
        if template.family == 0:
            ethertype = v.int_field("ethertype", 0, 0xFFFF, 0x88B5)
            return bytes(_with_type(pkt, ethertype) / payload)
        pkt = pkt / _ip_layer(template.family, v, inet, inet6)
        return bytes(pkt / _l4_layer(template, v, inet, inet6) / payload)
    except XdpTuiError:
        raise
    except Exception as exc:  # scapy's own complaint about a value (a bad address, ...)
        raise _spec_error(v.spec, f"cannot build the frame: {exc}") from None


def _with_type(pkt: Any, ethertype: int) -> Any:
    pkt.lastlayer().type = ethertype
    return pkt


def _ip_layer(family: int, v: _Values, inet: Any, inet6: Any) -> Any:
    hops = v.int_field("hops", 0, 255, 64)
    length = v.number("iplen", 0, 0xFFFF, None)  # None: scapy computes the true one
    src, dst = v.address("src", family), v.address("dst", family)
    if family == 6:
        return inet6.IPv6(src=src, dst=dst, hlim=hops, plen=length)
    return inet.IP(src=src, dst=dst, ttl=hops, len=length)


def _l4_layer(template: Template, v: _Values, inet: Any, inet6: Any) -> Any:
    if template.name.startswith("icmp"):
        seq = v.int_field("seq", 0, 0xFFFF, 1)
        ident = v.int_field("id", 0, 0xFFFF, 0x1234)
        if template.family == 6:
            return inet6.ICMPv6EchoRequest(id=ident, seq=seq, data=bytes(range(56)))
        return inet.ICMP(type=8, id=ident, seq=seq) / bytes(range(56))
    sport = v.int_field("sport", 0, 0xFFFF, 40000)
    dport = v.int_field("dport", 0, 0xFFFF, 9)
    if template.name.startswith("udp"):
        return inet.UDP(sport=sport, dport=dport)
    return inet.TCP(sport=sport, dport=dport, flags=v.tcp_flags())


# ---- pcap ------------------------------------------------------------------


def frame_from_pcap(spec: str, *, base: Path | None = None) -> bytes:
    """pcap:FILE[#N]: the Nth frame (from 1; default 1) of a pcap or pcapng file."""
    target = spec.removeprefix("pcap:")
    name, _, index_text = target.partition("#")
    if not name:
        raise _spec_error(spec, "pcap: needs a file name", hint="e.g. pcap:capture.pcapng#2")
    try:
        index = int(index_text) if index_text else 1
    except ValueError:
        raise _spec_error(spec, f"'#{index_text}' is not a frame number") from None
    path = (base or Path.cwd()) / name
    if index < 1:
        raise _spec_error(spec, f"'#{index_text}' is not a frame number (they start at 1)")
    frame, seen = _pcap_frame(path, index, where=spec)
    if frame is None:
        raise _spec_error(
            spec, f"{path} has {seen} frame(s); there is no frame #{index}", hint=None
        )
    return frame


def _pcap_frame(path: Path, index: int, *, where: str) -> tuple[bytes | None, int]:
    """Frame INDEX (from 1) of a pcap/pcapng file and how many were read: only it is kept,
    so `#99999999` on a large capture costs a pass over the file, not its size in memory."""
    from scapy.utils import PcapReader

    from xdp_tui import userfiles

    # The learner names the file: it is opened with their file identity, so root
    # running for them reads no capture they could not read themselves.
    with userfiles.as_learner():
        try:
            info = os.stat(path)
        except FileNotFoundError:
            raise XdpTuiError(f"no such capture file: {path}", location=where) from None
        except OSError as exc:
            raise XdpTuiError(f"cannot read {path}: {exc.strerror}", location=where) from None
        if not stat.S_ISREG(info.st_mode):
            raise XdpTuiError("not a regular file", location=where)  # WHERE names the path
        try:
            reader = PcapReader(str(path))
        except OSError as exc:
            raise XdpTuiError(
                f"cannot read {path}: {exc.strerror or exc}", location=where
            ) from None
        except Exception as exc:  # scapy says "Not a supported capture file" and the like
            raise XdpTuiError(
                f"cannot read {path} as pcap or pcapng: {exc}", location=where
            ) from None
    seen = 0
    try:
        with reader:
            for pkt in reader:
                seen += 1
                if seen == index:
                    return bytes(pkt), seen
    except Exception as exc:  # a damaged record
        raise XdpTuiError(f"cannot read {path} as pcap or pcapng: {exc}", location=where) from None
    return None, seen
