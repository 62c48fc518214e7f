"""Checks for experiment01-tailgrow.

Every program is judged by the frames that leave it: we send IPv6 UDP
frames from inside a private lab (sizes, ports and contents new each run,
so no constant passes) and a tap on the lab's outer interface sees them
after XDP, with their real length and bytes. A program the verifier still
refuses fails its check with the verifier's located message (ctx.load).
"""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Callable

from testenv import packets, traffic
from xdp_tui.checks import CheckContext, CheckResult

TRAILER_GROWTH = 4
TRIM_BYTES = 4
DROP_MARK = b"!"
FRAMES = 4
TAP_WAIT_S = 1.0


def _payload(size: int, last: bytes = b".") -> bytes:
    """SIZE random printable bytes ending in LAST (size 0: empty)."""
    if size == 0:
        return b""
    body = bytes(random.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(size - 1))
    return body + last


def _udp_frames(ctx: CheckContext, port: int, payloads: list[bytes]) -> list[bytes]:
    return [ctx.build_udp_frame(port, payload=payload) for payload in payloads]


def _to_port(port: int) -> Callable[[bytes], bool]:
    def keep(frame: bytes) -> bool:
        ports = packets.parse(frame).udp_ports
        return ports is not None and ports[1] == port

    return keep


def _through(ctx: CheckContext, port: int, frames: list[bytes], expected: int) -> list[bytes]:
    """Send FRAMES (UDP to PORT) and return, in order, those that left XDP."""
    with traffic.Tap(ctx.lab(), filter=_to_port(port)) as tap:
        ctx.send_frames(frames)
        tap.wait_for(expected, timeout=TAP_WAIT_S)
    return list(tap.frames)


def _port() -> int:
    return random.randint(2000, 30000)


def _describe(frame: bytes, sent: bytes) -> str:
    extra = frame[len(sent) :] if frame[: len(sent)] == sent else b""
    return f"{len(sent)} -> {len(frame)} bytes" + (f", new bytes {extra.hex(' ')}" if extra else "")


# ---- assignment 1 -------------------------------------------------------------


def check_tailgrow(ctx: CheckContext) -> CheckResult:
    # Generic mode: there every frame has tailroom. Natively on veth the room is
    # the slack of the frame's memory allocation, and some sizes have none.
    ctx.load("xdp_tailgrow_func", mode="skb")
    port = _port()
    sizes = random.sample(range(1, 300), FRAMES)
    sent = _udp_frames(ctx, port, [_payload(size) for size in sizes])
    got = _through(ctx, port, sent, len(sent))
    ctx.expect(
        len(got) == len(sent),
        f"sent {len(sent)} IPv6 UDP frames to port {port}; {len(got)} left XDP"
        " (a growth that fails must still pass the frame)",
    )
    for before, after in zip(sent, got, strict=True):
        want = before + b"XT" + struct.pack("!H", len(before))
        if len(after) == len(before):
            ctx.fail(
                f"a {len(before)}-byte frame left XDP unchanged (loaded in generic mode,"
                " where every frame has room); expected it"
                f" {TRAILER_GROWTH} bytes longer (bpf_xdp_adjust_tail)"
            )
        ctx.expect(
            len(after) == len(want),
            f"a {len(before)}-byte frame left XDP with {len(after)} bytes;"
            f" expected {len(want)} (+{TRAILER_GROWTH})",
        )
        ctx.expect(
            after[: len(before)] == before,
            f"the first {len(before)} bytes changed ({_describe(after, before)}):"
            " the trailer must go after the old end, at data + old length",
        )
        ctx.expect(
            after == want,
            f"the trailer of a {len(before)}-byte frame is {after[len(before) :].hex(' ')};"
            f" expected {want[len(before) :].hex(' ')} ('X', 'T', old length in network"
            " byte order)",
        )
    return ctx.passed(
        f"{len(got)} IPv6 UDP frames of {', '.join(map(str, sorted(len(f) for f in sent)))}"
        f" bytes each left XDP {TRAILER_GROWTH} bytes longer, ending in 'XT' and their old length"
    )


# ---- assignment 2 -------------------------------------------------------------


