"""engine/samples: decoding the tracing04 sample layout (no kernel needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from xdp_tui.engine.samples import (
    SAMPLE_COOKIE,
    SAMPLE_HEADER,
    PacketSample,
    decode_sample,
    write_pcapng,
)
from xdp_tui.errors import XdpTuiError

FRAME = bytes(range(60))


def _record(length: int, data: bytes, *, cookie: int = SAMPLE_COOKIE, room: int = 256) -> bytes:
    head = SAMPLE_HEADER.pack(cookie, length, len(data), 0)
    return head + data + bytes(room - len(data))


def test_a_record_gives_its_true_length_and_captured_bytes() -> None:
    sample = decode_sample(_record(1000, FRAME), 12.5)
    assert sample == PacketSample(time=12.5, length=1000, data=FRAME)
    assert sample.truncated


def test_records_off_the_layout_are_none() -> None:
    assert decode_sample(_record(60, FRAME, cookie=0xBEEF), 0) is None
    assert decode_sample(SAMPLE_HEADER.pack(SAMPLE_COOKIE, 60, 300, 0) + FRAME, 0) is None
    assert decode_sample(b"\xad\xde", 0) is None


def test_pcapng_keeps_the_true_length(tmp_path: Path) -> None:
    from scapy.utils import rdpcap

    path = tmp_path / "s.pcapng"
    assert write_pcapng([PacketSample(1.0, 1000, FRAME), PacketSample(2.0, 60, FRAME)], path) == 2
    packets = rdpcap(str(path))
    assert [p.wirelen for p in packets] == [1000, 60]
    assert [bytes(p) for p in packets] == [FRAME, FRAME]


def test_a_full_disk_is_a_located_error_and_an_empty_file_no_warning(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(XdpTuiError, match="cannot write: No space left") as full:
        write_pcapng([PacketSample(1.0, 1000, FRAME)], Path("/dev/full"))
    assert full.value.location == "/dev/full"
    assert write_pcapng([], tmp_path / "none.pcapng") == 0
    assert capfd.readouterr().err == ""  # scapy warned that it guessed Ethernet


def test_a_sample_shown_as_a_packet_claims_no_verdict_cpu_or_exit_bytes() -> None:
    """A sample is not a packet caught at the hook: no PASS, no CPU 0, no "unchanged"."""
    from xdp_tui.engine.capture import packet_comment

    packet = PacketSample(time=1.0, length=1000, data=FRAME).as_captured(7, 3)
    assert packet.sample and packet.verdict_name == "sample"
    assert not packet.changed and packet.data_out == b""
    assert packet.frame == FRAME and packet.frame_length == 1000
    assert "PASS" not in packet_comment(packet) and "unchanged" not in packet_comment(packet)
    assert packet_comment(packet).startswith("sample 7")
    assert packet.to_dict()["verdict"] == "sample" and "cpu" not in packet.to_dict()
