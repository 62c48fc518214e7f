"""Checks for tracing04-xdp-tcpdump.

We attach xdp_sample_func to a private lab, read its ring buffer the way
the app does (engine/samples.py), send echo requests of random sizes,
write what arrived to a pcapng file with the app's writer and read that
file back with tcpdump itself: the file must hold our echo requests with
their true lengths. Short requests fit a sample whole (assignment 1);
long ones are cut at SAMPLE_MAX but must keep their real length
(assignment 2).
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from xdp_tui.checks import CheckContext, CheckResult
from xdp_tui.engine.samples import PacketSample, SampleReader, write_pcapng

PROGRAM = "xdp_sample_func"
SAMPLES_MAP = "samples"
SAMPLE_MAX = 256
PINGS = 3
READ_WAIT_S = 2.0
HEADERS = 14 + 40 + 8  # Ethernet, IPv6, ICMPv6 echo
# tcpdump -e: "... ethertype IPv6 (0x86dd), length 118: fc00::2 > fc00::1: ICMP6, echo request, id 1, seq 7, length 64"
_ECHO_LINE = re.compile(r"length (\d+): .*ICMP6, echo request, id (\d+), seq (\d+)")


def _tcpdump_echo_requests(ctx: CheckContext, path: Path) -> list[tuple[int, int]]:
    """(frame length, seq) of each echo request tcpdump reads from PATH."""
    if shutil.which("tcpdump") is None:
        ctx.fail(
            "tcpdump is not installed (apt-get install tcpdump): the check reads the file with it"
        )
    done = subprocess.run(
        ["tcpdump", "-r", str(path), "-nn", "-e", "-v"], capture_output=True, text=True, timeout=10
    )
    if done.returncode != 0:
        ctx.fail(f"tcpdump could not read the samples file: {done.stderr.strip()[:200]}")
    return [(int(m[1]), int(m[3])) for m in _ECHO_LINE.finditer(done.stdout)]


def _samples_of_pings(
    ctx: CheckContext, sizes: list[int]
) -> tuple[list[tuple[int, int]], list[PacketSample], int]:
    """Ping once per payload size; (tcpdump's (length, seq) of the file, the samples, first seq)."""
    ctx.load(PROGRAM)
    reader = SampleReader(ctx.map_fd(SAMPLES_MAP))
    ctx.defer(reader.close)
    reader.poll(timeout_ms=0)  # nothing before our pings counts
    first_seq = random.randint(1, 30000)
    for i, size in enumerate(sizes):
        ctx.ping(count=1, size=size, first_seq=first_seq + i, timeout=0.5)
    samples: list[PacketSample] = []
    deadline = time.monotonic() + READ_WAIT_S
    while time.monotonic() < deadline:
        samples += reader.poll(timeout_ms=100)
        if len(samples) >= len(sizes):  # the replies leave the outer end: XDP sees requests only
            break
    if not samples:
        ctx.fail(
            f"sent {len(sizes)} echo requests; no sample arrived in the '{SAMPLES_MAP}' ring"
            + (
                f" ({reader.malformed} records did not follow struct sample)"
                if reader.malformed
                else ""
            )
        )
    with tempfile.TemporaryDirectory(prefix="xdp-tui-samples-") as folder:
        path = Path(folder) / "samples.pcapng"
        write_pcapng(samples, path, ctx.lab().outer_ifindex)
        seen = _tcpdump_echo_requests(ctx, path)
    return seen, samples, first_seq


def _check_sizes(ctx: CheckContext, sizes: list[int]) -> str:
    seen, samples, first_seq = _samples_of_pings(ctx, sizes)
    wanted = {first_seq + i: HEADERS + size for i, size in enumerate(sizes)}
    found = {seq: length for length, seq in seen if seq in wanted}
    missing = sorted(set(wanted) - set(found))
    if missing:
        ctx.fail(
            f"sent echo requests seq {', '.join(map(str, wanted))}; tcpdump -r found"
            f" {len(found)} of them in the samples file ({len(samples)} samples arrived);"
            " the samples must start with the whole frame from its Ethernet header"
        )
    wrong = {seq: (found[seq], wanted[seq]) for seq in wanted if found[seq] != wanted[seq]}
    if wrong:
        seq, (got, want) = next(iter(wrong.items()))
        ctx.fail(
            f"tcpdump reads echo request seq {seq} as {got} bytes long; it was {want}"
            + (
                f" (only {SAMPLE_MAX} of them were copied: pkt_len is the whole frame)"
                if got == SAMPLE_MAX
                else ""
            )
        )
    return ", ".join(f"seq {seq}: {length} B" for seq, length in sorted(found.items()))


def check_samples(ctx: CheckContext) -> CheckResult:
    sizes = random.sample(range(8, SAMPLE_MAX - HEADERS), PINGS)
    said = _check_sizes(ctx, sizes)
    return ctx.passed(f"tcpdump -r lists the {PINGS} echo requests sent, whole: {said}")


def check_true_lengths(ctx: CheckContext) -> CheckResult:
    sizes = random.sample(range(SAMPLE_MAX, 1400), PINGS)
    said = _check_sizes(ctx, sizes)
    return ctx.passed(
        f"long echo requests ({said}) keep their true lengths in the file,"
        f" {SAMPLE_MAX} bytes of each copied"
    )
