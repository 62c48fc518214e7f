"""The packet workbench (BPF_PROG_TEST_RUN on crafted frames), packet specs,
pcapng output and saved cases, on the lessons' real solution programs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xdp_tui import paths
from xdp_tui.engine.capture import CapturedPacket, PcapngWriter
from xdp_tui.engine.dissect import byte_diff, layers, summary
from xdp_tui.engine.packetspec import frame_from_spec
from xdp_tui.engine.testrun import SavedCase, TestRunner, load_cases, save_cases
from xdp_tui.errors import XdpTuiError


def solution(tmp_path: Path, lesson: str) -> Path:
    """A private copy of a lesson's solution (the build writes its .o beside it)."""
    target = tmp_path / lesson / "xdp_prog_kern.c"
    target.parent.mkdir()
    shutil.copy(paths.lessons_dir() / lesson / "solution" / "xdp_prog_kern.c", target)
    return target


@pytest.fixture
def packet01(tmp_path: Path) -> TestRunner:
    with TestRunner.open(solution(tmp_path, "packet01-parsing")) as runner:
        yield runner


def test_packet01_passes_odd_and_drops_even_echo_requests(packet01: TestRunner) -> None:
    one = packet01.run(frame_from_spec("icmp6-echo:seq=1"))
    two = packet01.run(frame_from_spec("icmp6-echo:seq=2"))
    assert (one.verdict_name, two.verdict_name) == ("XDP_PASS", "XDP_DROP")
    assert not one.changed and not two.changed
    # the program's own counter moved: one packet under XDP_DROP (key 1)
    dropped = [c for c in two.map_changes if c.map == "xdp_stats_map" and c.key == 1]
    assert dropped and dropped[0].after["rx_packets"] == 1


def test_repeat_runs_n_times_and_reports_ns_per_run(packet01: TestRunner) -> None:
    result = packet01.run(frame_from_spec("icmp6-echo:seq=2"), repeat=500)
    assert result.verdict_name == "XDP_DROP" and result.repeat == 500
    assert result.duration_ns > 0
    counter = next(c for c in result.map_changes if c.key == 1)
    assert counter.after["rx_packets"] == 500


@pytest.mark.parametrize("cut", [14, 20, 30, 54, 57])
def test_a_truncated_frame_gets_a_verdict_not_an_error(packet01: TestRunner, cut: int) -> None:
    frame = frame_from_spec(f"icmp6-echo:seq=2,truncate={cut}")
    assert len(frame) == cut
    result = packet01.run(frame)
    # the solution's bounds checks stop parsing: it must not drop a frame it could not read
    assert result.verdict_name == "XDP_PASS"
    assert summary(frame)  # and the dissector copes with it too


def test_packet02_port_rewrite_shows_in_diff_and_pcapng(tmp_path: Path) -> None:
    source = solution(tmp_path, "packet02-rewriting")
    with TestRunner.open(source, program="xdp_port_rewrite_func") as runner:
        result = runner.run(frame_from_spec("udp6:dport=9"))
    assert result.changed
    changes = byte_diff(result.data_in, result.data_out)
    # the destination port (bytes 56-57) and the UDP checksum (60-61) changed
    assert {c.start for c in changes} >= {57}
    assert "UDP 40000 > 8" in summary(result.data_out)

    out = tmp_path / "rewrite.pcapng"
    writer = PcapngWriter(out)
    writer.write(_as_captured(result.data_in, result.data_out, verdict=result.retval))
    writer.close()
    shown = subprocess.run(
        ["tcpdump", "-r", str(out), "-nn", "-v"], capture_output=True, text=True, check=True
    ).stdout
    assert ".40000 > fc00:dead:cafe:1::1.8:" in shown and "udp sum ok" in shown

    from scapy.utils import rdpcap

    (packet,) = rdpcap(str(out))
    assert packet.comments == [b"XDP_PASS cpu 0 seq 1: changed by the program"]


def _as_captured(data_in: bytes, data_out: bytes, verdict: int) -> CapturedPacket:
    return CapturedPacket(1e9, 1, 0, 1, verdict, len(data_in), len(data_out), data_in, data_out)


