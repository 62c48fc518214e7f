"""The kernel traffic engine (XDP live frames): when it is used, and that its counts are exact."""

from __future__ import annotations

from pathlib import Path

import pytest

from testenv import packets, traffic
from tests.testenv.helpers import attach_pinned, build_vlan_pop, rx_packets
from xdp_tui import paths
from xdp_tui.errors import XdpTuiError

pytestmark = pytest.mark.kernel


def _native_pass(lab: object, tmp_path: Path) -> None:
    """A native XDP program on the outer end (it passes untagged frames): veth NAPI on."""
    attach_pinned(build_vlan_pop(tmp_path), paths.pin_dir(lab.name) / "vlan_pop", lab.outer)


def test_kernel_engine_sends_exactly_what_it_reports(make_lab, tmp_path) -> None:
    lab = make_lab("k", legacy_ip=True)
    _native_pass(lab, tmp_path)
    before = rx_packets(lab.outer)
    counted = traffic.udp_stream(lab, count=100_000, engine="kernel")
    syn = traffic.tcp_syn_stream(lab, count=300, family=4, engine="kernel")
    timed = traffic.udp_stream(lab, duration=0.3, engine="kernel")
    assert (counted.engine, syn.engine, timed.engine) == ("kernel",) * 3
    assert (counted.sent, syn.sent) == (100_000, 300)
    assert timed.sent > 0 and timed.duration_s >= 0.3
    # The link is quiet: every received frame is one we sent.
    assert rx_packets(lab.outer) - before == counted.sent + syn.sent + timed.sent


def test_kernel_frames_are_the_frames_asked_for(make_lab, tmp_path) -> None:
    lab = make_lab("f")
    _native_pass(lab, tmp_path)
    with traffic.Tap(lab) as tap:
        result = traffic.udp_stream(lab, count=3, port=4242, size=100, engine="kernel")
        assert tap.wait_for(3)
    assert result.engine == "kernel"
    ports = [packets.parse(frame).udp_ports for frame in tap.frames]
    assert [port[1] for port in ports if port] == [4242] * 3
    assert [len(frame) for frame in tap.frames] == [100] * 3


def test_auto_takes_the_kernel_only_at_full_speed_with_native_xdp(make_lab, tmp_path) -> None:
    lab = make_lab("a")
    assert traffic.udp_stream(lab, count=10).engine == "socket"  # no XDP on the outer end
    _native_pass(lab, tmp_path)
    assert traffic.udp_stream(lab, count=10).engine == "kernel"
    assert traffic.udp_stream(lab, count=10, pps=5000).engine == "socket"
    assert traffic.udp_stream(lab, count=10, engine="socket").engine == "socket"


def test_kernel_engine_refusals_say_why(make_lab, tmp_path) -> None:
    lab = make_lab("r")
    with pytest.raises(XdpTuiError, match="native-mode XDP program"):
        traffic.udp_stream(lab, count=10, engine="kernel")
    _native_pass(lab, tmp_path)
    with pytest.raises(XdpTuiError, match="full speed only"):
        traffic.udp_stream(lab, count=10, pps=100, engine="kernel")
    with pytest.raises(XdpTuiError, match="unknown traffic engine"):
        traffic.udp_stream(lab, count=10, engine="warp")
