"""Building and parsing the Ethernet frames our traffic generator sends.

Pure byte work (no sockets, no root), so it is easy to test and reuse:
Ethernet with an optional 802.1Q tag, IPv6 or IPv4, then UDP, TCP SYN or
ICMP(v6) echo, all with correct checksums.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from xdp_tui.labs import mac_bytes

ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
ETH_P_8021Q = 0x8100
ETH_P_8021AD = 0x88A8
ETH_HLEN = 14
VLAN_HLEN = 4
IPV6_HLEN = 40
IPV4_HLEN = 20
UDP_HLEN = 8
TCP_HLEN = 20
ICMP_HLEN = 8

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ICMPV6 = 58

ICMPV6_ECHO_REQUEST = 128
ICMPV6_ECHO_REPLY = 129
ICMP_ECHO_REQUEST = 8
ICMP_ECHO_REPLY = 0

TCP_SYN = 0x02
HOP_LIMIT = 64
# Like ping's default: 56 payload bytes make 118-byte ICMPv6 and 98-byte ICMP frames.
ECHO_PAYLOAD = bytes(range(56))
SOURCE_PORT = 40000


def ip_bytes(address: str) -> bytes:
    return ipaddress.ip_address(address).packed


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071): one's complement of the one's complement sum."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _pseudo_header(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    if len(src) == 16:
        return src + dst + struct.pack("!I3xB", length, proto)
    return src + dst + struct.pack("!xBH", proto, length)


def l4_checksum(src: bytes, dst: bytes, proto: int, segment: bytes) -> int:
    """UDP/TCP/ICMPv6 checksum over the pseudo header and the segment."""
    value = checksum(_pseudo_header(src, dst, proto, len(segment)) + segment)
    # UDP sends 0 as "no checksum"; a computed zero goes out as all ones.
    return 0xFFFF if (value == 0 and proto == IPPROTO_UDP) else value


def ethernet(dst_mac: str, src_mac: str, ethertype: int, vlan: int | None = None) -> bytes:
    """An Ethernet header, with an 802.1Q tag (VLAN id `vlan`, priority 0) if given."""
    header = mac_bytes(dst_mac) + mac_bytes(src_mac)
    if vlan is not None:
        if not 0 <= vlan < 4096:
            raise ValueError(f"VLAN id {vlan} out of range 0-4095")
        header += struct.pack("!HH", ETH_P_8021Q, vlan)
    return header + struct.pack("!H", ethertype)


def ip_header(src: bytes, dst: bytes, proto: int, payload_len: int, ident: int = 0) -> bytes:
    if len(src) == 16:
        return struct.pack("!IHBB", 6 << 28, payload_len, proto, HOP_LIMIT) + src + dst
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        IPV4_HLEN + payload_len,
        ident & 0xFFFF,
        0x4000,  # don't fragment
        HOP_LIMIT,
        proto,
        0,
        src,
        dst,
    )
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:]


def ip_packet(src: str, dst: str, proto: int, segment: bytes) -> tuple[int, bytes]:
    """(ethertype, IP header + segment); the segment's checksum must be set already."""
    s, d = ip_bytes(src), ip_bytes(dst)
    ethertype = ETH_P_IPV6 if len(s) == 16 else ETH_P_IP
    return ethertype, ip_header(s, d, proto, len(segment)) + segment