def test_malformed_ip_length_and_hop_limit_fields() -> None:
    frame = frame_from_spec("udp6:dport=9,iplen=999,hops=1")
    assert frame[18:20] == (999).to_bytes(2, "big") and frame[21] == 1  # IPv6 plen, hop limit
    assert frame_from_spec("udp4:iplen=10")[16:18] == (10).to_bytes(2, "big")  # IPv4 total length
    with pytest.raises(XdpTuiError, match="udp4 has no field 'ethertype'"):
        frame_from_spec("udp4:ethertype=1")


def test_dissection_names_tags_addresses_and_ports() -> None:
    frame = frame_from_spec("udp4:dport=53,vlan=5,qinq=7")
    assert summary(frame) == ("vlan 7 / vlan 5 / IP 10.11.1.2 > 10.11.1.1 / UDP 40000 > 53")
    names = [layer.name for layer in layers(frame)]
    assert names[:4] == ["Ethernet", "802_1AD", "802.1Q", "IP"]
    assert "seq 3" in summary(frame_from_spec("icmp4-echo:seq=3"))
    assert "[S]" in summary(frame_from_spec("tcp6:dport=80,flags=S"))
    assert summary(frame_from_spec("eth:truncate=14")) == "02:00:00:00:00:02 > 02:00:00:00:00:01"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("udp9", "unknown packet template 'udp9'"),
        ("udp4:port=1", "udp4 has no field 'port'"),
        ("udp4:dport=x", "field 'dport' wants a number, got 'x'"),
        ("udp4:dport=70000", "field 'dport' = 70000 is outside 0..65535"),
        ("udp4:dport", "'dport' is not FIELD=VALUE"),
        ("udp4:dport=1,dport=2", "field 'dport' is given twice"),
        ("udp4:truncate=5", "the frame is 5 bytes"),
        ("udp4:vlan=5000", "is outside 0..4095"),
        ("udp6:src=not-an-address", "field 'src' = 'not-an-address' is not an IPv6 address"),
        ("udp6:src=10.0.0.1", "is not an IPv6 address"),
        ("udp4:dst=localhost", "field 'dst' = 'localhost' is not an IPv4 address"),  # no DNS
        ("pcap:", "pcap: needs a file name"),
        ("udp4:smac=zz:zz", "field 'smac' = 'zz:zz' is not a MAC"),  # scapy took it silently
        ("udp4:dmac=02:00:00:00:00", "field 'dmac'"),
        ("tcp4:flags=XYZ", "is not TCP flag letters"),  # was "substring not found"
    ],
)
def test_bad_specs_get_one_located_message(spec: str, message: str) -> None:
    with pytest.raises(XdpTuiError) as caught:
        frame_from_spec(spec)
    assert message in caught.value.message
    assert caught.value.location is not None


def test_pcap_frames_are_read_by_number(tmp_path: Path) -> None:
    frames = [frame_from_spec(f"icmp6-echo:seq={n}") for n in (1, 2)]
    writer = PcapngWriter(tmp_path / "two.pcapng")
    for f in frames:
        writer.write(_as_captured(f, f, verdict=2))
    writer.close()
    assert frame_from_spec("pcap:two.pcapng#2", base=tmp_path) == frames[1]
    assert frame_from_spec("pcap:two.pcapng", base=tmp_path) == frames[0]
    with pytest.raises(XdpTuiError, match="has 2 frame.s.; there is no frame #99999999999"):
        frame_from_spec("pcap:two.pcapng#99999999999", base=tmp_path)  # only one kept at a time
    with pytest.raises(XdpTuiError, match="they start at 1"):
        frame_from_spec("pcap:two.pcapng#0", base=tmp_path)
    with pytest.raises(XdpTuiError, match="not a regular file"):
        frame_from_spec("pcap:/dev/zero")
    (tmp_path / "junk.pcap").write_bytes(b"not a capture")
    with pytest.raises(XdpTuiError, match="cannot read"):
        frame_from_spec("pcap:junk.pcap", base=tmp_path)


