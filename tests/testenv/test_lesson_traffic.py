"""The traffic a lesson offers, sent through the workbench from a real lab; sized and
numbered pings; a lab that gains IPv4 when the lesson needs it."""

from __future__ import annotations

from typing import Any

import pytest

from testenv import traffic
from tests.testenv.helpers import rx_packets
from xdp_tui.errors import XdpTuiError
from xdp_tui.journey import traffic_choices
from xdp_tui.lessons import TrafficChoice, get_lesson
from xdp_tui.workbench import Workbench

pytestmark = pytest.mark.kernel


def test_ping_sizes_and_sequence_numbers(make_lab: Any) -> None:
    lab = make_lab("sz", legacy_ip=True)
    six = traffic.ping(lab, 3, size=300, first_seq=1000)
    assert six.answered_seqs == [1000, 1001, 1002]
    assert six.frame_size == 14 + 40 + 8 + 300
    four = traffic.ping(lab, 2, family=4, size=0, first_seq=7)
    assert four.answered_seqs == [7, 8] and four.frame_size == 14 + 20 + 8
    assert traffic.ping(lab, 1).frame_size == 118  # ping(8)'s default
    with pytest.raises(XdpTuiError, match="does not fit one frame"):
        traffic.ping(lab, 1, size=5000)
    with pytest.raises(XdpTuiError, match="16 bits"):
        traffic.ping(lab, 10, first_seq=65530)


def test_every_packet01_choice_goes_out(make_lab: Any) -> None:
    lab = make_lab("tr", legacy_ip=True)
    bench = Workbench(lab=lab.name)
    outcomes = {}
    for choice in traffic_choices(get_lesson("packet01-parsing")):
        before = rx_packets(lab.outer)
        outcomes[choice.label] = bench.send_traffic(choice)
        assert rx_packets(lab.outer) - before >= choice.count, choice.label
    assert outcomes["IPv6 ping"].answered == 5
    four = outcomes["IPv4 ping"]
    assert four.answered == 5 and f"to {lab.outer_ipv4}:" in four.summary
    tagged = outcomes["VLAN-tagged ping (id 100)"]
    assert tagged.sent == 5 and "tagged 100" in tagged.summary  # no XDP pops it: unanswered
    udp = next(o for label, o in outcomes.items() if label.startswith("UDP"))
    assert udp.answered is None and "5 UDP datagrams sent to port 7777" in udp.summary


def test_ping_to_an_address_the_learner_gives(make_lab: Any) -> None:
    lab = make_lab("to")
    other = make_lab("to2")
    bench = Workbench(lab=lab.name)
    [ask] = [c for c in traffic_choices(get_lesson("packet03-redirecting")) if c.ask_to]
    with pytest.raises(XdpTuiError, match="which address"):
        bench.send_traffic(ask)
    outcome = bench.send_traffic(ask, to=other.outer_ipv6)
    assert f"to {other.outer_ipv6}:" in outcome.summary and outcome.sent == 5
    tcp = bench.send_traffic(TrafficChoice("TCP", kind="tcp", port=80, count=3))
    assert tcp.sent == 3 and "TCP SYNs sent to port 80" in tcp.summary


def test_a_lesson_that_needs_ipv4_gets_it_on_its_lab(make_lab: Any) -> None:
    lab = make_lab("v4")  # IPv6 only
    bench = Workbench(lab=lab.name)
    assert bench.ensure_lab() == lab  # nothing asked: left as it is
    upgraded = bench.ensure_lab(legacy_ip=True)
    assert upgraded.legacy_ip and upgraded.number == lab.number and upgraded.outer_ipv4
    assert traffic.ping(upgraded, 2, family=4).received == 2


def test_switching_to_a_lesson_that_needs_ipv4_upgrades_the_lab(make_lab: Any) -> None:
    lab = make_lab("sw")  # IPv6 only, as basic01 leaves it
    bench = Workbench(lab=lab.name)
    try:
        first = bench.build_and_attach(get_lesson("basic01-xdp-pass"), None)
        assert first.dev == lab.outer
        needs_ipv4 = get_lesson("tracing03-xdp-debug-print")
        assert needs_ipv4.lab.legacy_ip
        second = bench.build_and_attach(needs_ipv4, None)
        assert second.program == "xdp_prog_simple" and second.dev == lab.outer
        upgraded = bench.ensure_lab()
        assert upgraded.legacy_ip and upgraded.number == lab.number
        assert traffic.ping(upgraded, 2, family=4).received == 2
        status = bench.attach_status()
        assert status is not None and status.prog_id == second.prog_id
    finally:
        bench.close()


def test_experiment01_traffic_grows_in_native_mode(make_lab: Any, tmp_path: Any) -> None:
    """The lesson's UDP traffic uses frame sizes with tailroom on a veth: a correct
    xdp_tailgrow_func attached natively (as `b` does) grows every frame it sends."""
    import itertools
    import shutil

    from xdp_tui.engine import session
    from xdp_tui.lessons import solution_source

    lesson = get_lesson("experiment01-tailgrow")
    [udp] = [c for c in traffic_choices(lesson) if c.kind == "udp"]
    assert udp.sizes and 64 not in udp.sizes
    lab = make_lab("tg")
    source = tmp_path / "tail.c"
    shutil.copy(solution_source(lesson), source)
    bench = Workbench(lab=lab.name)
    to_port = udp.port

    def sent_to_port(frame: bytes) -> bool:
        return len(frame) > 57 and frame[20] == 17 and int.from_bytes(frame[56:58]) == to_port

    with (
        session.load_program(source, lab.name, program="xdp_tailgrow_func", mode="native") as lp,
        traffic.Tap(lab, filter=sent_to_port) as tap,
    ):
        assert lp.mode == "native"
        outcome = bench.send_traffic(udp)
        tap.wait_for(udp.count, timeout=2.0)
    lengths = [len(frame) for frame in tap.frames]
    assert outcome.sent == udp.count and "frames of 134, 200, 300, 134" in outcome.summary
    want = [size + 4 for size in itertools.islice(itertools.cycle(udp.sizes), udp.count)]
    assert lengths == want, lengths
