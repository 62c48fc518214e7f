"""The AF_XDP socket of engine/afxdp.py on a real lab: exact counts, answers, layouts.

The structs are packed by hand with `struct`, so their sizes and field
offsets are compared with what clang makes of <linux/if_xdp.h>.
"""

from __future__ import annotations

import random
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from testenv import packets, traffic
from xdp_tui.engine import afxdp
from xdp_tui.engine.session import load_program
from xdp_tui.errors import XdpTuiError

pytestmark = pytest.mark.kernel

LAYOUT_PROBE = r"""
#include <stdio.h>
#include <stddef.h>
#include <linux/if_xdp.h>
int main(void)
{
    printf("sockaddr_xdp %zu %zu %zu %zu %zu\n", sizeof(struct sockaddr_xdp),
           offsetof(struct sockaddr_xdp, sxdp_flags), offsetof(struct sockaddr_xdp, sxdp_ifindex),
           offsetof(struct sockaddr_xdp, sxdp_queue_id),
           offsetof(struct sockaddr_xdp, sxdp_shared_umem_fd));
    printf("xdp_umem_reg %zu %zu %zu %zu %zu\n", sizeof(struct xdp_umem_reg),
           offsetof(struct xdp_umem_reg, len), offsetof(struct xdp_umem_reg, chunk_size),
           offsetof(struct xdp_umem_reg, headroom), offsetof(struct xdp_umem_reg, flags));
    printf("xdp_mmap_offsets %zu %zu\n", sizeof(struct xdp_mmap_offsets),
           sizeof(struct xdp_ring_offset));
    printf("xdp_desc %zu %zu %zu\n", sizeof(struct xdp_desc), offsetof(struct xdp_desc, len),
           offsetof(struct xdp_desc, options));
    printf("xdp_statistics %zu\n", sizeof(struct xdp_statistics));
    printf("constants %d %d %d %d %d %d %d %d %lld %lld %lld\n", XDP_COPY, XDP_MMAP_OFFSETS,
           XDP_RX_RING, XDP_TX_RING, XDP_UMEM_REG, XDP_UMEM_FILL_RING,
           XDP_UMEM_COMPLETION_RING, XDP_STATISTICS, (long long)XDP_PGOFF_TX_RING,
           (long long)XDP_UMEM_PGOFF_FILL_RING, (long long)XDP_UMEM_PGOFF_COMPLETION_RING);
    return 0;
}
"""


def _offsets(fmt: str, names: int) -> list[int]:
    """Offsets of fields 2..NAMES of a packed ("=") struct format of one-letter fields."""
    return [struct.calcsize(fmt[: k + 1]) for k in range(1, names)]


def test_struct_layouts_match_the_kernel_header(tmp_path: Path) -> None:
    source = tmp_path / "probe.c"
    source.write_text(LAYOUT_PROBE)
    binary = tmp_path / "probe"
    subprocess.run(
        ["clang", "-I/usr/include/x86_64-linux-gnu", str(source), "-o", str(binary)], check=True
    )
    said = {
        line.split()[0]: [int(x) for x in line.split()[1:]]
        for line in subprocess.run(
            [str(binary)], capture_output=True, text=True
        ).stdout.splitlines()
    }
    assert said["sockaddr_xdp"] == [afxdp.SOCKADDR_XDP.size, *_offsets("=HHIII", 5)]
    # The header's xdp_umem_reg pads to 32 bytes; our last u32 is that padding
    # (tx_metadata_len on 6.8+), always zero.
    size, *fields = said["xdp_umem_reg"]
    assert size == afxdp.UMEM_REG.size
    assert fields == _offsets("=QQIII", 5)
    assert said["xdp_mmap_offsets"] == [afxdp.MMAP_OFFSETS_SIZE, afxdp.RING_OFFSET.size]
    assert said["xdp_desc"] == [afxdp.XDP_DESC.size, *_offsets("=QII", 3)]
    assert said["xdp_statistics"] == [afxdp.XDP_STATS.size]
    assert said["constants"] == [
        afxdp.XDP_COPY,
        afxdp.XDP_MMAP_OFFSETS,
        afxdp.XDP_RX_RING,
        afxdp.XDP_TX_RING,
        afxdp.XDP_UMEM_REG,
        afxdp.XDP_UMEM_FILL_RING,
        afxdp.XDP_UMEM_COMPLETION_RING,
        afxdp.XDP_STATISTICS,
        afxdp.XDP_PGOFF_TX_RING,
        afxdp.XDP_UMEM_PGOFF_FILL_RING,
        afxdp.XDP_UMEM_PGOFF_COMPLETION_RING,
    ]
    assert struct.calcsize("=HHIII") == 16


