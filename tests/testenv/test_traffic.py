"""Traffic from inside real labs: pings, streams counted by the kernel, the tap, VLAN tags."""

from __future__ import annotations

import dataclasses

import pytest

from testenv import packets, traffic
from tests.testenv.helpers import attach_pinned, build_vlan_pop, rx_packets
from xdp_tui import paths
from xdp_tui.errors import XdpTuiError

pytestmark = pytest.mark.kernel


def test_one_second_udp_stream_matches_the_rx_counter(make_lab) -> None:
    lab = make_lab("u")
    before = rx_packets(lab.outer)
    result = traffic.udp_stream(lab, duration=1.0)
    arrived = rx_packets(lab.outer) - before
    assert result.sent > 0 and result.duration_s > 0
    # The link is quiet: every received frame is one we sent (a stray one at most).
    assert 0 <= arrived - result.sent <= 1, (arrived, result)


def test_counted_streams_send_exactly(make_lab) -> None:
    lab = make_lab("n", legacy_ip=True)
    before = rx_packets(lab.outer)
    udp = traffic.udp_stream(lab, count=500, family=4, port=2000)
    syn = traffic.tcp_syn_stream(lab, count=300, port=22)
    paced = traffic.udp_stream(lab, count=50, pps=5000)
    assert (udp.sent, syn.sent, paced.sent) == (500, 300, 50)
    assert rx_packets(lab.outer) - before == 850


def test_tap_sees_what_arrives_with_tags_restored(make_lab) -> None:
    lab = make_lab("p")
    frames = [
        traffic.build_udp_frame(lab, 1000, b"one"),
        traffic.build_udp_frame(lab, 1001, b"two", vlan=3),
        traffic.build_tcp_syn_frame(lab, 80),
    ]
    with traffic.Tap(lab) as tap:
        assert traffic.send_frames(lab, frames) == 3
        assert tap.wait_for(3)
    assert tap.frames == frames


def test_tap_filter(make_lab) -> None:
    lab = make_lab("p")
    with traffic.Tap(lab, filter=lambda f: packets.parse(f).udp_ports == (40000, 7)) as tap:
        traffic.send_frames(lab, [traffic.build_udp_frame(lab, p) for p in (6, 7, 7, 8)])
        tap.wait_for(2)
    assert tap.count == 2 and len(tap.frames) == 2


def test_ping_reports_answered_sequence_numbers(make_lab) -> None:
    lab = make_lab("e")
    result = traffic.ping(lab, 4, interval=0.01)
    assert (result.sent, result.received, result.lost) == (4, 4, 0)
    assert result.answered_seqs == [1, 2, 3, 4]
    assert len(result.rtts_ms) == 4
    assert traffic.ping(lab, 0).sent == 0


def test_unanswered_pings_are_reported_lost(make_lab) -> None:
    lab = make_lab("e")
    # Point the requests at a MAC nobody has: the outer end ignores them.
    ghost = dataclasses.replace(lab, outer_mac="02:00:00:00:00:99")
    result = traffic.ping(ghost, 2, interval=0.01, timeout=0.1, vlan=0)
    assert (result.sent, result.received, result.answered_seqs) == (2, 0, [])


def test_vlan_ping_is_answered_only_when_xdp_pops_the_tag(make_lab, tmp_path) -> None:
    lab = make_lab("v", legacy_ip=True)
    unanswered = traffic.ping(lab, 2, interval=0.01, timeout=0.1, vlan=5)
    assert unanswered.answered_seqs == []  # no VLAN devices: the host drops tagged frames

    attach_pinned(build_vlan_pop(tmp_path), paths.pin_dir(lab.name) / "vlan_pop", lab.outer)
    with traffic.Tap(lab) as tap:
        six = traffic.ping(lab, 3, interval=0.01, vlan=5)
        four = traffic.ping(lab, 3, family=4, interval=0.01, vlan=5)
    assert six.answered_seqs == [1, 2, 3] and four.answered_seqs == [1, 2, 3]
    requests = [packets.parse(f) for f in tap.frames]
    assert all(not p.vlans for p in requests)  # XDP removed the tag before the tap


def test_ipv4_needs_a_legacy_ip_lab(make_lab) -> None:
    lab = make_lab("x")
    with pytest.raises(XdpTuiError, match="no IPv4"):
        traffic.ping(lab, 1, family=4)
    with pytest.raises(XdpTuiError, match="no IPv4"):
        traffic.udp_stream(lab, count=1, family=4)


def test_kernel_sent_datagrams_carry_full_checksums(make_lab) -> None:
    """Checksum offload is off on veth0, so XDP and the tap see a valid UDP checksum."""
    import socket

    lab = make_lab("k")
    sender = traffic.inner_socket(lab, socket.AF_INET6, socket.SOCK_DGRAM, 0)
    with sender, traffic.Tap(lab, filter=lambda f: packets.parse(f).udp_ports is not None) as tap:
        sender.sendto(b"checksummed", (lab.outer_ipv6, 9999))
        assert tap.wait_for(1)
    parsed = packets.parse(tap.frames[0])
    assert parsed.l4.endswith(b"checksummed")
    pseudo = packets._pseudo_header(
        packets.ip_bytes(parsed.src), packets.ip_bytes(parsed.dst), parsed.proto, len(parsed.l4)
    )
    assert packets.checksum(pseudo + parsed.l4) == 0