def check_lastbyte(ctx: CheckContext) -> CheckResult:
    ctx.load("xdp_lastbyte_func")
    port = _port()
    marked = [random.random() < 0.5 for _ in range(FRAMES + 2)]
    marked[0], marked[1] = True, False
    random.shuffle(marked)
    # Unmarked frames carry a '!' too, at the front: only the last byte may count.
    payloads = [
        _payload(random.randint(2, 200), DROP_MARK)
        if mark
        else DROP_MARK + _payload(random.randint(2, 200))
        for mark in marked
    ]
    sent = _udp_frames(ctx, port, payloads)
    kept = [frame for frame, mark in zip(sent, marked, strict=True) if not mark]
    got = _through(ctx, port, sent, len(kept))
    ctx.expect(
        sorted(got) == sorted(kept),
        f"sent {len(sent)} UDP frames, {len(sent) - len(kept)} of them ending in '!';"
        f" expected the other {len(kept)} to pass and those to be dropped,"
        f" but {len(got)} passed"
        + (f" ({sum(1 for f in got if f.endswith(DROP_MARK))} ending in '!')" if got else ""),
    )
    return ctx.passed(
        f"of {len(sent)} UDP frames the {len(sent) - len(kept)} ending in '!' were dropped,"
        f" the {len(kept)} others passed"
    )


# ---- assignment 3 -------------------------------------------------------------


def check_trim(ctx: CheckContext) -> CheckResult:
    ctx.load("xdp_trim_func")
    port = _port()
    sizes = random.sample(range(TRIM_BYTES, 300), FRAMES) + [TRIM_BYTES - 1]
    sent = _udp_frames(ctx, port, [_payload(size) for size in sizes])
    got = _through(ctx, port, sent, len(sent))
    ctx.expect(len(got) == len(sent), f"sent {len(sent)} UDP frames; {len(got)} left XDP")
    for before, after in zip(sent, got, strict=True):
        payload_len = len(before) - packets.ETH_HLEN - packets.IPV6_HLEN
        if payload_len - packets.UDP_HLEN < TRIM_BYTES:
            ctx.expect(
                after == before,
                f"a frame with only {payload_len - packets.UDP_HLEN} bytes of UDP payload"
                " changed; frames with fewer than 4 payload bytes stay as they are",
            )
            continue
        ctx.expect(
            after == _trimmed(before),
            f"a {len(before)}-byte frame left XDP as {len(after)} bytes with IPv6 payload"
            f" length {_ipv6_payload_len(after)}; expected {len(before) - TRIM_BYTES} bytes"
            f" and payload length {payload_len - TRIM_BYTES}",
        )
    return ctx.passed(
        f"{len(sent) - 1} UDP frames left XDP {TRIM_BYTES} bytes shorter with the IPv6"
        " payload length lowered to match; a frame too short to trim was left alone"
    )


def _ipv6_payload_len(frame: bytes) -> int | None:
    offset = packets.ETH_HLEN + 4
    return struct.unpack_from("!H", frame, offset)[0] if len(frame) >= offset + 2 else None


def _trimmed(frame: bytes) -> bytes:
    offset = packets.ETH_HLEN + 4
    new_len = struct.unpack_from("!H", frame, offset)[0] - TRIM_BYTES
    out = bytearray(frame[:-TRIM_BYTES])
    struct.pack_into("!H", out, offset, new_len)
    return bytes(out)


# ---- assignment 4 -------------------------------------------------------------


def check_portcount(ctx: CheckContext) -> CheckResult:
    ctx.load("xdp_portcount_func")
    ports = random.sample(range(2000, 30000), 3)
    want = {port: random.randint(1, 6) for port in ports}
    frames = [
        ctx.build_udp_frame(port, payload=b"count me") for port in ports for _ in range(want[port])
    ]
    random.shuffle(frames)
    ctx.send_frames(frames)
    counts = _port_counts(ctx)
    seen = {port: counts.get(port, 0) for port in ports}
    ctx.expect(
        seen == want,
        f"sent {_spell(want)}; port_counts holds {_spell(seen)}"
        + (
            " (each port counted once short: the first frame of a port must insert"
            " the entry with a count of 1)"
            if all(seen[p] == want[p] - 1 for p in ports)
            else ""
        ),
    )
    return ctx.passed(f"port_counts matches the frames sent: {_spell(seen)}")


def _port_counts(ctx: CheckContext) -> dict[int, int]:
    # Counting happens as the frames arrive; give the last one a moment.
    time.sleep(0.1)
    decoded = ctx.read_map("port_counts")
    return {int(entry["key"]): int(entry["value"]) for entry in decoded.entries}


def _spell(counts: dict[int, int]) -> str:
    return ", ".join(f"port {port}: {n}" for port, n in sorted(counts.items()))