@pytest.fixture(params=["native", "skb"])
def redirected_lab(request, make_lab: Callable[..., object], prog: Callable[[str], Path]):  # type: ignore[no-untyped-def]
    """A lab whose outer end sends every frame to the XSKMAP slot of its queue (both modes)."""
    lab = make_lab("xsk")
    program = prog("xsk_redirect")
    with load_program(program, lab.outer, mode=request.param, pin_maps=False) as loaded:  # type: ignore[attr-defined]
        assert loaded.mode == request.param
        yield lab, loaded.maps["xsks_map"]


def test_counts_exactly_the_frames_sent(redirected_lab) -> None:  # type: ignore[no-untyped-def]
    lab, xskmap = redirected_lab
    port = random.randint(1024, 60000)
    # Three times what the fill ring holds, so UMEM frames must be recycled; sent in
    # bursts the rings can hold (a burst bigger than the fill ring would be dropped
    # by the kernel before Python can hand frames back: that is AF_XDP, not a bug).
    bursts, burst = 4, 384
    count = bursts * burst
    frames = [traffic.build_udp_frame(lab, port, payload=b"xsk %d" % i) for i in range(count)]

    def ours(frame: bytes) -> bool:
        return packets.parse(frame).udp_ports == (packets.SOURCE_PORT, port)

    with afxdp.XskSocket(lab.outer) as sock:
        sock.register(xskmap)
        with afxdp.XskPump(sock) as pump:
            for start in range(0, count, burst):
                traffic.send_frames(lab, frames[start : start + burst])
                pump.wait_for(start + burst, timeout=5.0, match=ours)
            got = pump.stop()
        assert [f for f in got if ours(f)] == frames  # every frame, in order, byte for byte
        counters = sock.counters()
    assert counters.rx_packets == len(got)
    assert counters.rx_bytes == sum(len(f) for f in got)
    assert counters.rx_dropped == counters.rx_ring_full == 0


def test_answers_pings_through_the_tx_ring(redirected_lab) -> None:  # type: ignore[no-untyped-def]
    lab, xskmap = redirected_lab
    with afxdp.XskSocket(lab.outer) as sock:
        sock.register(xskmap)
        with afxdp.XskPump(sock, afxdp.icmpv6_echo_reply) as pump:
            first = random.randint(100, 60000)
            result = traffic.ping(lab, 6, first_seq=first)
            pump.stop()
        assert result.answered_seqs == list(range(first, first + 6))
        seen = [packets.parse(f).echo() for f in pump.frames]
        assert sorted(e[2] for e in seen if e) == result.answered_seqs
        assert sock.counters().tx_packets == len(pump.sent) == 6


def test_without_a_registered_socket_frames_pass_to_the_kernel(redirected_lab) -> None:  # type: ignore[no-untyped-def]
    lab, _xskmap = redirected_lab
    with afxdp.XskSocket(lab.outer) as sock:
        assert traffic.ping(lab, 3).received == 3
        assert sock.receive(timeout=0.1) == []


def _echo_frame(src: str, dst: str, kind: int, ident: int, seq: int) -> bytes:
    """An Ethernet/IPv6 echo message of type KIND with its checksum computed from scratch."""
    raw = struct.pack("!BBHHH", kind, 0, 0, ident, seq) + packets.ECHO_PAYLOAD
    csum = packets.l4_checksum(
        packets.ip_bytes(src), packets.ip_bytes(dst), packets.IPPROTO_ICMPV6, raw
    )
    segment = raw[:2] + struct.pack("!H", csum) + raw[4:]
    macs = {"fc00::1": "02:00:00:00:00:01", "fc00::2": "02:00:00:00:00:02"}
    return packets.frame(macs[dst], macs[src], src, dst, packets.IPPROTO_ICMPV6, segment, None)


def test_echo_reply_is_the_reply_built_from_scratch() -> None:
    request = _echo_frame("fc00::2", "fc00::1", afxdp.ICMPV6_ECHO_REQUEST, 7, 42)
    reply = afxdp.icmpv6_echo_reply(request)
    assert reply == _echo_frame("fc00::1", "fc00::2", afxdp.ICMPV6_ECHO_REPLY, 7, 42)
    assert afxdp.icmpv6_echo_reply(reply) is None  # a reply is not answered
    assert afxdp.icmpv6_echo_reply(request[:40]) is None  # nor a truncated frame


