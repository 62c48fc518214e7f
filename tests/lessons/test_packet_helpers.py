"""The shared packet headers (bpf/*.h): they build, pass the verifier, and compute right.

A small XDP program uses every helper; the verifier must accept it. The
checksum helper is also run on the kernel (BPF_PROG_TEST_RUN) against a
frame whose checksum we compute in Python.
"""

from __future__ import annotations

import ctypes as C
import struct
from pathlib import Path

import pytest

from testenv import packets
from xdp_tui.engine.build import build_or_raise
from xdp_tui.engine.libbpf import BpfObject

pytestmark = pytest.mark.kernel

USES_EVERY_HELPER = r"""
#include "common.h"
#include "parsing_helpers.h"
#include "rewrite_helpers.h"
#include <linux/icmp.h> /* harmless after icmp_defs.h: its guard is set */

SEC("xdp")
int xdp_every_helper(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct collect_vlans vlans = {};
	struct ethhdr *eth;
	struct ipv6hdr *ip6h;
	struct iphdr *iph;
	struct icmp6hdr *icmp6h;
	struct icmphdr *icmph;
	struct icmphdr_common *common;
	struct udphdr *udph;
	struct tcphdr *tcph;
	int type, proto;

	type = parse_ethhdr_vlan(&nh, data_end, &eth, &vlans);
	if (type < 0)
		return XDP_ABORTED;
	if (type == bpf_htons(ETH_P_IPV6)) {
		proto = parse_ip6hdr(&nh, data_end, &ip6h);
		if (proto < 0)
			return XDP_ABORTED;
		swap_src_dst_ipv6(ip6h);
		if (proto == IPPROTO_ICMPV6 && parse_icmp6hdr(&nh, data_end, &icmp6h) < 0)
			return XDP_ABORTED;
	} else if (type == bpf_htons(ETH_P_IP)) {
		proto = parse_iphdr(&nh, data_end, &iph);
		if (proto < 0)
			return XDP_ABORTED;
		swap_src_dst_ipv4(iph);
		if (proto == IPPROTO_ICMP && parse_icmphdr(&nh, data_end, &icmph) < 0)
			return XDP_ABORTED;
	} else {
		return XDP_PASS;
	}
	if (proto == IPPROTO_UDP) {
		if (parse_udphdr(&nh, data_end, &udph) < 0)
			return XDP_ABORTED;
		__be16 old = udph->dest;
		udph->dest = bpf_htons(bpf_ntohs(old) - 1);
		csum_replace2(&udph->check, old, udph->dest);
	} else if (proto == IPPROTO_TCP) {
		if (parse_tcphdr(&nh, data_end, &tcph) < 0)
			return XDP_ABORTED;
		csum_replace4(&tcph->check, 0, 0);
	} else if (parse_icmphdr_common(&nh, data_end, &common) < 0) {
		return XDP_ABORTED;
	}
	swap_src_dst_mac(eth);
	if (vlans.id[0])
		return vlan_tag_pop(ctx, eth) < 0 ? XDP_ABORTED : XDP_PASS;
	return vlan_tag_push(ctx, eth, 1) < 0 ? XDP_ABORTED : XDP_TX;
}
"""


@pytest.fixture(scope="module")
def helper_object(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("helpers") / "every_helper.c"
    source.write_text(USES_EVERY_HELPER)
    result = build_or_raise(source)
    assert not result.warnings, [d.message for d in result.warnings]
    return result.obj


def _test_run(prog_fd: int, frame: bytes) -> tuple[int, bytes]:
    """Run the program once on FRAME in the kernel; (verdict, frame afterwards)."""
    from xdp_tui.engine.bpfsys import TestRunOpts, prog_test_run

    data_in = C.create_string_buffer(frame, len(frame))
    data_out = C.create_string_buffer(len(frame) + 64)
    opts = TestRunOpts()
    opts.data_in, opts.data_size_in = C.cast(data_in, C.c_void_p), len(frame)
    opts.data_out, opts.data_size_out = C.cast(data_out, C.c_void_p), len(data_out)
    opts.repeat = 1
    assert prog_test_run(prog_fd, opts) == 0
    return opts.retval, data_out.raw[: opts.data_size_out]


def _udp_frame(family: int, vlan: int | None = None) -> bytes:
    src, dst = ("fc00::2", "fc00::1") if family == 6 else ("10.0.0.2", "10.0.0.1")
    segment = packets.udp_segment(src, dst, 40000, 4242, b"checksum me")
    proto = packets.IPPROTO_UDP
    return packets.frame("02:00:00:00:00:01", "02:00:00:00:00:02", src, dst, proto, segment, vlan)


def _udp_checksum_ok(parsed: packets.ParsedFrame) -> bool:
    """Summed over a segment that carries a correct checksum, the checksum is 0."""
    src, dst = packets.ip_bytes(parsed.src or ""), packets.ip_bytes(parsed.dst or "")
    length = len(parsed.l4)
    if len(src) == 16:
        pseudo = src + dst + struct.pack("!I3xB", length, packets.IPPROTO_UDP)
    else:
        pseudo = src + dst + struct.pack("!xBH", packets.IPPROTO_UDP, length)
    return packets.checksum(pseudo + parsed.l4) == 0


def test_every_helper_passes_the_verifier(helper_object: Path) -> None:
    with BpfObject.open(helper_object) as bpf:
        bpf.load("xdp_every_helper")


@pytest.mark.parametrize("family", [6, 4])
def test_port_change_keeps_the_udp_checksum_valid(helper_object: Path, family: int) -> None:
    with BpfObject.open(helper_object) as bpf:
        bpf.load("xdp_every_helper")
        verdict, out = _test_run(bpf.program_fd("xdp_every_helper"), _udp_frame(family))
    parsed = packets.parse(out)
    assert verdict == 3  # XDP_TX: untagged, so a tag was pushed
    assert parsed.vlans == [1]
    assert parsed.udp_ports == (40000, 4241)
    assert (parsed.src, parsed.dst) == (
        ("fc00::1", "fc00::2") if family == 6 else ("10.0.0.1", "10.0.0.2")
    )
    assert _udp_checksum_ok(parsed)
    assert out[:6] == bytes.fromhex("020000000002")  # MACs swapped


def test_vlan_pop_restores_the_plain_frame(helper_object: Path) -> None:
    tagged = _udp_frame(6, vlan=42)
    with BpfObject.open(helper_object) as bpf:
        bpf.load("xdp_every_helper")
        verdict, out = _test_run(bpf.program_fd("xdp_every_helper"), tagged)
    assert verdict == 2  # XDP_PASS after a successful pop
    assert len(out) == len(tagged) - 4
    parsed = packets.parse(out)
    assert parsed.vlans == []
    assert parsed.ethertype == packets.ETH_P_IPV6
    assert struct.unpack("!H", out[12:14])[0] == packets.ETH_P_IPV6