def udp_segment(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    length = UDP_HLEN + len(payload)
    raw = struct.pack("!HHHH", sport, dport, length, 0) + payload
    csum = l4_checksum(ip_bytes(src), ip_bytes(dst), IPPROTO_UDP, raw)
    return raw[:6] + struct.pack("!H", csum) + raw[8:]


def tcp_syn_segment(src: str, dst: str, sport: int, dport: int, seq: int = 1) -> bytes:
    raw = struct.pack("!HHIIHHHH", sport, dport, seq, 0, (5 << 12) | TCP_SYN, 64240, 0, 0)
    csum = l4_checksum(ip_bytes(src), ip_bytes(dst), IPPROTO_TCP, raw)
    return raw[:16] + struct.pack("!H", csum) + raw[18:]


def icmp_echo(src: str, dst: str, ident: int, seq: int, payload: bytes = ECHO_PAYLOAD) -> bytes:
    """An echo request; ICMPv6 sums over the pseudo header, ICMPv4 only over itself."""
    v6 = ipaddress.ip_address(src).version == 6
    kind = ICMPV6_ECHO_REQUEST if v6 else ICMP_ECHO_REQUEST
    raw = struct.pack("!BBHHH", kind, 0, 0, ident & 0xFFFF, seq & 0xFFFF) + payload
    csum = l4_checksum(ip_bytes(src), ip_bytes(dst), IPPROTO_ICMPV6, raw) if v6 else checksum(raw)
    return raw[:2] + struct.pack("!H", csum) + raw[4:]


def frame(
    dst_mac: str, src_mac: str, src: str, dst: str, proto: int, segment: bytes, vlan: int | None
) -> bytes:
    ethertype, packet = ip_packet(src, dst, proto, segment)
    return ethernet(dst_mac, src_mac, ethertype, vlan) + packet


# ---------------------------------------------------------------- parsing


@dataclass
class ParsedFrame:
    """The parts of a frame our tools look at."""

    vlans: list[int]
    ethertype: int
    src: str | None = None
    dst: str | None = None
    proto: int | None = None
    l4: bytes = b""  # the transport header and payload

    @property
    def udp_ports(self) -> tuple[int, int] | None:
        if self.proto not in (IPPROTO_UDP, IPPROTO_TCP) or len(self.l4) < 4:
            return None
        source, dest = struct.unpack("!HH", self.l4[:4])
        return source, dest

    def echo(self) -> tuple[int, int, int] | None:
        """(type, id, seq) for ICMP/ICMPv6 echo messages, else None."""
        if self.proto not in (IPPROTO_ICMP, IPPROTO_ICMPV6) or len(self.l4) < ICMP_HLEN:
            return None
        kind, _code, _csum, ident, seq = struct.unpack("!BBHHH", self.l4[:ICMP_HLEN])
        return kind, ident, seq


def parse(data: bytes) -> ParsedFrame:
    """Walk Ethernet, any 802.1Q/802.1ad tags, then IPv6 or IPv4 (no extension headers)."""
    vlans: list[int] = []
    offset = 12
    ethertype = struct.unpack_from("!H", data, offset)[0] if len(data) >= ETH_HLEN else 0
    while ethertype in (ETH_P_8021Q, ETH_P_8021AD) and len(data) >= offset + 8:
        vlans.append(struct.unpack_from("!H", data, offset + 2)[0] & 0x0FFF)
        offset += VLAN_HLEN
        ethertype = struct.unpack_from("!H", data, offset)[0]
    offset += 2
    parsed = ParsedFrame(vlans=vlans, ethertype=ethertype)
    if ethertype == ETH_P_IPV6 and len(data) >= offset + IPV6_HLEN:
        parsed.proto = data[offset + 6]
        parsed.src = str(ipaddress.IPv6Address(data[offset + 8 : offset + 24]))
        parsed.dst = str(ipaddress.IPv6Address(data[offset + 24 : offset + 40]))
        parsed.l4 = data[offset + IPV6_HLEN :]
    elif ethertype == ETH_P_IP and len(data) >= offset + IPV4_HLEN:
        ihl = (data[offset] & 0x0F) * 4
        parsed.proto = data[offset + 9]
        parsed.src = str(ipaddress.IPv4Address(data[offset + 12 : offset + 16]))
        parsed.dst = str(ipaddress.IPv4Address(data[offset + 16 : offset + 20]))
        parsed.l4 = data[offset + ihl :]
    return parsed


def insert_vlan_tag(data: bytes, tci: int, tpid: int = ETH_P_8021Q) -> bytes:
    """Put back a tag the kernel moved into packet metadata (as tcpdump shows it)."""
    return data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