def test_a_second_socket_on_the_same_queue_is_refused_clearly(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab("xsk2")
    with afxdp.XskSocket(lab.outer), pytest.raises(XdpTuiError) as info:  # type: ignore[attr-defined]
        afxdp.XskSocket(lab.outer)  # type: ignore[attr-defined]
    assert "queue 0" in info.value.message


def test_a_queue_the_interface_lacks_is_refused_clearly(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab("xsk3")
    with pytest.raises(XdpTuiError) as info:
        afxdp.XskSocket(lab.outer, queue=5)  # type: ignore[attr-defined]
    assert "queue 5" in info.value.message and info.value.hint


def test_doctor_reports_a_kernel_without_af_xdp(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel without CONFIG_XDP_SOCKETS cannot be provoked here: fake the refusal."""
    import errno
    import socket

    from xdp_tui import doctor

    assert doctor.check_af_xdp().ok  # this kernel has them

    def refuse(*_args: object) -> None:
        raise OSError(errno.EAFNOSUPPORT, "Address family not supported by protocol")

    monkeypatch.setattr(socket, "socket", refuse)
    check = doctor.check_af_xdp()
    assert not check.ok
    assert "Address family not supported" in check.detail
    assert "CONFIG_XDP_SOCKETS" in check.fix


def test_live_feed_opens_the_socket_answers_with_the_reply_program_and_closes_it(
    make_lab: Callable[..., object],
) -> None:
    """What the TUI does for a program with an xsks_map (advanced03's solution)."""
    from xdp_tui.checks import build_for_checks
    from xdp_tui.lessons import get_lesson, solution_source
    from xdp_tui.workbench.live_feed import LiveFeed

    lesson = get_lesson("advanced03-AF_XDP")
    obj = build_for_checks(lesson, solution_source(lesson), "solution")
    lab = make_lab("xskl")
    feed = LiveFeed()
    with load_program(obj, lab.outer, program="xdp_sock_all", pin_maps=False) as loaded:  # type: ignore[attr-defined]
        feed.follow(lab.outer, obj, prog_maps=loaded.maps)  # type: ignore[attr-defined]
        try:
            assert traffic.ping(lab, 4).received == 4  # type: ignore[arg-type]
            sample = feed.sample()
            assert sample is not None and sample.xsk is not None, sample
            assert sample.xsk.rx_packets == sample.xsk.tx_packets == 4
            assert sample.xsk_note == ""
        finally:
            feed.close()
        # The socket is gone and its slot empty: frames fall back to the kernel.
        assert traffic.ping(lab, 2).received == 2  # type: ignore[arg-type]
        afxdp.XskSocket(lab.outer).close()  # queue 0 is free again


def test_a_failing_responder_ends_the_pump_with_the_reason(redirected_lab) -> None:  # type: ignore[no-untyped-def]
    lab, xskmap = redirected_lab

    def broken(_frame: bytes) -> bytes | None:
        raise ValueError("a bug in the responder")

    with afxdp.XskSocket(lab.outer) as sock:
        sock.register(xskmap)
        pump = afxdp.XskPump(sock, broken).start()
        traffic.ping(lab, 1, timeout=0.2)
        pump.wait_for(1)
        with pytest.raises(XdpTuiError) as info:
            pump.stop()
    assert "a bug in the responder" in info.value.message


def test_a_reply_program_the_verifier_refuses_leaves_a_counting_socket_and_a_note(
    make_lab: Callable[..., object], tmp_path: Path
) -> None:
    from tests.lessons.variants import variant
    from xdp_tui.checks import build_for_checks
    from xdp_tui.lessons import get_lesson, solution_source
    from xdp_tui.workbench.live_feed import LiveFeed

    lesson = get_lesson("advanced03-AF_XDP")
    refused = variant(  # the reply program writes through headers it never found
        tmp_path,
        solution_source(lesson),
        (
            "\tif (!parse_echo_request(ctx, &eth, &ip6h, &icmp6h))\n\t\tgoto out;\n\n"
            "\t/* >>> assignment 3 */",
            "\t/* >>> assignment 3 */\n\teth = (void *)(long)ctx->data;"
            " ip6h = (void *)(eth + 1); icmp6h = (void *)(ip6h + 1);",
        ),
    )
    obj = build_for_checks(lesson, refused, "refused")
    lab = make_lab("xskr")
    feed = LiveFeed()
    with load_program(obj, lab.outer, program="xdp_sock_all", pin_maps=False) as loaded:  # type: ignore[attr-defined]
        feed.follow(lab.outer, obj, prog_maps=loaded.maps)  # type: ignore[attr-defined]
        try:
            assert traffic.ping(lab, 2, timeout=0.2).received == 0  # type: ignore[arg-type]
            sample = feed.sample()
            assert sample is not None and sample.xsk is not None
            assert sample.xsk.rx_packets == 2 and sample.xsk.tx_packets == 0
            assert sample.xsk_note.startswith("xdp_echo_reply did not load")
        finally:
            feed.close()


def test_a_frame_bigger_than_a_umem_frame_is_refused_and_costs_nothing(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab("xsk4")
    with afxdp.XskSocket(lab.outer) as sock:  # type: ignore[attr-defined]
        with pytest.raises(XdpTuiError) as info:
            sock.send([b"\0" * 60, b"\0" * (afxdp.DEFAULT_FRAME_SIZE + 1)])
        assert "does not fit" in info.value.message
        assert sock.send([b"\0" * 60] * 600) == afxdp.DEFAULT_RING_SIZE  # all TX frames still free
