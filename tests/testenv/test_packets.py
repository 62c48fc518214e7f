"""Frame building without a kernel: sizes, checksums, parsing round trips."""

from __future__ import annotations

import struct

from testenv import packets, traffic
from testenv.lab import Lab

LAB = Lab(
    name="t1",
    number=1,
    outer="t1",
    inner="veth0",
    netns="t1",
    outer_ipv6="fc00:dead:cafe:1::1",
    inner_ipv6="fc00:dead:cafe:1::2",
    outer_ipv4="10.11.1.1",
    inner_ipv4="10.11.1.2",
    outer_mac="02:00:00:00:00:01",
    inner_mac="02:00:00:00:00:02",
    outer_ifindex=10,
    inner_ifindex=2,
    legacy_ip=True,
)


def _l4_sums_to_zero(parsed: packets.ParsedFrame) -> bool:
    src, dst = packets.ip_bytes(parsed.src), packets.ip_bytes(parsed.dst)
    pseudo = packets._pseudo_header(src, dst, parsed.proto, len(parsed.l4))
    return packets.checksum(pseudo + parsed.l4) == 0


def test_checksum_of_known_ipv4_header() -> None:
    # The classic example header from RFC 1071 discussions; its checksum is 0xb861.
    header = bytes.fromhex("45000073000040004011" + "0000" + "c0a80001c0a800c7")
    assert packets.checksum(header) == 0xB861


def test_udp_frames_carry_valid_checksums_both_families() -> None:
    for family in (6, 4):
        frame = traffic.build_udp_frame(LAB, 2000, b"hello", family=family)
        parsed = packets.parse(frame)
        assert parsed.udp_ports == (packets.SOURCE_PORT, 2000)
        assert parsed.l4.endswith(b"hello")
        assert _l4_sums_to_zero(parsed)
    ipv4 = traffic.build_udp_frame(LAB, 7, family=4)
    assert packets.checksum(ipv4[14:34]) == 0  # the IPv4 header checksum holds too


def test_tcp_syn_frame() -> None:
    frame = traffic.build_tcp_syn_frame(LAB, 443, family=6)
    parsed = packets.parse(frame)
    assert parsed.proto == packets.IPPROTO_TCP
    assert parsed.udp_ports == (40000, 443)
    assert parsed.l4[13] == packets.TCP_SYN
    assert _l4_sums_to_zero(parsed)


def test_echo_frames_have_ping_sizes_and_tags() -> None:
    assert len(traffic.build_echo_frame(LAB, 1, 6)) == 118
    assert len(traffic.build_echo_frame(LAB, 1, 4)) == 98
    tagged = traffic.build_echo_frame(LAB, 7, 6, vlan=42)
    assert len(tagged) == 122
    parsed = packets.parse(tagged)
    assert parsed.vlans == [42]
    assert parsed.echo() == (packets.ICMPV6_ECHO_REQUEST, 0x7864, 7)
    assert _l4_sums_to_zero(parsed)
    v4 = packets.parse(traffic.build_echo_frame(LAB, 3, 4))
    assert packets.checksum(v4.l4) == 0


def test_frame_addresses_point_from_inside_to_outside() -> None:
    frame = traffic.build_udp_frame(LAB, 9)
    assert frame[:6] == packets.mac_bytes(LAB.outer_mac)
    assert frame[6:12] == packets.mac_bytes(LAB.inner_mac)
    parsed = packets.parse(frame)
    assert (parsed.src, parsed.dst) == (LAB.inner_ipv6, LAB.outer_ipv6)


def test_insert_vlan_tag_restores_the_wire_format() -> None:
    plain = traffic.build_udp_frame(LAB, 9)
    tagged = packets.insert_vlan_tag(plain, 5)
    assert tagged == traffic.build_udp_frame(LAB, 9, vlan=5)
    assert struct.unpack("!H", tagged[12:14])[0] == packets.ETH_P_8021Q


def test_udp_stream_sizes(monkeypatch) -> None:
    """`size` is the frame length: 64 bytes means 2 payload bytes over IPv6."""
    seen: list[bytes] = []
    monkeypatch.setattr(traffic, "stream_frame", lambda lab, data, **kw: seen.append(data))
    traffic.udp_stream(LAB, size=64)
    traffic.udp_stream(LAB, size=64, family=4)
    traffic.udp_stream(LAB, size=10)  # smaller than the headers: headers only
    assert [len(f) for f in seen] == [64, 64, 62]


class _FlakySocket:
    """Fails every third send with ENOBUFS, like a veth whose peer's XDP ring is full.

    A fake because the real condition depends on timing we cannot provoke on demand.
    """

    def __init__(self) -> None:
        self.calls = 0
        self.delivered = 0

    def send(self, data: bytes) -> int:
        import errno

        self.calls += 1
        if self.calls % 3 == 0:
            raise OSError(errno.ENOBUFS, "No buffer space available")
        self.delivered += 1
        return len(data)


def test_send_loop_retries_after_enobufs_and_counts_exactly() -> None:
    sock = _FlakySocket()
    result = traffic._send_loop(sock, b"x" * 64, None, None, 100)
    assert result.sent == sock.delivered == 100
    assert result.enobufs == sock.calls - 100 > 0