def test_saved_cases_round_trip_and_never_follow_a_symlink(tmp_path: Path) -> None:
    path = tmp_path / "packet-cases.json"
    cases = [
        SavedCase("odd passes", "icmp6-echo:seq=1"),
        SavedCase("even drops", "icmp6-echo:seq=2"),
    ]
    save_cases(path, cases)
    assert load_cases(path) == cases
    victim = tmp_path / "victim"
    victim.write_text("keep")
    path.unlink()
    os.symlink(victim, path)
    with pytest.raises(XdpTuiError, match="symlink"):
        save_cases(path, cases)
    assert victim.read_text() == "keep"
    assert load_cases(path) == []


def test_damaged_saved_cases_are_one_located_error(tmp_path: Path) -> None:
    path = tmp_path / "packet-cases.json"
    for damaged in ("{nope", '[{"name": 1}]', "[" * 100_000):  # the last nests too deep
        path.write_text(damaged)
        with pytest.raises(XdpTuiError, match="saved packet cases are unreadable") as caught:
            load_cases(path)
        assert caught.value.location == str(path)


def test_cli_run_json_has_the_issue_shape(tmp_path: Path) -> None:
    source = solution(tmp_path, "packet01-parsing")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "xdp_tui",
            "run",
            str(source),
            "--packet",
            "icmp6-echo:seq=2",
            "--repeat",
            "10",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(done.stdout)
    assert {"verdict", "retval", "duration_ns", "len_in", "len_out", "data_out", "changed"} <= set(
        data
    )
    assert (data["verdict"], data["retval"], data["changed"]) == ("XDP_DROP", 1, False)


def test_cli_run_bad_spec_is_one_line_and_exit_1(tmp_path: Path) -> None:
    source = solution(tmp_path, "packet01-parsing")
    done = subprocess.run(
        [sys.executable, "-m", "xdp_tui", "run", str(source), "--packet", "icmp6-echo:sq=1"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.startswith(
        "xdp-tui: error: packet 'icmp6-echo:sq=1': icmp6-echo has no field 'sq'"
    )
    assert "Traceback" not in done.stderr


def test_a_frame_left_to_its_defaults_carries_the_labs_own_addresses() -> None:
    """The Run-frame tab's default frame on lab 10 is lab 10's, not lab 1's fc00:dead:cafe:1::."""
    from xdp_tui.engine.packetspec import lab_defaults
    from xdp_tui.labs import Lab

    lab = Lab(
        name="lab10", number=10, outer="lab10", inner="veth0", netns="lab10",
        outer_ipv6="fc00:dead:cafe:a::1", inner_ipv6="fc00:dead:cafe:a::2",
        outer_ipv4="10.11.10.1", inner_ipv4="10.11.10.2",
        outer_mac="02:00:00:00:0a:01", inner_mac="02:00:00:00:0a:02",
        outer_ifindex=0, inner_ifindex=0, legacy_ip=True,
    )  # fmt: skip
    six = layers(frame_from_spec("icmp6-echo:seq=2", defaults=lab_defaults(lab)))
    text = str(six)
    assert "fc00:dead:cafe:a::2" in text and "fc00:dead:cafe:a::1" in text, text
    assert "02:00:00:00:0a:02" in text and "cafe:1::" not in text
    four = str(layers(frame_from_spec("udp4:dport=53", defaults=lab_defaults(lab))))
    assert "10.11.10.2" in four and "10.11.10.1" in four, four
    # a field the spec names wins over the lab's
    assert "fc00::9" in str(
        layers(frame_from_spec("icmp6-echo:dst=fc00::9", defaults=lab_defaults(lab)))
    )


@pytest.mark.kernel
def test_the_workbench_gives_the_run_frame_tab_its_labs_addresses(make_lab) -> None:
    from xdp_tui.labs import get
    from xdp_tui.workbench import Workbench

    lab = make_lab("rfd")
    bench = Workbench(lab=lab.name)
    try:
        defaults = bench.frame_defaults()
        assert defaults is not None
        assert defaults["src6"] == get(lab.name).inner_ipv6
        assert defaults["dst6"] == get(lab.name).outer_ipv6
    finally:
        bench.close()
    missing = Workbench(lab="nosuchlab9")
    try:
        assert missing.frame_defaults() is None  # no lab yet: lab 1's defaults
    finally:
        missing.close()
